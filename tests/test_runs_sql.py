"""The SQL a dialect can get wrong, on SQLite and PostgreSQL alike: keyset pages of the runs list (ties,
filters, inserts between pages), the label filter (a JSON field), free-text search and run numbering
(one sequence per pipeline, also when several API processes start runs at once)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from maestro.domain.runs import Pipeline, PipelineVersion, Run
from maestro.domain.types import new_id
from maestro.pipelines import store
from tests.factories import Caller, add_pipeline, add_runs, login

BOTH_DATABASES = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def run_ids(engine: Engine, rows: list[dict[str, Any]], pipeline: str | None = None) -> list[str]:
    return [r.id for r in add_runs(engine, rows, pipeline)]


def all_pages(caller: Caller, params: dict[str, Any], limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        body = caller.get("/api/runs", params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})}).json()
        pages.append([r["id"] for r in body["items"]])
        cursor = body["nextCursor"]
        if not cursor:
            return pages


@BOTH_DATABASES
def test_runs_pages_walk_every_run_once_newest_first_with_ties_and_filters(client: TestClient, engine: Engine) -> None:
    caller = login(client)
    # three runs share one created_at (to the microsecond): the id orders them, and no page boundary loses one
    times = [T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=1), T0 + timedelta(seconds=1), T0 + timedelta(days=1)]
    times += [T0 - timedelta(microseconds=1), T0 + timedelta(minutes=5)]
    statuses = ["succeeded", "failed", "succeeded", "succeeded", "running", "succeeded", "failed"]
    ids = run_ids(engine, [{"created_at": t, "status": st} for t, st in zip(times, statuses, strict=True)])
    newest_first = [i for _, i in sorted(zip(times, ids, strict=True), key=lambda x: (x[0], x[1]), reverse=True)]

    for limit in (1, 2, 3, 7, 50):
        pages = all_pages(caller, {}, limit)
        assert [i for page in pages for i in page] == newest_first, limit
        assert all(len(p) == limit for p in pages[:-1])
    succeeded = [i for i in newest_first if statuses[ids.index(i)] == "succeeded"]
    assert [i for page in all_pages(caller, {"status": "succeeded"}, 2) for i in page] == succeeded

    # a run started between two pages does not shift the next page (keyset, not offset)
    first = caller.get("/api/runs", params={"limit": 3}).json()
    run_ids(engine, [{"created_at": T0 + timedelta(days=2)}])
    second = caller.get("/api/runs", params={"limit": 3, "cursor": first["nextCursor"]}).json()
    assert [r["id"] for r in first["items"] + second["items"]] == newest_first[:6]


@BOTH_DATABASES
def test_the_label_filter_matches_exact_values_of_the_json_field(client: TestClient, engine: Engine) -> None:
    caller = login(client)
    labelled = {
        "core": {"team": "core", "tier": "1"},
        "core-x": {"team": "core-x"},
        "Core": {"team": "Core", "tier": "1"},
        "quoted": {"team": "a'b\"c", "odd key.with dot": "yes"},
        "unicode": {"team": "équipe ✓"},
        "number-like": {"tier": "01"},
        "none": {},
    }
    ids = dict(zip(labelled, run_ids(engine, [{"labels": v} for v in labelled.values()]), strict=True))

    def found(*labels: str) -> set[str]:
        items = caller.get("/api/runs", params=[("label", lab) for lab in labels]).json()["items"]
        return {name for name, rid in ids.items() if rid in {r["id"] for r in items}}

    assert found("team=core") == {"core"}  # neither a prefix nor case-insensitive
    assert found("team=Core") == {"Core"}
    assert found("tier=1") == {"core", "Core"}  # "01" is another string
    assert found("tier=01") == {"number-like"}
    assert found("team=core", "tier=1") == {"core"}  # several labels: all of them
    assert found("team=core", "tier=2") == set()
    assert found("team=a'b\"c") == {"quoted"}
    assert found("odd key.with dot=yes") == {"quoted"}
    assert found("team=équipe ✓") == {"unicode"}
    assert found("missing=x") == set()
    assert found("team=") == set()  # an empty value matches no run, not runs without the label


@BOTH_DATABASES
def test_free_text_search_ignores_case_and_takes_wildcards_literally(client: TestClient, engine: Engine) -> None:
    caller = login(client)
    ids = run_ids(
        engine,
        [{"branch": "Feature/Login"}, {"branch": "feature_login"}, {"branch": "100%-done"}, {"branch": "main"}],
        pipeline=f"search-{new_id()[:6]}",
    )

    def found(q: str) -> set[int]:
        items = caller.get("/api/runs", params={"q": q}).json()["items"]
        return {ids.index(r["id"]) for r in items if r["id"] in ids}

    assert found("feature/LOGIN") == {0}
    assert found("100%") == {2}
    assert found("%login") == set()  # "%" is a character too
    assert found("e_l") == {1}  # "_" is a character, not "any character" (Feature/Login has no "e_l")
    assert found("MAIN") == {3}


@BOTH_DATABASES
def test_run_numbers_are_one_sequence_per_pipeline_even_when_processes_start_runs_at_once(engine: Engine) -> None:
    """store.next_run_number from several API processes at once (threads with their own sessions here):
    every run gets its own number, and each pipeline counts from 1 without gaps."""
    pipelines = [add_pipeline(engine)[0] for _ in range(2)]
    per_thread, threads = 5, 6
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def start_runs(pid: str) -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                with Session(engine) as s:
                    p = s.get(Pipeline, pid)
                    assert p is not None
                    v = s.exec(select(PipelineVersion).where(PipelineVersion.pipeline_id == pid)).one()
                    n = store.next_run_number(s, pipeline=p)
                    s.add(
                        Run(
                            tenant_id=p.tenant_id,
                            pipeline_id=pid,
                            pipeline_name=p.name,
                            version_id=v.id,
                            version=1,
                            number=n,
                            workflow_id=f"run-{p.name}-{n}",
                            env="dev",
                            owner="t",
                        )
                    )
                    s.commit()
        except BaseException as exc:  # reported below, with the numbers
            errors.append(exc)

    workers = [threading.Thread(target=start_runs, args=(pipelines[i % 2],)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    with Session(engine) as s:
        for pid in pipelines:
            numbers = sorted(r.number for r in s.exec(select(Run).where(Run.pipeline_id == pid)).all())
            assert numbers == list(range(1, per_thread * threads // 2 + 1))
            p = s.get(Pipeline, pid)
            assert p is not None and p.run_counter == len(numbers)

"""GET /api/runs/{id}/logs?limit=N pages a run's stored log: at most N lines per response and, while more exist, an
RFC 8288 `Link: <…?after=POS&limit=N>; rel="next"` header; following the links yields every line exactly once, in
the order the unpaged stream (what CI and `maestro run --follow` read) gives them."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import Caller, login
from tests.test_runs import register, start, wait_run

LINES = 1500
LINK = re.compile(r'^<([^>]+)>; rel="next"$')


def follow_links(caller: Caller, url: str) -> tuple[list[dict[str, Any]], list[int]]:
    """Every page from `url` on, following rel=next until there is none: the lines and each page's size."""
    lines: list[dict[str, Any]] = []
    sizes: list[int] = []
    path = url.split("?")[0]
    while True:
        r = caller.get(url)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson"), r.text
        page = [json.loads(x) for x in r.text.splitlines()]
        lines += page
        sizes.append(len(page))
        link = r.headers.get("link")
        if link is None:
            return lines, sizes
        m = LINK.match(link)
        assert m, link
        url = m.group(1)
        assert url.startswith(f"{path}?") and "after=" in url  # a reference to the same resource, the next position


def test_paging_a_log_by_link_headers_yields_every_line_once_in_order(client: TestClient, workers) -> None:  # type: ignore[no-untyped-def]
    caller = login(client)
    name = f"chatty-{uuid.uuid4().hex[:8]}"
    register(
        caller,
        f"name: {name}\nsteps:\n"
        f"- {{id: a, run: 'seq 1 {LINES} | sed s/^/a-/'}}\n"
        f"- {{id: b, run: 'seq 1 {LINES} | sed s/^/b-/ >&2'}}\n",  # in parallel with a: their chunks interleave
    )
    run = wait_run(caller, start(caller, name)["id"])
    assert run["status"] == "succeeded", run
    base = f"/api/runs/{run['id']}/logs"

    whole = caller.get(base)  # no limit: everything in one streamed response, no Link, as before
    assert whole.status_code == 200 and "link" not in whole.headers
    everything = [json.loads(x) for x in whole.text.splitlines()]
    assert len(everything) == 2 * LINES

    paged, sizes = follow_links(caller, f"{base}?limit=333")
    assert paged == everything  # the same lines, each once, in the same order
    assert sizes == [333] * 9 + [3]  # 3000 lines: nine full pages and the rest, no empty last page
    for key in ("a", "b"):
        assert [ln["line"] for ln in paged if ln["step"] == key] == [f"{key}-{i}" for i in range(1, LINES + 1)]
    assert {ln["stream"] for ln in paged if ln["step"] == "b"} == {"stderr"}

    # the filters stay on every page: one step's lines, and a text filter
    only_b, sizes = follow_links(caller, f"{base}?step=b&limit=400")
    assert [ln["line"] for ln in only_b] == [f"b-{i}" for i in range(1, LINES + 1)] and sizes == [400] * 3 + [300]
    tens, sizes = follow_links(caller, f"{base}?q=0&step=a&limit=50")
    assert [ln["line"] for ln in tens] == [ln["line"] for ln in everything if ln["step"] == "a" and "0" in ln["line"]]
    assert all(n == 50 for n in sizes[:-1]) and 0 < sizes[-1] <= 50

    # a page exactly as large as what is left ends without a Link
    last, sizes = follow_links(caller, f"{base}?limit={2 * LINES}")
    assert last == everything and sizes == [2 * LINES]


def test_log_paging_parameters_are_checked(client: TestClient, workers) -> None:  # type: ignore[no-untyped-def]
    caller = login(client)
    name = f"quiet-{uuid.uuid4().hex[:8]}"
    register(caller, f"name: {name}\nsteps:\n- {{id: a, run: echo hi}}\n")
    run = wait_run(caller, start(caller, name)["id"])
    base = f"/api/runs/{run['id']}/logs"
    for params, field in [
        ({"limit": 0}, "limit"),
        ({"limit": 10_001}, "limit"),
        ({"limit": 5, "follow": "true"}, "limit"),
        ({"after": "12"}, "after"),
        ({"after": "1.x"}, "after"),
    ]:
        r = caller.get(base, params=params)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), (params, r.text)
        assert [e["field"] for e in r.json()["errors"]] == [f"query.{field}"], (params, r.json())
    one = caller.get(base, params={"limit": 1})
    assert [json.loads(x)["line"] for x in one.text.splitlines()] == ["hi"] and "link" not in one.headers

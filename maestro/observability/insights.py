"""What's hot and cold: flaky tests and pipelines, slowest steps, noisy alerts, top cost centers."""

from __future__ import annotations

import logging
import math
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from maestro.artifacts import Store, read_verified
from maestro.domain.runs import Alert, Artifact, Run, StepRun
from maestro.states import DECIDED_RUN

MAX_JUNIT_BYTES = 5 * 1024 * 1024
log = logging.getLogger("maestro.insights")


def _p95(xs: list[int]) -> int:
    xs = sorted(xs)
    return xs[max(0, math.ceil(0.95 * len(xs)) - 1)]


def junit_cases(xml: bytes) -> list[tuple[str, bool]]:
    """(test id, passed) for each testcase of a JUnit XML report."""
    root = ET.fromstring(xml)  # noqa: S314 - stdlib parser does not fetch external entities
    out = []
    for case in root.iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")
        failed = any(child.tag in {"failure", "error"} for child in case)
        skipped = any(child.tag == "skipped" for child in case)
        if not skipped:
            out.append((name, not failed))
    return out


def compute(s: Session, *, tenant_id: str, since: datetime, store: Store, limit: int = 10) -> dict[str, Any]:
    runs = s.exec(
        select(Run).where(Run.tenant_id == tenant_id, col(Run.created_at) >= since, col(Run.status).in_(DECIDED_RUN))
    ).all()
    by_id = {r.id: r for r in runs}
    # flaky pipelines: the same commit both passed and failed
    outcomes: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in runs:
        if r.commit:
            outcomes[(r.pipeline_name, r.commit)].add(r.status)
    flaky_p: dict[str, int] = defaultdict(int)
    for (pipeline, _commit), seen in outcomes.items():
        if seen == set(DECIDED_RUN):
            flaky_p[pipeline] += 1
    # slowest steps (p95 per pipeline step)
    durations: dict[tuple[str, str], list[int]] = defaultdict(list)
    if by_id:
        for st in s.exec(
            select(StepRun).where(col(StepRun.run_id).in_(list(by_id)), col(StepRun.duration_ms).is_not(None))
        ).all():
            durations[(by_id[st.run_id].pipeline_name, st.step_id)].append(st.duration_ms or 0)
    slow: list[dict[str, Any]] = [
        {"pipeline": p, "step": k, "p95Ms": _p95(v), "samples": len(v)} for (p, k), v in durations.items()
    ]
    slow.sort(key=lambda x: -x["p95Ms"])
    # flaky tests: JUnit reports in artifacts; a test that passed and failed on the same commit
    tests: dict[tuple[str, str, str], set[bool]] = defaultdict(set)
    if by_id:
        arts = s.exec(select(Artifact).where(col(Artifact.run_id).in_(list(by_id)), col(Artifact.path).endswith(".xml"))).all()
        for a in arts:
            if a.size > MAX_JUNIT_BYTES:
                continue
            try:
                data = read_verified(store, a.sha256)
                cases = junit_cases(data) if b"<testsuite" in data[:4096] or b"<testsuites" in data[:4096] else []
            except Exception:  # a broken or missing report is skipped, not fatal
                log.info("skipping unreadable test report %s", a.path, exc_info=True)
                continue
            r = by_id[a.run_id]
            for name, ok in cases:
                tests[(r.pipeline_name, r.commit or r.id, name)].add(ok)
    flaky_t: dict[tuple[str, str], int] = defaultdict(int)
    for (pipeline, _commit, name), oks in tests.items():
        if oks == {True, False}:
            flaky_t[(pipeline, name)] += 1
    # noisy alerts
    alerts = s.exec(select(Alert).where(Alert.tenant_id == tenant_id, col(Alert.updated_at) >= since)).all()
    days = max((datetime.now(since.tzinfo) - since).total_seconds() / 86400, 1 / 24)
    noisy: list[dict[str, Any]] = [
        {"fingerprint": a.fingerprint, "name": a.name, "fires": a.fire_count, "firesPerDay": round(a.fire_count / days, 2)}
        for a in alerts
    ]
    noisy.sort(key=lambda x: -x["fires"])
    # cost centers
    cost: dict[tuple[str, str], float] = defaultdict(float)
    for r in runs:
        cost[("pipeline", r.pipeline_name)] += r.cost_usd
        cost[("env", r.env)] += r.cost_usd
        for k, v in r.labels.items():
            cost[(f"label:{k}", v)] += r.cost_usd
    top_cost: list[dict[str, Any]] = [{"dimension": d, "value": v, "costUsd": round(c, 6)} for (d, v), c in cost.items() if c > 0]
    top_cost.sort(key=lambda x: -x["costUsd"])
    flaky_tests: list[dict[str, Any]] = [{"pipeline": p, "test": n, "commits": c} for (p, n), c in flaky_t.items()]
    flaky_tests.sort(key=lambda x: -x["commits"])
    flaky_pipes: list[dict[str, Any]] = [{"pipeline": p, "commits": c} for p, c in flaky_p.items()]
    flaky_pipes.sort(key=lambda x: -x["commits"])
    return {
        "since": since.isoformat(),
        "flakyTests": flaky_tests[:limit],
        "flakyPipelines": flaky_pipes[:limit],
        "slowestSteps": slow[:limit],
        "noisyAlerts": noisy[:limit],
        "topCostCenters": top_cost[:limit],
    }

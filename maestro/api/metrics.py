"""Prometheus metrics computed from the SQL projection at scrape time.

Counting from the database (not from in-process counters) keeps every API replica's /metrics
identical and survives restarts; label sets are bounded by pipelines × environments × statuses.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, case, func
from sqlmodel import Session, col, select

from maestro.domain.runs import Run, StepRun

log = logging.getLogger("maestro.metrics")

DURATION_BUCKETS_MS = (1_000, 5_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_200_000, 3_600_000)
FINISHED = ("succeeded", "failed", "cancelled", "error")


def _histogram(name: str, doc: str, rows: list[tuple[str, ...]], label_names: list[str]) -> HistogramMetricFamily:
    h = HistogramMetricFamily(name, doc, labels=label_names)
    for row in rows:
        labels = list(row[: len(label_names)])
        counts = [int(x or 0) for x in row[len(label_names) : len(label_names) + len(DURATION_BUCKETS_MS)]]
        total, sum_ms = int(row[-2] or 0), float(row[-1] or 0)
        buckets = [(str(float(b)), c) for b, c in zip(DURATION_BUCKETS_MS, counts, strict=True)] + [("+Inf", total)]
        h.add_metric(labels, buckets, sum_ms)
    return h


class ProjectionCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> Iterator[object]:  # no pre-registration scrape against the DB
        return iter(())

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        try:
            with Session(self.engine) as s:
                runs = s.exec(
                    select(Run.status, Run.pipeline_name, Run.env, func.count()).group_by(Run.status, Run.pipeline_name, Run.env)
                ).all()
                bucket_cols = [func.sum(case((col(Run.duration_ms) <= b, 1), else_=0)) for b in DURATION_BUCKETS_MS]
                run_hist = s.exec(
                    select(Run.pipeline_name, Run.env, *bucket_cols, func.count(), func.sum(Run.duration_ms))  # type: ignore[call-overload]
                    .where(col(Run.status).in_(FINISHED), col(Run.duration_ms).is_not(None))
                    .group_by(Run.pipeline_name, Run.env)
                ).all()
                step_cols = [func.sum(case((col(StepRun.duration_ms) <= b, 1), else_=0)) for b in DURATION_BUCKETS_MS]
                step_hist = s.exec(
                    select(StepRun.pool, *step_cols, func.count(), func.sum(StepRun.duration_ms))  # type: ignore[call-overload]
                    .where(col(StepRun.duration_ms).is_not(None))
                    .group_by(StepRun.pool)
                ).all()
                pools = sorted(s.exec(select(StepRun.pool).distinct()).all())
                active = s.exec(
                    select(StepRun.pool, StepRun.status, func.count())
                    .join(Run, col(Run.id) == col(StepRun.run_id))
                    .where(
                        col(StepRun.status).in_(("pending", "running", "waiting")),
                        col(Run.status).in_(("queued", "running", "waiting", "paused")),
                    )
                    .group_by(StepRun.pool, StepRun.status)
                ).all()
        except Exception:
            log.warning("projection metrics unavailable", exc_info=True)
            return
        total = CounterMetricFamily(
            "maestro_runs", "Runs by status, pipeline and environment", labels=["status", "pipeline", "env"]
        )
        for status, pipeline, env, n in runs:
            total.add_metric([status, pipeline, env], int(n))
        yield total
        yield _histogram(
            "maestro_run_duration_ms", "Duration of finished runs (ms)", [tuple(r) for r in run_hist], ["pipeline", "env"]
        )
        yield _histogram("maestro_step_duration_ms", "Duration of step attempts (ms)", [tuple(r) for r in step_hist], ["pool"])
        counts = {(pool, status): int(n) for pool, status, n in active}
        depth = GaugeMetricFamily(
            "maestro_queue_depth", "Steps of active runs not finished yet, by pool and state", labels=["pool", "state"]
        )
        for pool in pools:  # every pool that has run steps reports, zero included
            for state in ("pending", "running", "waiting"):
                depth.add_metric([pool, state], counts.get((pool, state), 0))
        yield depth

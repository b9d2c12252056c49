"""Prometheus metrics computed from the SQL projection at scrape time.

Counting from the database (not from in-process counters) keeps every API replica's /metrics
identical and survives restarts; label sets are bounded by pipelines × environments × statuses.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from redis import Redis
from sqlalchemy import Engine, case, func
from sqlmodel import Session, col, select

from maestro.domain.finops import Budget, SpendRollup
from maestro.domain.models import Environment
from maestro.domain.runs import Pipeline, Run, StepRun
from maestro.domain.supply import Policy, PolicyDecision, counted_denial
from maestro.finops.budgets import utilisation
from maestro.observability import liveness
from maestro.observability.alerts import QUEUES_KEY
from maestro.states import ACTIVE_RUN, TERMINAL_RUN

log = logging.getLogger("maestro.metrics")

DURATION_BUCKETS_MS = (1_000, 5_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_200_000, 3_600_000)


def _histogram(name: str, doc: str, rows: list[tuple[str, ...]], label_names: list[str]) -> HistogramMetricFamily:
    h = HistogramMetricFamily(name, doc, labels=label_names)
    for row in rows:
        labels = list(row[: len(label_names)])
        counts = [int(x or 0) for x in row[len(label_names) : len(label_names) + len(DURATION_BUCKETS_MS)]]
        total, sum_ms = int(row[-2] or 0), float(row[-1] or 0)
        buckets = [(str(float(b)), c) for b, c in zip(DURATION_BUCKETS_MS, counts, strict=True)] + [("+Inf", total)]
        h.add_metric(labels, buckets, sum_ms)
    return h


def _spend_metrics(spend: Any, budgets: Any) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
    """The spend ledger, with the gateway's per-provider series' label names (provider, model, kind)."""
    labels = ["source", "pipeline", "env", "provider", "model"]
    cost = CounterMetricFamily(
        "maestro_budget_spend_usd",
        "The spend ledger in USD: run steps (runner time at the rate card), gateway requests (tokens at the price card), "
        "manual and imported costs",
        labels=labels,
    )
    tokens = CounterMetricFamily("maestro_budget_tokens", "Model tokens in the spend ledger", labels=[*labels, "kind"])
    for source, pipeline, env, provider, model, usd, tin, tout in spend:
        key = [source, pipeline, env, provider, model]
        cost.add_metric(key, float(usd or 0))
        if tin or tout:
            tokens.add_metric([*key, "prompt"], float(tin or 0))
            tokens.add_metric([*key, "completion"], float(tout or 0))
    yield cost
    yield tokens
    util = GaugeMetricFamily(
        "maestro_budget_utilisation_ratio",
        "Spend this period over the tighter cap (1 = at the cap)",
        labels=["tenant", "budget"],
    )
    frozen = GaugeMetricFamily("maestro_budget_frozen", "1 while the budget is frozen", labels=["tenant", "budget"])
    for b in budgets:
        pct = utilisation(cap_usd=b.cap_usd, cap_tokens=b.cap_tokens, usd=b.spent_usd, tokens=b.spent_tokens)
        util.add_metric([b.tenant_id, b.name], round(pct / 100, 6))
        frozen.add_metric([b.tenant_id, b.name], 1.0 if b.frozen else 0.0)
    yield util
    yield frozen


class ProjectionCollector(Collector):
    def __init__(self, engine: Engine, redis: Redis | None = None) -> None:
        self.engine = engine
        self.redis = redis

    def describe(self) -> Iterator[object]:  # no pre-registration scrape against the DB
        return iter(())

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        try:
            with Session(self.engine) as s:
                runs = s.exec(
                    select(Run.status, Run.pipeline_name, Run.env, func.count()).group_by(Run.status, Run.pipeline_name, Run.env)
                ).all()
                pipelines = set(s.exec(select(Pipeline.name)).all())
                environments = set(s.exec(select(Environment.name)).all())
                policies = s.exec(select(Policy.name, Policy.points).where(col(Policy.enabled).is_(True))).all()
                bucket_cols = [func.sum(case((col(Run.duration_ms) <= b, 1), else_=0)) for b in DURATION_BUCKETS_MS]
                run_hist = s.exec(
                    select(Run.pipeline_name, Run.env, *bucket_cols, func.count(), func.sum(Run.duration_ms))  # type: ignore[call-overload]
                    .where(col(Run.status).in_(TERMINAL_RUN), col(Run.duration_ms).is_not(None))
                    .group_by(Run.pipeline_name, Run.env)
                ).all()
                step_cols = [func.sum(case((col(StepRun.duration_ms) <= b, 1), else_=0)) for b in DURATION_BUCKETS_MS]
                step_hist = s.exec(
                    select(StepRun.pool, *step_cols, func.count(), func.sum(StepRun.duration_ms))  # type: ignore[call-overload]
                    .where(col(StepRun.duration_ms).is_not(None))
                    .group_by(StepRun.pool)
                ).all()
                r = SpendRollup
                spend = s.exec(
                    select(  # type: ignore[call-overload]
                        r.source, r.pipeline, r.env, r.provider, r.model, func.sum(r.usd), func.sum(r.tokens_in),
                        func.sum(r.tokens_out),
                    )
                    .group_by(col(r.source), col(r.pipeline), col(r.env), col(r.provider), col(r.model))
                ).all()  # fmt: skip
                budgets = s.exec(select(Budget)).all()
                denials = s.exec(
                    select(PolicyDecision.point, PolicyDecision.policy_name, func.count())
                    .where(counted_denial())
                    .group_by(PolicyDecision.point, PolicyDecision.policy_name)
                ).all()
                pools = sorted(s.exec(select(StepRun.pool).distinct()).all())
                active = s.exec(
                    select(StepRun.pool, StepRun.status, func.count())
                    .join(Run, col(Run.id) == col(StepRun.run_id))
                    .where(
                        col(StepRun.status).in_(("pending", "running", "waiting")),
                        col(Run.status).in_(ACTIVE_RUN),
                    )
                    .group_by(StepRun.pool, StepRun.status)
                ).all()
        except Exception:
            log.warning("projection metrics unavailable", exc_info=True)
            return
        total = CounterMetricFamily(
            "maestro_runs", "Runs by status, pipeline and environment", labels=["status", "pipeline", "env"]
        )
        # Every pipeline x environment x outcome exists from the pipeline's creation, at 0 until a run
        # ends so: a counter that first appears at its final value has no increase() in Prometheus,
        # and a burst of failures of a new pipeline would never fire RunFailureSpike.
        counted = {(status, pipeline, env): int(n) for status, pipeline, env, n in runs}
        for pipeline in pipelines:
            for env in environments:
                for status in TERMINAL_RUN:
                    counted.setdefault((status, pipeline, env), 0)
        for (status, pipeline, env), n in sorted(counted.items()):
            total.add_metric([status, pipeline, env], n)
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
        yield from _spend_metrics(spend, budgets)
        denied = CounterMetricFamily(
            "maestro_policy_denials", "Policy evaluations that denied, by evaluation point and policy", labels=["point", "policy"]
        )
        denial_counts = {(point, policy): int(n) for point, policy, n in denials}
        for name, points in policies:  # every enabled policy at each of its points, 0 until it denies
            for point in points:
                denial_counts.setdefault((point, name), 0)
        for (point, policy), n in sorted(denial_counts.items()):
            denied.add_metric([point, policy], n)
        yield denied
        yield from self._live()

    def _live(self) -> Iterator[GaugeMetricFamily]:
        """Worker/runner liveness (heartbeat keys) and the runner queues' Temporal backlog (last evaluator tick)."""
        if self.redis is None:
            return
        try:
            beats = liveness.live(self.redis)
            raw = self.redis.get(QUEUES_KEY)
        except Exception:
            log.warning("liveness metrics unavailable", exc_info=True)
            return
        now = time.time()
        up = GaugeMetricFamily(
            "maestro_workers_up", "Live worker/runner processes (heartbeat within 3 intervals)", labels=["kind", "pool"]
        )
        age = GaugeMetricFamily(
            "maestro_worker_heartbeat_age_seconds", "Oldest live heartbeat per kind and pool", labels=["kind", "pool"]
        )
        groups: dict[tuple[str, str], list[float]] = {}
        for b in beats:
            groups.setdefault((b.kind, b.pool), []).append(now - b.seen_at)
        for kind in ("worker", "runner"):
            if not any(k == kind for k, _ in groups):
                up.add_metric([kind, ""], 0)  # the family always exists: absent(...) alerts need a zero
        for (kind, pool), ages in sorted(groups.items()):
            up.add_metric([kind, pool], len(ages))
            age.add_metric([kind, pool], max(0.0, max(ages)))
        yield up
        yield age
        backlog = GaugeMetricFamily(
            "maestro_queue_backlog_steps", "Steps waiting in a runner pool's Temporal task queue", labels=["pool"]
        )
        backlog_age = GaugeMetricFamily(
            "maestro_queue_backlog_age_seconds", "Age of the oldest step waiting for a runner", labels=["pool"]
        )
        pollers = GaugeMetricFamily("maestro_queue_pollers", "Runner pollers Temporal saw on the pool's queue", labels=["pool"])
        if raw:
            data = json.loads(raw)
            for q in data.get("queues", []):
                backlog.add_metric([q["pool"]], q["backlog"])
                backlog_age.add_metric([q["pool"]], q["age_seconds"])
                pollers.add_metric([q["pool"]], q["pollers"])
        yield backlog
        yield backlog_age
        yield pollers

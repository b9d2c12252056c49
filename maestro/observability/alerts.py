"""Alert evaluation (SLO burn rates → firing/resolved alerts) and delivery to Alertmanager."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from redis import Redis
from redis.client import Pipeline
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from maestro.config import Settings
from maestro.domain.models import Tenant
from maestro.domain.runs import Alert, Run, StepRun
from maestro.domain.supply import PolicyDecision, counted_denial
from maestro.domain.types import utcnow
from maestro.events import make_envelope
from maestro.events.payloads import AlertEventPayload
from maestro.events.streams import add
from maestro.observability import liveness
from maestro.observability import slo as slomod
from maestro.shared import runner_queue
from maestro.states import ACTIVE_RUN, DECIDED_RUN, AlertState

log = logging.getLogger("maestro.alerts")

# alert name → runbook (docs/runbooks/<name>.md, served at /api/runbooks/<name>, shown at /runbooks/<name>)
RUNBOOKS = {
    "SloBurnRate": "slo-burn",
    "MaestroSyntheticCheck": "synthetic-alert",
    "RunQueueSaturated": "queue-saturation",
    "RunFailureSpike": "run-failure-spike",
    "PolicyDenialSpike": "policy-denial-spike",
    "RolloutRolledBack": "rollout-rolled-back",
    "RolloutStuck": "rollout-stuck",
    "BudgetWarning": "budget-warning",
    "BudgetBreach": "budget-breach",
    # raised by Prometheus only (dashboards/prometheus): an outside observer sees these
    "MaestroWorkerDown": "worker-down",
    "MaestroApiErrorRateHigh": "ready-degraded",
    "MaestroApiSlow": "ready-degraded",
}
PUSH_ATTEMPTS = 5
SYNTHETIC_TTL = timedelta(minutes=5)  # how long a synthetic alert (POST /api/alerts/synthetic) stays firing
QUEUES_KEY = "maestro:queues:backlog"


@dataclass
class EvaluationResult:
    fired: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    firing: int = 0


@dataclass
class QueueBacklog:
    """A runner pool's Temporal task queue as Temporal reports it (activities not picked up yet)."""

    pool: str
    task_queue: str
    backlog: int
    age_seconds: float
    pollers: int


@dataclass
class EvaluationInput:
    # None: Temporal's backlog could not be read this tick (queue alerts then keep their state)
    queues: list[QueueBacklog] | None = None


@dataclass
class Firing:
    fingerprint: str
    name: str
    severity: str
    labels: dict[str, str]
    annotations: dict[str, str]


def alert_payload(a: Alert) -> AlertEventPayload:
    return AlertEventPayload.model_validate(a)


def publish_alert(redis: Redis | Pipeline, kind: str, a: Alert, *, maxlen: int = 10_000) -> None:
    """``kind`` (alert_fired, alert_resolved, ...) on the alerts topic, for the alert's tenant."""
    env = make_envelope(
        type=kind, entity="alert", id=a.id, payload=alert_payload(a), tenant=a.tenant_id, env=str(a.labels.get("env", ""))
    )
    add(redis, "alerts", env, maxlen=maxlen)


def runbook_url(public_url: str, alert_name: str) -> str:
    return f"{public_url.rstrip('/')}/runbooks/{RUNBOOKS[alert_name]}"


def resolve_alert(a: Alert, now: datetime, why: str) -> None:
    """Mark a firing alert resolved as of ``now``, saying ``why`` in its summary (the firing summary
    follows as what it was); the caller adds, commits and publishes ``alert_resolved``."""
    was = a.annotations.get("fired_summary") or a.annotations.get("summary", "")
    note = {"summary": f"Resolved: {why}." + (f" It fired with: {was}" if was else ""), "fired_summary": was}
    a.annotations = {**a.annotations, **note}
    a.state, a.ends_at, a.updated_at = AlertState.resolved, now, now


def upsert_alert(
    s: Session,
    *,
    tenant_id: str,
    fingerprint: str,
    name: str,
    severity: str,
    labels: dict[str, str],
    annotations: dict[str, str],
    now: datetime,
    public_url: str,
) -> tuple[Alert, bool]:
    """Fire (or keep firing) an alert; returns (alert, newly fired)."""
    row = s.exec(select(Alert).where(Alert.tenant_id == tenant_id, Alert.fingerprint == fingerprint)).first()
    annotations = {"runbook_url": runbook_url(public_url, name), **annotations}
    if row is None:
        row = Alert(
            tenant_id=tenant_id,
            fingerprint=fingerprint,
            name=name,
            severity=severity,
            state="firing",
            labels=labels,
            annotations=annotations,
            starts_at=now,
        )
        s.add(row)
        return row, True
    fired = row.state != "firing"
    if fired:
        row.state, row.starts_at, row.ends_at = "firing", now, None
        row.fire_count += 1
        row.acked_by = row.acked_at = None
    row.labels, row.annotations, row.severity, row.updated_at = labels, annotations, severity, now
    s.add(row)
    return row, fired


class AlertActivities:
    def __init__(self, *, engine: Engine, redis: Redis, settings: Settings) -> None:
        self.engine = engine
        self.redis = redis
        self.settings = settings
        self.alertmanager_url = settings.alertmanager_url.rstrip("/") if settings.alertmanager_url else None
        self.public_url = settings.effective_public_url.rstrip("/")

    def publish(self, kind: str, a: Alert) -> None:
        try:
            publish_alert(self.redis, kind, a, maxlen=self.settings.stream_maxlen)
        except Exception:
            log.warning("alert event publish failed", exc_info=True)

    # -- queue backlog (Temporal) ----------------------------------------------------------------
    def _known_pools(self) -> list[str]:
        with Session(self.engine) as s:
            pools = set(
                s.exec(
                    select(StepRun.pool)
                    .join(Run, col(Run.id) == col(StepRun.run_id))
                    .where(col(Run.status).in_(ACTIVE_RUN))
                    .distinct()
                ).all()
            )
        try:
            pools |= {b.pool for b in liveness.live(self.redis) if b.kind == "runner"}
        except Exception:
            log.info("runner liveness unavailable", exc_info=True)
        return sorted(pools | {self.settings.runner_pool})

    @activity.defn(name="queue_backlogs")
    async def queue_backlogs(self) -> list[QueueBacklog]:
        """Ask Temporal how many step activities wait in each runner pool's queue, how long, and who polls."""
        pools = await asyncio.to_thread(self._known_pools)
        client = activity.client()
        out = []
        for pool in pools:
            tq = runner_queue(pool, self.settings.runner_queue_prefix)
            r = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=client.namespace,
                    task_queue=TaskQueue(name=tq, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
                    report_stats=True,
                )
            )
            backlog = r.stats.approximate_backlog_count if r.HasField("stats") else 0
            age = r.stats.approximate_backlog_age.ToTimedelta().total_seconds() if r.HasField("stats") and backlog else 0.0
            out.append(QueueBacklog(pool, tq, int(backlog), age, len(r.pollers)))
        return out

    # -- rules -------------------------------------------------------------------------------------
    def _slo_rules(self, s: Session, tenant: Tenant, now: datetime) -> list[Firing]:
        out = []
        latest_failed: Run | None = None
        for d in slomod.all_slos(s, tenant.id):
            st = slomod.evaluate(s, d, tenant.id, now)
            for pair in st.alerts:
                if not pair["firing"]:
                    continue
                lr, sr = st.burn_rates[pair["long"]] or 0.0, st.burn_rates[pair["short"]] or 0.0
                rates = f"{lr:.1f}x over {pair['long']}, {sr:.1f}x over {pair['short']}"
                annotations = {
                    "summary": f"{d.name}: error budget burning at {rates} (threshold {pair['threshold']}x)",
                    "description": f"SLI {st.sli:.4f} against objective {d.objective} over {d.window_days} days."
                    if st.sli is not None
                    else "",
                    "slo_url": f"{self.public_url}/observability?slo={d.id}",
                }
                if d.sli in {"run_success", "run_duration"}:
                    latest_failed = latest_failed or _latest_failed_run(s, tenant.id, d.pipeline)
                    if latest_failed is not None:
                        annotations |= _run_annotations(self.public_url, latest_failed)
                out.append(
                    Firing(
                        f"slo-burn:{d.id}:{pair['long']}-{pair['short']}",
                        "SloBurnRate",
                        pair["severity"],
                        {
                            "alertname": "SloBurnRate",
                            "slo": d.id,
                            "window": f"{pair['long']}/{pair['short']}",
                            "severity": pair["severity"],
                            "tenant": tenant.slug,
                            "source": "maestro",
                        },
                        annotations,
                    )
                )
        return out

    def _failure_spike_rules(self, s: Session, tenant: Tenant, now: datetime) -> list[Firing]:
        minutes, min_runs = self.settings.alert_failure_spike_minutes, self.settings.alert_failure_spike_min_runs
        rows = s.exec(
            select(Run.pipeline_name, Run.env, Run.status, func.count())
            .where(
                Run.tenant_id == tenant.id,
                col(Run.status).in_(DECIDED_RUN),
                col(Run.finished_at) >= now - timedelta(minutes=minutes),
            )
            .group_by(Run.pipeline_name, Run.env, Run.status)
        ).all()
        counts: dict[tuple[str, str], dict[str, int]] = {}
        for pipeline, env, status, n in rows:
            counts.setdefault((pipeline, env), {})[status] = int(n)
        out = []
        for (pipeline, env), c in sorted(counts.items()):
            failed, total = c.get("failed", 0), c.get("failed", 0) + c.get("succeeded", 0)
            if failed < min_runs or failed * 2 < total:
                continue
            annotations = {
                "summary": f"{pipeline} in {env}: {failed} of {total} finished runs failed in the last {minutes} min",
                "description": f"Fires at {min_runs} or more failures making up at least half of the runs in the window.",
            }
            if (last := _latest_failed_run(s, tenant.id, pipeline, env)) is not None:
                annotations |= _run_annotations(self.public_url, last)
            out.append(
                Firing(
                    f"failure-spike:{pipeline}:{env}",
                    "RunFailureSpike",
                    "ticket",
                    {
                        "alertname": "RunFailureSpike",
                        "pipeline": pipeline,
                        "env": env,
                        "severity": "ticket",
                        "tenant": tenant.slug,
                        "source": "maestro",
                    },
                    annotations,
                )
            )
        return out

    def _denial_rules(self, s: Session, tenant: Tenant, now: datetime) -> list[Firing]:
        minutes, limit = self.settings.alert_failure_spike_minutes, self.settings.alert_policy_denials
        rows = s.exec(
            select(PolicyDecision.point, func.count())
            .where(
                PolicyDecision.tenant_id == tenant.id,
                counted_denial(),
                col(PolicyDecision.created_at) >= now - timedelta(minutes=minutes),
            )
            .group_by(PolicyDecision.point)
        ).all()
        out = []
        for point, n in rows:
            if int(n) < limit:
                continue
            top = s.exec(
                select(PolicyDecision.policy_name, func.count())
                .where(
                    PolicyDecision.tenant_id == tenant.id,
                    PolicyDecision.point == point,
                    counted_denial(),
                    col(PolicyDecision.created_at) >= now - timedelta(minutes=minutes),
                )
                .group_by(PolicyDecision.policy_name)
                .order_by(func.count().desc())
            ).first()
            out.append(
                Firing(
                    f"policy-denials:{point}",
                    "PolicyDenialSpike",
                    "ticket",
                    {
                        "alertname": "PolicyDenialSpike",
                        "point": point,
                        "severity": "ticket",
                        "tenant": tenant.slug,
                        "source": "maestro",
                    },
                    {
                        "summary": f"{n} denials at {point} in the last {minutes} min"
                        + (f" (most by {top[0]}: {top[1]})" if top else ""),
                        "decisions_url": f"{self.public_url}/policies?point={point}&allowed=false",
                    },
                )
            )
        return out

    def _queue_rules(self, tenant: Tenant, queues: list[QueueBacklog], mine: set[str], owned: set[str]) -> list[Firing]:
        """A pool counts for the tenants whose active runs use it; a pool nobody's runs use, for everyone."""
        wait = self.settings.alert_queue_wait_seconds
        out = []
        for q in queues:
            if q.pool in owned and q.pool not in mine:
                continue
            nobody = q.pollers == 0 and q.backlog > 0 and q.age_seconds >= min(wait, 60)
            if not (nobody or (q.backlog > 0 and q.age_seconds >= wait)):
                continue
            severity = "page" if nobody else "ticket"
            why = "no runner polls it" if nobody else f"the oldest step has waited {q.age_seconds:.0f}s (threshold {wait}s)"
            out.append(
                Firing(
                    f"queue:{q.pool}",
                    "RunQueueSaturated",
                    severity,
                    {
                        "alertname": "RunQueueSaturated",
                        "pool": q.pool,
                        "severity": severity,
                        "tenant": tenant.slug,
                        "source": "maestro",
                    },
                    {
                        "summary": f"Runner pool {q.pool!r}: {q.backlog} step(s) waiting; {why}",
                        "backlog": str(q.backlog),
                        "backlog_age_seconds": f"{q.age_seconds:.0f}",
                        "pollers": str(q.pollers),
                        "task_queue": q.task_queue,
                    },
                )
            )
        return out

    def _tenant_pools(self, s: Session) -> dict[str, set[str]]:
        rows = s.exec(
            select(Run.tenant_id, StepRun.pool)
            .join(Run, col(Run.id) == col(StepRun.run_id))
            .where(col(Run.status).in_(ACTIVE_RUN))
            .distinct()
        ).all()
        out: dict[str, set[str]] = {}
        for tenant_id, pool in rows:
            out.setdefault(tenant_id, set()).add(pool)
        return out

    @activity.defn(name="evaluate_alerts")
    def evaluate_alerts(self, inp: EvaluationInput | None = None) -> EvaluationResult:
        """Every rule for every tenant → fire new alerts, keep firing ones fresh, resolve recovered ones."""
        inp = inp or EvaluationInput()
        now = utcnow()
        out = EvaluationResult()
        changed: list[tuple[str, Alert]] = []
        if inp.queues is not None:
            self._remember_queues(inp.queues, now)
        with Session(self.engine, expire_on_commit=False) as s:
            tenants = s.exec(select(Tenant)).all()
            pools_by_tenant = self._tenant_pools(s) if inp.queues is not None else {}
            owned = set().union(*pools_by_tenant.values()) if pools_by_tenant else set()
            for tenant in tenants:
                firing = [
                    *self._slo_rules(s, tenant, now),
                    *self._failure_spike_rules(s, tenant, now),
                    *self._denial_rules(s, tenant, now),
                ]
                evaluated = ["slo-burn:", "failure-spike:", "policy-denials:"]
                if inp.queues is not None:
                    firing += self._queue_rules(tenant, inp.queues, pools_by_tenant.get(tenant.id, set()), owned)
                    evaluated.append("queue:")
                for f in firing:
                    row, fired = upsert_alert(
                        s,
                        tenant_id=tenant.id,
                        fingerprint=f.fingerprint,
                        name=f.name,
                        severity=f.severity,
                        labels=f.labels,
                        annotations=f.annotations,
                        now=now,
                        public_url=self.public_url,
                    )
                    if fired:
                        changed.append(("alert_fired", row))
                        out.fired.append(f.fingerprint)
                keep = {f.fingerprint for f in firing}
                for old in s.exec(select(Alert).where(Alert.tenant_id == tenant.id, Alert.state == "firing")).all():
                    recovered = old.fingerprint not in keep and old.fingerprint.startswith(tuple(evaluated))
                    # a synthetic alert has proved delivery once it fired: it ends on its own
                    expired = old.fingerprint.startswith("synthetic:") and now - old.starts_at >= SYNTHETIC_TTL
                    if recovered or expired:
                        resolve_alert(old, now, "the condition cleared" if recovered else "a synthetic alert ends on its own")
                        s.add(old)
                        changed.append(("alert_resolved", old))
                        out.resolved.append(old.fingerprint)
            s.commit()
            out.firing = len(s.exec(select(Alert).where(Alert.state == "firing")).all())
        for kind, row in changed:
            self.publish(kind, row)
        return out

    def _remember_queues(self, queues: list[QueueBacklog], now: datetime) -> None:
        """The last tick's backlog, for /metrics (maestro_queue_backlog_*)."""
        try:
            self.redis.set(
                QUEUES_KEY,
                json.dumps({"at": now.timestamp(), "queues": [q.__dict__ for q in queues]}),
                ex=max(self.settings.alert_eval_interval_seconds * 4, 120),
            )
        except Exception:
            log.info("could not store queue backlog", exc_info=True)

    @activity.defn(name="push_alerts")
    def push_alerts(self) -> int:
        """Send every firing (and recently resolved) alert to Alertmanager's v2 API; it expects repeats."""
        if not self.alertmanager_url:
            return 0
        with Session(self.engine, expire_on_commit=False) as s:
            rows = s.exec(select(Alert).where(Alert.state == "firing")).all()
            recent = utcnow().timestamp() - 600
            rows = [
                *rows,
                *[
                    a
                    for a in s.exec(select(Alert).where(Alert.state == "resolved")).all()
                    if a.ends_at and a.ends_at.timestamp() > recent
                ],
            ]
        body = [
            {
                "labels": a.labels,
                "annotations": {k: str(v) for k, v in a.annotations.items()},
                "startsAt": a.starts_at.isoformat(),
                **({"endsAt": a.ends_at.isoformat()} if a.ends_at else {}),
                "generatorURL": f"{self.public_url}/observability/alerts/{a.id}",
            }
            for a in rows
        ]
        if not body:
            return 0
        attempt = activity.info().attempt
        try:
            r = httpx.post(f"{self.alertmanager_url}/api/v2/alerts", json=body, timeout=5)
            r.raise_for_status()
            status = f"delivered to Alertmanager at {utcnow().isoformat(timespec='seconds')}"
        except Exception as exc:
            status = f"Alertmanager push failed (attempt {attempt}/{PUSH_ATTEMPTS}): {exc}"[:2000]
            self._note(rows, status)
            if attempt < PUSH_ATTEMPTS:
                raise
            return 0  # give up for this tick: the failure stays visible on each alert; the next tick retries
        self._note(rows, status)
        return len(body)

    @activity.defn(name="push_pagerduty")
    def push_pagerduty(self) -> int:
        """Tell PagerDuty what changed since the last event it accepted: trigger, acknowledge or resolve."""
        key = self.settings.pagerduty_routing_key
        if not key:
            return 0
        since = utcnow() - timedelta(days=1)  # a newly configured key does not replay old history
        with Session(self.engine, expire_on_commit=False) as s:
            rows = s.exec(select(Alert).where(col(Alert.updated_at) >= since).order_by(col(Alert.updated_at))).all()
        todo = [(a, act) for a in rows if (act := pagerduty_action(a)) is not None and act != a.pagerduty_action]
        attempt, sent, failures = activity.info().attempt, 0, []
        for a, act in todo:
            event = pagerduty_event(a, act, routing_key=key, public_url=self.public_url)
            now = utcnow().isoformat(timespec="seconds")
            try:
                r = httpx.post(self.settings.pagerduty_events_url, json=event, timeout=5)
            except httpx.HTTPError as exc:
                failures.append(a.fingerprint)
                self._pd(a.id, None, f"PagerDuty {act} failed (attempt {attempt}/{PUSH_ATTEMPTS}) at {now}: {exc}")
                continue
            if r.status_code == 202 or r.is_success:
                sent += 1
                self._pd(a.id, act, f"PagerDuty accepted {act} at {now} (dedup key {a.fingerprint[:255]})")
            elif r.status_code == 429 or r.status_code >= 500:
                failures.append(a.fingerprint)
                self._pd(a.id, None, f"PagerDuty {act} failed (attempt {attempt}/{PUSH_ATTEMPTS}) at {now}: HTTP {r.status_code}")
            else:  # 400: PagerDuty will never take this event; say why and do not resend it every tick
                self._pd(a.id, act, f"PagerDuty rejected {act} at {now}: HTTP {r.status_code} {r.text[:500]}")
        if failures and attempt < PUSH_ATTEMPTS:
            raise RuntimeError(f"PagerDuty did not take {len(failures)} event(s); retrying")
        return sent

    def _pd(self, alert_id: str, action: str | None, status: str) -> None:
        with Session(self.engine) as s:
            row = s.get(Alert, alert_id)
            if row is not None:
                if action is not None:
                    row.pagerduty_action = action
                row.pagerduty_status = status[:2000]
                s.add(row)
                s.commit()

    def _note(self, rows: list[Alert], status: str) -> None:
        with Session(self.engine) as s:
            for a in rows:
                row = s.get(Alert, a.id)
                if row is not None:
                    row.notify_status = status
                    s.add(row)
            s.commit()


PD_SEVERITY = {"page": "critical", "ticket": "warning", "info": "info"}


def pagerduty_action(a: Alert) -> str | None:
    """The PagerDuty event this alert's state calls for (None: nothing to tell PagerDuty)."""
    if a.state == "resolved":
        return "resolve" if a.pagerduty_action in {"trigger", "acknowledge"} else None
    return "acknowledge" if a.acked_at is not None else "trigger"


def pagerduty_event(a: Alert, action: str, *, routing_key: str, public_url: str) -> dict[str, Any]:
    """A PagerDuty Events API v2 event; the fingerprint is the dedup key, so one alert is one incident."""
    event: dict[str, Any] = {"routing_key": routing_key, "event_action": action, "dedup_key": a.fingerprint[:255]}
    if action != "trigger":
        return event
    alert_url = f"{public_url}/observability/alerts/{a.id}"
    links = [{"href": alert_url, "text": "Alert in Maestro"}]
    if a.annotations.get("runbook_url"):
        links.append({"href": a.annotations["runbook_url"], "text": "Runbook"})
    if a.annotations.get("run_url"):
        links.append({"href": a.annotations["run_url"], "text": "Run"})
    component = a.labels.get("slo") or a.labels.get("pipeline") or a.labels.get("pool") or a.name
    event |= {
        "payload": {
            "summary": (a.annotations.get("summary") or a.name)[:1024],
            "source": urlsplit(public_url).netloc or "maestro",
            "severity": PD_SEVERITY.get(a.severity, "error"),
            "timestamp": a.starts_at.isoformat(),
            "component": component,
            "group": a.labels.get("tenant", ""),
            "class": a.name,
            "custom_details": {"labels": a.labels, "annotations": a.annotations},
        },
        "links": links,
        "client": "Maestro",
        "client_url": alert_url,
    }
    return event


def _latest_failed_run(s: Session, tenant_id: str, pipeline: str | None, env: str | None = None) -> Run | None:
    stmt = select(Run).where(Run.tenant_id == tenant_id, Run.status == "failed")
    if pipeline:
        stmt = stmt.where(Run.pipeline_name == pipeline)
    if env:
        stmt = stmt.where(Run.env == env)
    return s.exec(stmt.order_by(col(Run.finished_at).desc())).first()


def _run_annotations(public_url: str, run: Run) -> dict[str, str]:
    out = {"runId": run.id, "run_url": f"{public_url}/runs/{run.id}"}
    if run.trace_id:
        out["traceId"] = run.trace_id
    return out


def synthetic(engine: Engine, *, tenant_id: str, nonce: str, actor: str, public_url: str) -> Alert:
    """A test alert that goes through the same path as real ones (evidence uses it)."""
    now = utcnow()
    with Session(engine, expire_on_commit=False) as s:
        row, _ = upsert_alert(
            s,
            tenant_id=tenant_id,
            fingerprint=f"synthetic:{nonce}",
            name="MaestroSyntheticCheck",
            severity="info",
            labels={"alertname": "MaestroSyntheticCheck", "nonce": nonce, "severity": "info", "source": "maestro"},
            annotations={"summary": f"Synthetic alert fired by {actor} to prove the alert pipeline delivers", "nonce": nonce},
            now=now,
            public_url=public_url,
        )
        s.commit()
        return row

"""Alert evaluation (SLO burn rates → firing/resolved alerts) and delivery to Alertmanager."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from redis import Redis
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio import activity

from maestro.domain.models import Tenant
from maestro.domain.runs import Alert
from maestro.domain.types import utcnow
from maestro.events import make_envelope
from maestro.events.streams import stream_key
from maestro.observability import slo as slomod

log = logging.getLogger("maestro.alerts")

# alert name → runbook (docs/runbooks/<name>.md, served at /api/runbooks/<name>, shown at /runbooks/<name>)
RUNBOOKS = {
    "SloBurnRate": "slo-burn",
    "MaestroSyntheticCheck": "synthetic-alert",
    "RunQueueSaturated": "queue-saturation",
    "RunFailureSpike": "run-failure-spike",
}
PUSH_ATTEMPTS = 5


@dataclass
class EvaluationResult:
    fired: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    firing: int = 0


@dataclass
class PushInput:
    alert_ids: list[str]


def alert_payload(a: Alert) -> dict[str, Any]:
    return {
        "id": a.id,
        "fingerprint": a.fingerprint,
        "name": a.name,
        "severity": a.severity,
        "state": a.state,
        "labels": a.labels,
        "annotations": a.annotations,
        "startsAt": a.starts_at.isoformat(),
        "endsAt": a.ends_at.isoformat() if a.ends_at else None,
    }


def runbook_url(public_url: str, alert_name: str) -> str:
    return f"{public_url.rstrip('/')}/runbooks/{RUNBOOKS[alert_name]}"


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
    def __init__(self, *, engine: Engine, redis: Redis, alertmanager_url: str | None, public_url: str) -> None:
        self.engine = engine
        self.redis = redis
        self.alertmanager_url = alertmanager_url.rstrip("/") if alertmanager_url else None
        self.public_url = public_url

    def publish(self, kind: str, a: Alert) -> None:
        try:
            env = make_envelope(type=kind, entity="alert", id=a.id, payload=alert_payload(a))
            self.redis.xadd(stream_key("alerts"), {"e": env.model_dump_json(by_alias=True)}, maxlen=10_000, approximate=True)
        except Exception:
            log.warning("alert event publish failed", exc_info=True)

    @activity.defn(name="evaluate_alerts")
    def evaluate_alerts(self) -> EvaluationResult:
        """SLO burn rates of every tenant → fire new alerts, resolve recovered ones."""
        now = utcnow()
        out = EvaluationResult()
        changed: list[tuple[str, Alert]] = []
        with Session(self.engine, expire_on_commit=False) as s:
            for tenant in s.exec(select(Tenant)).all():
                for d in slomod.all_slos(s, tenant.id):
                    st = slomod.evaluate(s, d, tenant.id, now)
                    for pair in st.alerts:
                        fp = f"slo-burn:{d.id}:{pair['long']}-{pair['short']}"
                        if pair["firing"]:
                            lr, sr = st.burn_rates[pair["long"]] or 0.0, st.burn_rates[pair["short"]] or 0.0
                            rates = f"{lr:.1f}x over {pair['long']}, {sr:.1f}x over {pair['short']}"
                            row, fired = upsert_alert(
                                s,
                                tenant_id=tenant.id,
                                fingerprint=fp,
                                name="SloBurnRate",
                                severity=pair["severity"],
                                labels={
                                    "alertname": "SloBurnRate",
                                    "slo": d.id,
                                    "window": f"{pair['long']}/{pair['short']}",
                                    "severity": pair["severity"],
                                    "tenant": tenant.slug,
                                    "source": "maestro",
                                },
                                annotations={
                                    "summary": f"{d.name}: error budget burning at {rates} (threshold {pair['threshold']}x)",
                                    "description": f"SLI {st.sli:.4f} against objective {d.objective} over {d.window_days} days."
                                    if st.sli is not None
                                    else "",
                                    "slo_url": f"{self.public_url}/observability?slo={d.id}",
                                },
                                now=now,
                                public_url=self.public_url,
                            )
                            if fired:
                                changed.append(("alert_fired", row))
                                out.fired.append(fp)
                        else:
                            old = s.exec(select(Alert).where(Alert.tenant_id == tenant.id, Alert.fingerprint == fp)).first()
                            if old is not None and old.state == "firing":
                                old.state, old.ends_at, old.updated_at = "resolved", now, now
                                s.add(old)
                                changed.append(("alert_resolved", old))
                                out.resolved.append(fp)
            s.commit()
            out.firing = len(s.exec(select(Alert).where(Alert.state == "firing")).all())
        for kind, row in changed:
            self.publish(kind, row)
        return out

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

    def _note(self, rows: list[Alert], status: str) -> None:
        with Session(self.engine) as s:
            for a in rows:
                row = s.get(Alert, a.id)
                if row is not None:
                    row.notify_status = status
                    s.add(row)
            s.commit()


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

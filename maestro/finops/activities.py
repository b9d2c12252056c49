"""The BudgetWorkflow's activities: read the ledger, project the budget's state (SQL, gateway snapshot,
alerts, streams, audit), switch routing classes, close a period (summary and the finance webhook)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from redis import Redis
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from maestro.config import Settings
from maestro.domain.auditlog import append_audit, publish_audit_with
from maestro.domain.finops import Budget, BudgetEvent
from maestro.domain.routing import RoutingClass
from maestro.domain.runs import Alert
from maestro.domain.types import utcnow
from maestro.events import make_envelope
from maestro.events.payloads import BudgetEventPayload, RoutingEventPayload
from maestro.events.streams import add, audit_publisher
from maestro.finops import analytics, ledger
from maestro.finops.budgets import period_bounds, utilisation
from maestro.finops.shared import (
    BudgetNote,
    BudgetProjection,
    BudgetUsage,
    ClosePeriodInput,
    DowngradeInput,
    NextPeriod,
    UsageInput,
)
from maestro.observability.alerts import publish_alert, resolve_alert, upsert_alert

log = logging.getLogger("maestro.finops")

FORECAST_HISTORY = timedelta(days=28)
# history kinds that are also audited when the workflow takes them on its own (people's controls are
# audited by the API that received them)
AUDITED = {"frozen", "unfrozen", "slowed", "slowdown-lifted", "downgraded", "restored", "period-closed"}
STREAM_KIND = {
    "threshold": "budget_warning",
    "breached": "budget_breached",
    "frozen": "budget_frozen",
    "unfrozen": "budget_unfrozen",
    "slowed": "budget_slowed",
    "slowdown-lifted": "budget_slowdown_lifted",
    "downgraded": "budget_downgraded",
    "restored": "budget_restored",
    "cap-raised": "budget_cap_raised",
    "notified": "budget_warning",
    "period-closed": "budget_period_closed",
}


def budget_payload(b: Budget, note: BudgetNote | None = None) -> BudgetEventPayload:
    pct = utilisation(cap_usd=b.cap_usd, cap_tokens=b.cap_tokens, usd=b.spent_usd, tokens=b.spent_tokens)
    return BudgetEventPayload(
        name=b.name,
        scope=dict(b.scope),
        percent=round(pct, 2),
        spent_usd=round(b.spent_usd, 6),
        cap_usd=b.cap_usd,
        frozen=b.frozen,
        slowed=b.slowed,
        downgraded=b.downgraded,
        kind=note.kind if note else "",
        actor=note.actor if note else "",
        reason=note.reason if note else "",
    )


def publish_budget_event(redis: Redis, kind: str, b: Budget, note: BudgetNote | None, maxlen: int) -> None:
    env = make_envelope(
        type=kind, entity="budget", id=b.id, payload=budget_payload(b, note), tenant=b.tenant_id, env=b.scope.get("env", "")
    )
    add(redis, "budgets", env, maxlen=maxlen)


def add_note(s: Session, budget_id: str, note: BudgetNote, dedupe: str | None) -> bool:
    """Append to the budget's history; False when this (deduplicated) note was already written."""
    if dedupe is not None:
        seen = s.exec(select(BudgetEvent.id).where(BudgetEvent.budget_id == budget_id, BudgetEvent.dedupe == dedupe)).first()
        if seen is not None:
            return False
    s.add(
        BudgetEvent(
            budget_id=budget_id, kind=note.kind, actor=note.actor, reason=note.reason[:500], detail=note.detail, dedupe=dedupe
        )
    )
    return True


def alert_name(threshold: int) -> str:
    return "BudgetBreach" if threshold >= 100 else "BudgetWarning"


class BudgetActivities:
    def __init__(self, *, engine: Engine, redis: Redis, settings: Settings) -> None:
        self.engine = engine
        self.redis = redis
        self.settings = settings
        self.public_url = settings.effective_public_url.rstrip("/")

    @activity.defn(name="budget_usage")
    def budget_usage(self, inp: UsageInput) -> BudgetUsage:
        start, end = datetime.fromisoformat(inp.period_start), datetime.fromisoformat(inp.period_end)
        with Session(self.engine, expire_on_commit=False) as s:
            b = s.get(Budget, inp.budget_id)
            if b is None:
                raise ApplicationError(f"budget {inp.budget_id} no longer exists", type="BudgetMissing", non_retryable=True)
            if inp.set_cap_usd is not None or inp.set_cap_tokens is not None:
                if inp.set_cap_usd is not None:
                    b.cap_usd = inp.set_cap_usd
                if inp.set_cap_tokens is not None:
                    b.cap_tokens = inp.set_cap_tokens
                b.updated_at = utcnow()
                s.add(b)
                s.commit()
            scope = dict(b.scope)
            usd, tokens = ledger.consumed(s, tenant_id=b.tenant_id, scope=scope, start=start, end=end)
            now = utcnow()
            series = ledger.hourly(
                s,
                tenant_id=b.tenant_id,
                scope=scope,
                start=min(start, min(now, end) - FORECAST_HISTORY),
                end=min(now, end) + timedelta(hours=1),
            )
        fc = analytics.forecast(series, period_start=start, period_end=end, now=min(now, end), cap=b.cap_usd)
        return BudgetUsage(
            budget_id=b.id,
            name=b.name,
            cap_usd=b.cap_usd,
            cap_tokens=b.cap_tokens,
            thresholds=list(b.thresholds),
            actions=list(b.actions),
            forecast_downgrade=b.forecast_downgrade,
            usd=usd,
            tokens=tokens,
            burn_per_hour=fc.burn_per_hour,
            forecast_total=fc.projected_total if fc.enough_history else None,
            forecast_note=fc.reason[:300],
            cap_eta=fc.cap_hit_at.isoformat() if fc.cap_hit_at and fc.enough_history else None,
        )

    @activity.defn(name="budget_project")
    def budget_project(self, p: BudgetProjection) -> None:
        """The workflow's state into SQL (never older over newer), its notes into the history (each once),
        its thresholds as alerts, and the gateway's snapshot when what it enforces changed."""
        published: list[tuple[str, BudgetNote]] = []
        fired: list[Alert] = []
        resolved: list[Alert] = []
        gateway_changed = False
        with Session(self.engine, expire_on_commit=False) as s:
            publish_audit_with(s, audit_publisher(self.redis, self.settings.stream_maxlen))
            b = s.get(Budget, p.budget_id)
            if b is None:
                raise ApplicationError(f"budget {p.budget_id} no longer exists", type="BudgetMissing", non_retryable=True)
            # a retry of a projection that committed may have failed to publish: publish again to be sure
            gateway_changed = p.seq == b.projected_seq
            if p.seq > b.projected_seq:
                st = p.state
                gateway_changed = (b.frozen, b.slowed) != (st.frozen, st.slowed)
                b.frozen, b.frozen_by, b.frozen_reason = st.frozen, st.frozen_by, st.frozen_reason[:500]
                b.frozen_at = datetime.fromisoformat(st.frozen_at) if st.frozen_at else None
                b.slowed, b.downgraded, b.fired_thresholds = st.slowed, st.downgraded, list(st.fired)
                b.period_start, b.period_end = datetime.fromisoformat(p.period_start), datetime.fromisoformat(p.period_end)
                u = p.usage
                if u is not None:
                    b.spent_usd, b.spent_tokens, b.burn_per_hour = u.usd, u.tokens, u.burn_per_hour
                    b.forecast_total, b.forecast_note = u.forecast_total, u.forecast_note
                    b.cap_eta = datetime.fromisoformat(u.cap_eta) if u.cap_eta else None
                pct = utilisation(cap_usd=b.cap_usd, cap_tokens=b.cap_tokens, usd=b.spent_usd, tokens=b.spent_tokens)
                b.state = "breached" if pct >= 100 else "warning" if b.fired_thresholds else "ok"
                b.projected_seq, b.updated_at = p.seq, utcnow()
                s.add(b)
            for i, note in enumerate(p.notes):
                if add_note(s, b.id, note, note.dedupe or f"seq:{p.seq}:{i}"):
                    published.append((STREAM_KIND.get(note.kind, ""), note))
                    if note.kind in AUDITED and note.actor.startswith("budget:"):
                        append_audit(
                            s,
                            actor=note.actor,
                            action=f"budget.{note.kind}",
                            target_type="budget",
                            target_id=b.id,
                            change={"reason": note.reason, **note.detail},
                        )
            now = utcnow()
            for t in p.alerts:
                row, new = self._alert(s, b, t, p.percent or 0.0, now)
                if new:
                    fired.append(row)
            if p.resolve_alerts_below is not None:
                for a in self._budget_alerts(s, b):
                    if int(a.labels.get("threshold", "0")) > p.resolve_alerts_below:
                        resolve_alert(a, now, "the budget's cap was raised above this threshold")
                        s.add(a)
                        resolved.append(a)
            s.commit()
        if gateway_changed:
            self._publish_gateway()
        self._publish(b, published, fired, resolved)

    def _alert(self, s: Session, b: Budget, threshold: int, pct: float, now: datetime) -> tuple[Alert, bool]:
        name = alert_name(threshold)
        scope = ", ".join(f"{k} {v}" for k, v in b.scope.items() if v) or "the whole tenant"
        cap = f"${b.cap_usd:,.2f}" if b.cap_usd else f"{b.cap_tokens:,} tokens"
        return upsert_alert(
            s,
            tenant_id=b.tenant_id,
            fingerprint=f"budget:{b.id}:{threshold}",
            name=name,
            severity="critical" if threshold >= 100 else "warning",
            labels={
                "alertname": name,
                "severity": "critical" if threshold >= 100 else "warning",
                "budget": b.name,
                "threshold": str(threshold),
                **{k: v for k, v in b.scope.items() if v},
            },
            annotations={
                "summary": f"Budget {b.name} at {pct:.1f}% of its cap ({cap}) for {scope}: threshold {threshold}% crossed.",
                "description": f"Spent ${b.spent_usd:,.2f} and {b.spent_tokens:,} tokens this period.",
                "budget_url": f"{self.public_url}/finops/budgets/{b.id}",
            },
            now=now,
            public_url=self.public_url,
        )

    @staticmethod
    def _budget_alerts(s: Session, b: Budget) -> list[Alert]:
        return list(
            s.exec(
                select(Alert).where(
                    Alert.tenant_id == b.tenant_id,
                    col(Alert.fingerprint).startswith(f"budget:{b.id}:"),
                    Alert.state == "firing",
                )
            ).all()
        )

    def _publish_gateway(self) -> None:
        from maestro.gateway.store import publish_from_sql

        try:
            publish_from_sql(self.engine, self.redis)
        except Exception as exc:  # retried: the gateway must learn a freeze
            raise ApplicationError(f"gateway snapshot not published: {exc}", type="GatewayPublish") from exc

    def _publish(self, b: Budget, notes: list[tuple[str, BudgetNote]], fired: list[Alert], resolved: list[Alert]) -> None:
        try:
            for kind, note in notes:
                if kind:
                    publish_budget_event(self.redis, kind, b, note, self.settings.stream_maxlen)
            for a in fired:
                publish_alert(self.redis, "alert_fired", a, maxlen=self.settings.stream_maxlen)
            for a in resolved:
                publish_alert(self.redis, "alert_resolved", a, maxlen=self.settings.stream_maxlen)
        except Exception:
            log.warning("budget events not published (they are in SQL)", exc_info=True)

    @activity.defn(name="budget_downgrade")
    def budget_downgrade(self, inp: DowngradeInput) -> None:
        """Switch the budget's routing classes to their cheaper path (or back), as the routing API's switch does."""
        changed: list[RoutingClass] = []
        with Session(self.engine, expire_on_commit=False) as s:
            publish_audit_with(s, audit_publisher(self.redis, self.settings.stream_maxlen))
            b = s.get(Budget, inp.budget_id)
            tenant = b.tenant_id if b else ""
            for name in inp.classes:
                c = s.get(RoutingClass, name)
                if c is None or not c.spec.get("downgradeTo"):
                    log.warning("budget %s: class %s is gone or has no downgrade path", inp.budget_id, name)
                    continue
                if c.downgraded == inp.on:
                    continue
                c.downgraded, c.downgrade_reason = (
                    inp.on,
                    (f"budget {b.name if b else inp.budget_id}: {inp.reason}"[:500] if inp.on else None),
                )
                s.add(c)
                append_audit(
                    s,
                    actor=inp.actor,
                    action="routing.class.downgrade",
                    target_type="routing_class",
                    target_id=name,
                    change={"downgraded": inp.on, "reason": inp.reason, "budget": inp.budget_id},
                )
                changed.append(c)
            s.commit()
        if not inp.classes:
            return
        self._publish_gateway()  # also when a previous attempt switched the classes and then failed to publish
        for c in changed:
            target = c.spec.get("downgradeTo") or ""
            env = make_envelope(
                type="routing_downgraded" if inp.on else "routing_restored",
                entity="routing_class",
                payload=RoutingEventPayload(
                    route_class=c.name,
                    provider=target.split("/", 1)[0],
                    model=target.split("/", 1)[-1],
                    message=inp.reason[:300],
                    actor=inp.actor,
                ),
                tenant=tenant,
            )
            try:
                add(self.redis, "routing", env, maxlen=10_000)
            except Exception:
                log.warning("routing event not published", exc_info=True)

    @activity.defn(name="budget_close_period")
    def budget_close_period(self, inp: ClosePeriodInput) -> NextPeriod:
        """Record the period's summary (once: a retry reuses it), resolve its alerts, lift what its spend
        triggered, then tell finance (at least once, with an idempotency id)."""
        start, end = datetime.fromisoformat(inp.period_start), datetime.fromisoformat(inp.period_end)
        dedupe = f"close:{inp.period_start}"
        resolved: list[Alert] = []
        with Session(self.engine, expire_on_commit=False) as s:
            publish_audit_with(s, audit_publisher(self.redis, self.settings.stream_maxlen))
            b = s.get(Budget, inp.budget_id)
            if b is None:
                raise ApplicationError(f"budget {inp.budget_id} no longer exists", type="BudgetMissing", non_retryable=True)
            nxt_start, nxt_end = end, period_bounds(b.period, end)[1]  # calendar periods: end is the next start
            event = s.exec(select(BudgetEvent).where(BudgetEvent.budget_id == b.id, BudgetEvent.dedupe == dedupe)).first()
            if event is None:
                usd, tokens = ledger.consumed(s, tenant_id=b.tenant_id, scope=dict(b.scope), start=start, end=end)
                summary = {
                    "budget": b.name,
                    "budgetId": b.id,
                    "tenant": b.tenant_id,
                    "scope": dict(b.scope),
                    "tier": b.tier,
                    "period": b.period,
                    "periodStart": inp.period_start,
                    "periodEnd": inp.period_end,
                    "spentUsd": round(usd, 6),
                    "tokens": tokens,
                    "capUsd": b.cap_usd,
                    "capTokens": b.cap_tokens,
                    "percent": round(utilisation(cap_usd=b.cap_usd, cap_tokens=b.cap_tokens, usd=usd, tokens=tokens), 2),
                    "wasFrozen": b.frozen,
                    "thresholdsFired": list(b.fired_thresholds),
                }
                reason = f"period {inp.period_start[:10]} to {inp.period_end[:10]} closed"
                event = BudgetEvent(
                    budget_id=b.id,
                    kind="period-closed",
                    actor="budget:period",
                    reason=reason,
                    detail={**summary, "webhook": "pending"},
                    dedupe=dedupe,
                )
                s.add(event)
                append_audit(
                    s,
                    actor=f"budget:{b.name}",
                    action="budget.period-closed",
                    target_type="budget",
                    target_id=b.id,
                    change=summary,
                )
                now = utcnow()
                for a in self._budget_alerts(s, b):
                    resolve_alert(a, now, "a new budget period started")
                    s.add(a)
                    resolved.append(a)
                if not inp.keep_freeze:
                    b.frozen, b.frozen_by, b.frozen_reason, b.frozen_at = False, "", "", None
                b.slowed, b.downgraded, b.fired_thresholds, b.state = False, False, [], "ok"
                b.spent_usd, b.spent_tokens, b.burn_per_hour, b.cap_eta, b.forecast_total = 0.0, 0, 0.0, None, None
                b.period_start, b.period_end, b.updated_at = nxt_start, nxt_end, now
                b.projected_seq = max(b.projected_seq, inp.seq)
                s.add(b)
                s.commit()
            summary = {k: v for k, v in event.detail.items() if k != "webhook"}
            note = BudgetNote(kind="period-closed", actor=event.actor, reason=event.reason, detail=summary)
        if inp.gated:
            self._publish_gateway()
        self._publish(b, [("budget_period_closed", note)], [], resolved)
        if event.detail.get("webhook") == "pending":
            delivery = self._finance_webhook(summary)
            with Session(self.engine) as s:
                ev = s.get(BudgetEvent, event.id)
                if ev is not None:
                    ev.detail = {**ev.detail, "webhook": delivery}
                    s.add(ev)
                    s.commit()
        return NextPeriod(period_start=nxt_start.isoformat(), period_end=nxt_end.isoformat())

    def _finance_webhook(self, summary: dict[str, Any]) -> str:
        """POST the period summary to finance, signed (HMAC-SHA256 over ``<timestamp>.<body>``)."""
        url = self.settings.finance_webhook_url
        if not url:
            return "no finance webhook configured"
        body = json.dumps({"type": "budget_period_closed", "data": summary}, sort_keys=True).encode()
        ts = str(int(time.time()))
        assert self.settings.finance_webhook_secret is not None  # the settings refuse a URL without it
        secret = self.settings.finance_webhook_secret.get_secret_value().encode()
        sig = hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        headers = {
            "content-type": "application/json",
            "x-maestro-event": "budget_period_closed",
            "x-maestro-delivery": f"{summary['budgetId']}:{summary['periodStart']}",  # the same on a redelivery
            "x-maestro-timestamp": ts,
            "x-maestro-signature": f"sha256={sig}",
        }
        last = ""
        for attempt in range(3):
            try:
                r = httpx.post(url, content=body, headers=headers, timeout=10)
                if r.status_code < 300:
                    return f"delivered ({r.status_code}) at {datetime.now(UTC).isoformat(timespec='seconds')}"
                last = f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                last = str(exc)
            time.sleep(0.5 * (attempt + 1))
        return f"not delivered after 3 attempts: {last}"[:300]

"""RolloutWorkflow's activities: routes, measurements, the projection and its events, the policy gate."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import httpx
from redis import Redis
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio import activity

from maestro.activities.supply import promote_input
from maestro.artifacts import make_store
from maestro.config import Settings
from maestro.domain.auditlog import append_audit, publish_audit_with
from maestro.domain.rollouts import Rollout
from maestro.domain.runs import Alert, Run
from maestro.domain.types import utcnow
from maestro.edge import routes as edge
from maestro.events.payloads import AnalysisRecord, RolloutEventPayload, RolloutHistoryEntry
from maestro.events.streams import audit_publisher, emit
from maestro.observability import alerts as alertmod
from maestro.policy import service as polsvc
from maestro.rollouts import providers
from maestro.rollouts.types import (
    ApplyInput,
    GateRolloutInput,
    GateRolloutResult,
    MeasureInput,
    Measurement,
    ProjectInput,
    RolledBackInput,
    StuckInput,
)
from maestro.states import RolloutStatus, rollout_transition


def rollout_payload(
    r: Rollout, *, history: dict[str, Any] | None = None, analysis: dict[str, Any] | None = None
) -> RolloutEventPayload:
    return RolloutEventPayload(
        id=r.id,
        service=r.service,
        env=r.env,
        status=RolloutStatus(r.status),
        step_index=r.step_index,
        steps=len(r.steps),
        weight=r.weight,
        message=r.message,
        run_id=r.run_id,
        history=RolloutHistoryEntry.model_validate(history) if history is not None else None,
        analysis=AnalysisRecord.model_validate(analysis) if analysis is not None else None,
    )


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text


class RolloutActivities:
    def __init__(self, *, engine: Engine, redis: Redis, settings: Settings) -> None:
        self.engine = engine
        self.redis = redis
        self.settings = settings

    @activity.defn(name="rollout_apply")
    def apply(self, inp: ApplyInput) -> None:
        """Set the route (absolute, so a retried or replayed call changes nothing twice): the desired
        route in Redis (what the built-in edge serves and the API shows), then the service's provider."""
        try:
            old = edge.get(self.redis, inp.service)
        except Exception as exc:
            raise providers.ProviderUnavailable(f"Redis (routing state): {exc}") from exc
        route = edge.Route(
            service=inp.service,
            stable=inp.stable_url,
            canary=inp.canary_url,
            weight=inp.weight if inp.canary_url else 0,
            sticky=inp.sticky,
            rollout_id=inp.rollout_id if inp.canary_url else None,
            revision=(old.revision + 1) if old else 1,
            provider=inp.provider,
            provider_config=inp.provider_config,
            owner=inp.rollout_id if inp.seq else None,
            seq=inp.seq,
        )
        try:
            written = edge.put_if_newer(self.redis, route)
        except Exception as exc:
            raise providers.ProviderUnavailable(f"Redis (routing state): {exc}") from exc
        if not written:
            activity.logger.warning(
                "rollout %s: application %d is stale (a later one was written): skipped", inp.rollout_id, inp.seq
            )
            return
        if inp.provider != "edge":  # the edge serves the route in Redis; the others are told (and re-told by the sync loop)
            providers.provider_for(route, redis=self.redis, settings=self.settings).apply(route)

    @activity.defn(name="rollout_measure")
    def measure(self, inp: MeasureInput) -> Measurement:
        """One measurement. Never raises for the metrics source: an answer that cannot be had (Prometheus
        or the provider down, a query error, no data) is an inconclusive measurement saying why."""
        try:
            return self._measure(inp)
        except Exception as exc:
            activity.logger.warning("rollout measurement of %s failed", inp.service, exc_info=True)
            return Measurement(None, 0, f"measurement failed: {_reason(exc)}"[:500])

    def _measure(self, inp: MeasureInput) -> Measurement:
        a = inp.analysis
        if a.provider == "prometheus":
            return self._prometheus(a.query)
        route = edge.Route(service=inp.service, stable="", provider=inp.provider, provider_config=inp.provider_config)
        w = providers.provider_for(route, redis=self.redis, settings=self.settings).window("canary", inp.window_s)
        if w.requests < a.min_requests:
            return Measurement(None, w.requests, f"{w.requests} canary requests in {inp.window_s:g}s (needs {a.min_requests})")
        if a.metric == "latency_p95_ms":
            v = w.latency_quantile(0.95)
            return Measurement(v, w.requests, f"p95 {v} ms over {w.requests} canary requests")
        rate = w.error_rate or 0.0
        return Measurement(rate, w.requests, f"{w.errors} errors in {w.requests} canary requests ({rate:.1%})")

    def _prometheus(self, query: str) -> Measurement:
        if not self.settings.prometheus_url:
            return Measurement(None, 0, "MAESTRO_PROMETHEUS_URL is not set: no Prometheus to ask")
        r = httpx.get(f"{self.settings.prometheus_url.rstrip('/')}/api/v1/query", params={"query": query}, timeout=10)
        if r.status_code != 200:
            return Measurement(None, 0, f"prometheus answered {r.status_code}: {r.text[:200]}")
        body = r.json()
        result = body.get("data", {}).get("result") if isinstance(body, dict) else None
        if not result:
            return Measurement(None, 0, f"no data for {query}")
        value = float(result[0]["value"][1])
        if value != value:  # NaN: e.g. 0/0 when no requests came
            return Measurement(None, 0, f"{query} is NaN (no traffic in the window?)")
        return Measurement(value, 0, f"prometheus: {query}")

    @activity.defn(name="rollout_project")
    def project(self, inp: ProjectInput) -> None:
        now = utcnow()
        # the records the workflow made must be what the API and the stream publish: check them before anything changes
        if inp.history is not None:
            RolloutHistoryEntry.model_validate(inp.history)
        if inp.analysis is not None:
            AnalysisRecord.model_validate(inp.analysis)
        with Session(self.engine) as s:
            r = s.get(Rollout, inp.rollout_id)
            if r is None:
                return
            if inp.seq and r.projected_seq >= inp.seq:  # a retry of a projection that committed: applied once
                activity.logger.info("rollout %s: projection %d was already applied", r.id, inp.seq)
                return
            if not rollout_transition(r.status, inp.status):  # never move a finished rollout
                activity.logger.warning("rollout %s is %s: a late %s update was ignored", r.id, r.status, inp.status)
                return
            r.status, r.step_index, r.weight, r.updated_at = inp.status, inp.step_index, inp.weight, now
            r.projected_seq = max(r.projected_seq, inp.seq)
            if inp.message:
                r.message = inp.message[:2000]
            if inp.history is not None:
                r.history = [*r.history, inp.history]
            if inp.analysis is not None:
                r.analyses = [*r.analyses, inp.analysis]
            if inp.weight_changed or not r.weights:
                r.weights = [*r.weights, {"at": now.isoformat(), "weight": inp.weight}]
            if inp.finished:
                r.finished_at = now
            if inp.snapshot:  # readers never see the finished rollout without its snapshot
                r.snapshot_sha256 = self._snapshot(r)
            s.add(r)
            if inp.audit is not None:  # a control the API did not see (Temporal CLI, analysis): audited with it
                publish_audit_with(s, audit_publisher(self.redis, self.settings.stream_maxlen))
                rec = inp.audit
                append_audit(
                    s, actor=rec["actor"], action=rec["action"], target_type="rollout", target_id=r.id, change=rec["change"]
                )
            resolved = []
            if inp.finished and inp.status == "succeeded":  # a good rollout of the service ends earlier rollback alerts
                for a in s.exec(
                    select(Alert).where(
                        Alert.tenant_id == r.tenant_id, Alert.name == "RolloutRolledBack", Alert.state == "firing"
                    )
                ).all():
                    if a.labels.get("service") == r.service:
                        alertmod.resolve_alert(a, now, f"rollout {r.id} of {r.service} promoted to 100%")
                        s.add(a)
                        resolved.append(a)
            payload = rollout_payload(r, history=inp.history, analysis=inp.analysis)
            tenant, env = r.tenant_id, r.env
            s.commit()
            # Committed: a retry would append the history, measurement and audit record again, so the
            # events (best effort: the state is in SQL and the UI refetches) never fail the activity.
            try:
                for a in resolved:  # (read in this session: the alerts reload their committed state)
                    alertmod.publish_alert(self.redis, "alert_resolved", a, maxlen=self.settings.stream_maxlen)
                emit(
                    self.redis,
                    "rollouts",
                    inp.event,
                    entity="rollout",
                    id=inp.rollout_id,
                    payload=payload,
                    tenant=tenant,
                    env=env,
                    maxlen=self.settings.stream_maxlen,
                )
            except Exception:
                activity.logger.warning("rollout event publish failed", exc_info=True)

    def _snapshot(self, r: Rollout) -> str:
        """Store the rollout as it stands as a JSON artifact; returns its sha256."""
        snapshot = json.dumps(r.model_dump(mode="json"), indent=2, sort_keys=True).encode()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "rollout.json"
            path.write_bytes(snapshot)
            sha, _ = make_store(self.settings).put_file(path)
        return sha

    def _fire(self, s: Session, r: Rollout, fingerprint: str, name: str, severity: str, summary: str) -> tuple[Alert, bool]:
        """Fire (or keep firing) one of a rollout's alerts; returns (alert, newly fired)."""
        return alertmod.upsert_alert(
            s,
            tenant_id=r.tenant_id,
            fingerprint=fingerprint,
            name=name,
            severity=severity,
            labels={"alertname": name, "service": r.service, "env": r.env, "severity": severity, "source": "maestro"},
            annotations={
                "summary": summary,
                "rollout_url": f"{self.settings.effective_public_url.rstrip('/')}/rollouts/{r.id}",
                "rolloutId": r.id,
                **({"runId": r.run_id} if r.run_id else {}),
            },
            now=utcnow(),
            public_url=self.settings.effective_public_url,
        )

    @activity.defn(name="rollout_rolled_back")
    def rolled_back(self, inp: RolledBackInput) -> None:
        """Fire the rollback alert (the projection already kept the evidence snapshot)."""
        with Session(self.engine, expire_on_commit=False) as s:
            r = s.get(Rollout, inp.rollout_id)
            if r is None:
                return
            if not r.snapshot_sha256:  # workflows started before the projection took the snapshot
                r.snapshot_sha256 = self._snapshot(r)
                s.add(r)
            alert, fired = self._fire(
                s,
                r,
                f"rollout:{r.id}",
                "RolloutRolledBack",
                "ticket",
                f"Rollout of {r.service} in {r.env} rolled back: {inp.reason}",
            )
            s.commit()
        if fired:
            alertmod.publish_alert(self.redis, "alert_fired", alert, maxlen=self.settings.stream_maxlen)

    @activity.defn(name="rollout_stuck")
    def stuck(self, inp: StuckInput) -> None:
        """RolloutStuck: traffic could not be moved back to stable (fired), or finally was (resolved)."""
        with Session(self.engine, expire_on_commit=False) as s:
            r = s.get(Rollout, inp.rollout_id)
            if r is None:
                return
            now = utcnow()
            fingerprint = f"rollout-stuck:{r.id}"
            alert: Alert | None
            if inp.stuck:
                summary = f"Rollout of {r.service} in {r.env} cannot move traffic back to stable: {inp.reason}"
                alert, changed = self._fire(s, r, fingerprint, "RolloutStuck", "page", summary)
                kind = "alert_fired"
            else:
                alert = s.exec(select(Alert).where(Alert.tenant_id == r.tenant_id, Alert.fingerprint == fingerprint)).first()
                changed = alert is not None and alert.state == "firing"
                if alert is not None and changed:
                    alertmod.resolve_alert(alert, now, inp.reason)
                    s.add(alert)
                kind = "alert_resolved"
            s.commit()
        if changed and alert is not None:
            try:
                alertmod.publish_alert(self.redis, kind, alert, maxlen=self.settings.stream_maxlen)
            except Exception:  # committed: the alert is in SQL and pushed by the evaluator; the event is best effort
                activity.logger.warning("RolloutStuck event publish failed", exc_info=True)

    @activity.defn(name="rollout_gate")
    def gate(self, inp: GateRolloutInput) -> GateRolloutResult:
        with Session(self.engine) as s:
            r = s.get(Rollout, inp.rollout_id)
            assert r is not None
            run = s.get(Run, r.run_id) if r.run_id else None
            doc: dict[str, Any] = (
                promote_input(s, self.settings, run, r.env)
                if run is not None
                else {"point": "promote", "env": r.env, "artifacts": [], "service": r.service}
            )
            doc["service"], doc["rollout"] = r.service, {"id": r.id, "weight": r.weight, "step": r.step_index}
            tenant_id = r.tenant_id

        res = polsvc.gate(
            self.engine,
            tenant_id=tenant_id,
            point="promote",
            input_doc=doc,
            subject=f"rollout {inp.rollout_id} of {doc['service']} → {doc['env']}",
            actor=inp.by,
            timeout_s=self.settings.policy_timeout_ms / 1000,
            redis=self.redis,
            stream_maxlen=self.settings.stream_maxlen,
        )
        return GateRolloutResult(allowed=res.allowed, reasons=res.reasons, decision_id=res.batch_id)

"""EvidenceWorkflow's activities: fire the synthetic alert, then build, seal and store the bundle."""

from __future__ import annotations

import secrets

from redis import Redis
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from maestro.config import Settings
from maestro.domain.supply import EvidenceBundle
from maestro.domain.types import utcnow
from maestro.observability import alerts as alertmod
from maestro.shared import BuildEvidenceInput, EvidenceFailedInput, EvidenceInput
from maestro.supply.evidence import STAGES, Builder


class EvidenceActivities:
    def __init__(self, *, engine: Engine, redis: Redis, settings: Settings) -> None:
        self.engine = engine
        self.redis = redis
        self.settings = settings

    def _update(self, bundle_id: str, **fields: object) -> None:
        with Session(self.engine) as s:
            b = s.get(EvidenceBundle, bundle_id)
            if b is not None:
                for k, v in fields.items():
                    setattr(b, k, v)
                s.add(b)
                s.commit()

    @activity.defn(name="evidence_fire_alert")
    def fire_alert(self, inp: EvidenceInput | str) -> str:
        """A synthetic alert through the same path as real ones; the build observes its arrival.

        A bare bundle id is this activity's input as scheduled before EvidenceInput (a task still in
        flight, or retried, across the upgrade)."""
        bundle_id = inp if isinstance(inp, str) else inp.bundle_id
        with Session(self.engine) as s:
            b = s.get(EvidenceBundle, bundle_id)
            assert b is not None
            tenant_id = b.tenant_id
        self._update(bundle_id, status="running", stage="synthetic alert", done=0, total=len(STAGES))
        nonce = f"evidence-{bundle_id[:12]}-{secrets.token_hex(4)}"
        a = alertmod.synthetic(
            self.engine,
            tenant_id=tenant_id,
            nonce=nonce,
            actor=f"evidence {bundle_id}",
            public_url=self.settings.effective_public_url,
        )
        alertmod.publish_alert(self.redis, "alert_fired", a, maxlen=self.settings.stream_maxlen)
        return nonce

    @activity.defn(name="evidence_build")
    def build(self, inp: BuildEvidenceInput) -> str:
        bundle_id = inp.bundle_id

        def progress(stage: str, done: int) -> None:
            self._update(bundle_id, stage=stage, done=done, total=len(STAGES))
            activity.heartbeat(done)

        b = Builder(engine=self.engine, settings=self.settings, redis=self.redis, bundle_id=bundle_id, progress=progress)
        sha, size, keyid = b.build(inp.nonce)
        self._update(
            bundle_id,
            status="succeeded",
            stage="done",
            done=len(STAGES),
            sha256=sha,
            size=size,
            keyid=keyid,
            summary=b.summary,
            finished_at=utcnow(),
        )
        return sha

    @activity.defn(name="evidence_failed")
    def failed(self, inp: EvidenceFailedInput) -> None:
        self._update(inp.bundle_id, status="failed", error=inp.error[:2000], finished_at=utcnow())

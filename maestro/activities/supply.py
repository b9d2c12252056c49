"""Control-plane activities that use the instance signing key (runners never hold it)."""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio import activity

from maestro.config import Settings
from maestro.shared import AttestInput, SignedArtifact, SignInput
from maestro.supply import provenance


class SupplyActivities:
    def __init__(self, *, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    @activity.defn(name="attest_run")
    def attest_run(self, inp: AttestInput) -> str:
        return provenance.attest_run(self.engine, self.settings, inp.run_id, finished_at=inp.finished_at)

    @activity.defn(name="sign_artifacts")
    def sign_artifacts(self, inp: SignInput) -> list[SignedArtifact]:
        signed = provenance.sign_artifacts(self.engine, self.settings, inp.run_id, inp.patterns)
        return [SignedArtifact(path=a["path"], sha256=a["sha256"], signature=a["signature"]) for a in signed]

"""Witness bundles: every file describing a run, a manifest of their digests signed as DSSE, the public key.

Layout of the zip (all listed in manifest.json except the manifest and its signature):

    manifest.json              {bundleVersion, bundleId, runId, createdAt, keyid, files: {path: {sha256, size}}}
    manifest.json.dsse.json    DSSE envelope whose payload is manifest.json, signed by the instance key
    public-key.pem             the key that signed it (verify with --key to pin the expected one)
    README.txt, run.json, steps.json, artifacts.json, verification.json, slo.json
    attestations/provenance.dsse.json, attestations/signatures.json
    sbom/sbom.cdx.json, sbom/diff.json
    policies/index.json, policies/<name>@r<revision>.rego, policies/decisions.json, policies/deny-test.json
    rollouts.json              the run's rollouts: steps, weights over time, analyses, history
    alerts/synthetic.json
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from redis import Redis
from sqlalchemy import Engine, or_
from sqlmodel import Session, col, select

from maestro import __version__
from maestro.artifacts import make_store
from maestro.config import Settings
from maestro.domain.rollouts import Rollout
from maestro.domain.runs import Alert, Artifact, PipelineVersion, Run, StepRun
from maestro.domain.supply import DENY_TEST_ACTOR, Attestation, EvidenceBundle, Policy, PolicyDecision
from maestro.domain.types import utcnow
from maestro.events.streams import stream_key
from maestro.observability import alerts as alertmod
from maestro.observability import slo as slomod
from maestro.policy import service as polsvc
from maestro.supply import keys as keymod
from maestro.supply import provenance, runsbom
from maestro.supply.signing import sign_payload

MANIFEST = "manifest.json"
MANIFEST_SIG = "manifest.json.dsse.json"
PUBLIC_KEY = "public-key.pem"
MANIFEST_TYPE = "application/vnd.maestro.evidence-manifest+json"
STAGES = [
    "run record",
    "artifacts",
    "attestations",
    "sbom",
    "policies",
    "deny test",
    "synthetic alert",
    "slo snapshot",
    "seal",
]
# a promotion every sane policy set refuses: unsigned artifact, no SBOM, production
DENY_TEST_INPUT: dict[str, Any] = {
    "point": "promote",
    "env": "production",
    "pipeline": "evidence-deny-test",
    "artifacts": [{"path": "evidence-deny-test.bin", "sha256": "0" * 64, "size": 0, "signed": False}],
}
README = """Maestro witness bundle

Verify offline (no Maestro server needed):

    maestro evidence verify this-bundle.zip --key maestro.pub

--key pins the public key you expect (GET /api/keys/<keyid>.pem on the Maestro that built it);
without it the bundled public-key.pem is used, which proves integrity but not who signed.
Every file is listed with its sha256 in manifest.json; manifest.json is signed (DSSE) in
manifest.json.dsse.json. Changing any byte of any file makes verification fail and names the file.
"""


def _dump(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode()


@dataclass
class Builder:
    engine: Engine
    settings: Settings
    redis: Redis
    bundle_id: str
    progress: Callable[[str, int], None] = lambda stage, done: None
    files: dict[str, bytes] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    def add(self, path: str, data: bytes | dict[str, Any] | list[Any]) -> None:
        self.files[path] = data if isinstance(data, bytes) else _dump(data)

    def build(self, nonce: str) -> tuple[str, int, str]:
        """Collect, seal, store; returns (sha256, size, keyid) of the zip."""
        store = make_store(self.settings)
        key = keymod.instance_key(self.settings, self.engine)
        problems: list[str] = []
        with Session(self.engine) as s:
            b = s.get(EvidenceBundle, self.bundle_id)
            assert b is not None
            run = s.get(Run, b.run_id)
            assert run is not None
            tenant_id = b.tenant_id

            self.progress(STAGES[0], 0)
            version = s.get(PipelineVersion, run.version_id)
            self.add("run.json", {**run.model_dump(mode="json"), "specSource": version.source_text if version else None})
            steps = s.exec(
                select(StepRun).where(StepRun.run_id == run.id).order_by(col(StepRun.position), col(StepRun.key))
            ).all()
            self.add("steps.json", [st.model_dump(mode="json") for st in steps])

            self.progress(STAGES[1], 1)
            rows = []
            for a in s.exec(select(Artifact).where(Artifact.run_id == run.id).order_by(col(Artifact.path))).all():
                entry: dict[str, Any] = {"path": a.path, "step": a.step_key, "sha256": a.sha256, "size": a.size}
                try:
                    path = store.verified_path(a.sha256)  # re-hashes the stored bytes; raises when they differ
                    if store.temporary_downloads:
                        path.unlink(missing_ok=True)
                    entry |= {"rehashed": a.sha256, "match": True}
                except Exception as exc:  # missing or corrupted bytes: recorded, not hidden
                    entry |= {"rehashed": None, "match": False, "error": str(exc)[:500]}
                    problems.append(f"artifact {a.path}: {exc}")
                rows.append(entry)
            self.add("artifacts.json", rows)
            self.summary |= {"artifacts": len(rows), "artifactsMatching": sum(1 for r in rows if r["match"])}

            self.progress(STAGES[2], 2)
            v = provenance.verify_run(s, run.id, store)
            prov = s.exec(select(Attestation).where(Attestation.run_id == run.id, Attestation.kind == "provenance")).first()
            if prov is not None:
                self.add("attestations/provenance.dsse.json", prov.envelope)
            sigs = [
                {
                    "path": x["path"],
                    "sha256": x["sha256"],
                    "keyid": x["keyid"],
                    "signature": x["signature"],
                    "verified": x["verified"],
                }
                for x in v.signatures
            ]
            self.add("attestations/signatures.json", sigs)
            self.add(
                "verification.json",
                {
                    "slsaLevel": v.slsa_level,
                    "provenance": {k: val for k, val in (v.provenance or {}).items() if k != "statement"} or None,
                    "signatures": sigs,
                    "problems": v.problems,
                    "checkedAt": utcnow().isoformat(),
                },
            )
            problems += v.problems
            self.summary |= {
                "slsaLevel": v.slsa_level,
                "provenanceVerified": bool(v.provenance and v.provenance.get("verified")),
                "signatures": len(sigs),
                "signaturesVerified": sum(1 for x in sigs if x["verified"]),
            }

            self.progress(STAGES[3], 3)
            sb = runsbom.sbom_artifact(s, run.id)
            if sb is not None:
                try:
                    doc = runsbom.read_json(store, sb)
                    base_id, d = runsbom.diff_for(s, store, run, doc)
                    self.add("sbom/sbom.cdx.json", doc)
                    self.add("sbom/diff.json", {"runId": run.id, "baseRunId": base_id, **d})
                    self.summary |= {
                        "sbomComponents": len(doc.get("components", [])),
                        "sbomChanges": sum(len(x) for x in d.values()),
                    }
                except Exception as exc:
                    problems.append(f"sbom: {exc}")

            self.progress(STAGES[4], 4)
            index = []
            for p in s.exec(select(Policy).where(Policy.tenant_id == tenant_id).order_by(col(Policy.name))).all():
                rev = polsvc.active_source(s, p)
                name = f"policies/{p.name}@r{rev.revision}.rego"
                self.add(name, rev.source.encode())
                index.append(
                    {
                        "name": p.name,
                        "revision": rev.revision,
                        "sha256": rev.sha256,
                        "package": rev.package,
                        "points": p.points,
                        "enabled": p.enabled,
                        "file": name,
                    }
                )
            self.add("policies/index.json", index)
            decisions = s.exec(
                select(PolicyDecision)
                .where(
                    PolicyDecision.tenant_id == tenant_id,
                    or_(
                        col(PolicyDecision.subject).contains(run.id),
                        col(PolicyDecision.subject) == f"pipeline {run.pipeline_name}",
                        col(PolicyDecision.subject).startswith(f"run of {run.pipeline_name} v{run.version} "),
                    ),
                )
                .order_by(col(PolicyDecision.created_at))
                .limit(500)
            ).all()
            self.add("policies/decisions.json", [d.model_dump(mode="json") for d in decisions])
            self.summary |= {"policies": len(index), "decisions": len(decisions)}
            # rollouts of this run: steps, weights over time, analysis results, who did what
            rollouts = s.exec(select(Rollout).where(Rollout.run_id == run.id).order_by(col(Rollout.created_at))).all()
            self.add("rollouts.json", [r.model_dump(mode="json") for r in rollouts])
            self.summary["rollouts"] = len(rollouts)

        self.progress(STAGES[5], 5)
        deny = polsvc.gate(
            self.engine,
            tenant_id=tenant_id,
            point="promote",
            input_doc=DENY_TEST_INPUT,
            subject=f"evidence {self.bundle_id} deny test",
            actor=DENY_TEST_ACTOR,
            timeout_s=self.settings.policy_timeout_ms / 1000,
        )
        self.add(
            "policies/deny-test.json",
            {
                "input": DENY_TEST_INPUT,
                "denied": not deny.allowed,
                "decisionId": deny.batch_id,
                "reasons": deny.reasons,
                "decisions": [d.model_dump(mode="json") for d in deny.decisions],
            },
        )
        if deny.allowed:
            problems.append("deny test: the active promote policies allowed a known-bad promotion")
        self.summary |= {"denyTestDenied": not deny.allowed, "denyTestReasons": deny.reasons}

        self.progress(STAGES[6], 6)
        observed = self.observe_synthetic(tenant_id, nonce)
        self.add("alerts/synthetic.json", observed)
        if not observed["observed"]:
            problems.append("synthetic alert: fired but not observed arriving")
        self.summary |= {"syntheticAlertObserved": observed["observed"], "syntheticAlertVia": observed["via"]}
        self.resolve_synthetic(tenant_id, nonce)

        self.progress(STAGES[7], 7)
        with Session(self.engine) as s:
            snapshot = []
            for slo in slomod.all_slos(s, tenant_id):
                st = slomod.evaluate(s, slo, tenant_id)
                snapshot.append(
                    {
                        "id": slo.id,
                        "name": slo.name,
                        "sli": slo.sli,
                        "objective": slo.objective,
                        "windowDays": slo.window_days,
                        "current": st.sli,
                        "good": st.good,
                        "total": st.total,
                        "errorBudgetRemaining": st.error_budget_remaining,
                        "burnRates": st.burn_rates,
                    }
                )
        self.add("slo.json", {"takenAt": utcnow().isoformat(), "slos": snapshot})
        self.summary |= {"slos": len(snapshot), "problems": problems}

        self.progress(STAGES[8], 8)
        self.add("README.txt", README.encode())
        self.add(PUBLIC_KEY, key.public_pem.encode())
        manifest = {
            "bundleVersion": 1,
            "bundleId": self.bundle_id,
            "runId": run.id,
            "createdAt": utcnow().isoformat(),
            "maestroVersion": __version__,
            "keyid": key.keyid,
            "files": {p: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for p, d in sorted(self.files.items())},
        }
        manifest_bytes = _dump(manifest)
        envelope = sign_payload(key, manifest_bytes, MANIFEST_TYPE)
        self.summary["files"] = len(self.files)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr(MANIFEST, manifest_bytes)
            z.writestr(MANIFEST_SIG, _dump(envelope))
            for name, data in sorted(self.files.items()):
                z.writestr(name, data)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "bundle.zip"
            out.write_bytes(buf.getvalue())
            sha, size = store.put_file(out)
        return sha, size, key.keyid

    def resolve_synthetic(self, tenant_id: str, nonce: str) -> None:
        """The synthetic alert has done its job once observed: resolve it, so it does not linger among real ones."""
        now = utcnow()
        with Session(self.engine, expire_on_commit=False) as s:
            fp = f"synthetic:{nonce}"
            stmt = select(Alert).where(Alert.tenant_id == tenant_id, Alert.fingerprint == fp, Alert.state == "firing")
            alert = s.exec(stmt).first()
            if alert is None:
                return
            alertmod.resolve_alert(alert, now, "the evidence bundle observed it, so the pipeline delivers")
            s.add(alert)
            s.commit()
        alertmod.publish_alert(self.redis, "alert_resolved", alert, maxlen=self.settings.stream_maxlen)

    def observe_synthetic(self, tenant_id: str, nonce: str) -> dict[str, Any]:
        """Did the synthetic alert arrive? On the alerts stream, and in Alertmanager when one is configured."""
        via: list[str] = []
        event_id = None
        entries: Any = self.redis.xrevrange(stream_key("alerts"), count=2000)
        for sid, fields in entries:
            try:
                env = json.loads(fields[b"e"])
            except (KeyError, ValueError):
                continue
            if env.get("type") == "alert_fired" and (env.get("payload") or {}).get("labels", {}).get("nonce") == nonce:
                event_id = sid.decode() if isinstance(sid, bytes) else str(sid)
                via.append("stream")
                break
        with Session(self.engine) as s:
            alert = s.exec(select(Alert).where(Alert.tenant_id == tenant_id, Alert.fingerprint == f"synthetic:{nonce}")).first()
        am: list[dict[str, Any]] = []
        if self.settings.alertmanager_url:
            try:
                r = httpx.get(
                    f"{self.settings.alertmanager_url.rstrip('/')}/api/v2/alerts",
                    params=[("filter", f'nonce="{nonce}"')],
                    timeout=5,
                )
                am = r.json() if r.status_code == 200 else []
                if am:
                    via.append("alertmanager")
            except (httpx.HTTPError, ValueError):
                am = []
        return {
            "nonce": nonce,
            "observed": bool(via),
            "via": via,
            "streamEventId": event_id,
            "alert": None
            if alert is None
            else {
                "id": alert.id,
                "fingerprint": alert.fingerprint,
                "state": alert.state,
                "startsAt": alert.starts_at.isoformat(),
                "notifyStatus": alert.notify_status,
                "labels": alert.labels,
            },
            "alertmanager": am,
            "checkedAt": utcnow().isoformat(),
        }

"""Witness bundles: built by EvidenceWorkflow, downloadable, verifiable offline; any changed byte is named."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from maestro.supply.evidence import PUBLIC_KEY
from maestro.supply.verify import verify_bundle
from tests.factories import Caller, login
from tests.test_runs import register, start, wait_run
from tests.test_supply import SPEC, _git, _lock


@pytest.fixture
def caller(client: TestClient, workers) -> Caller:  # type: ignore[no-untyped-def]
    return login(client)


def wait_bundle(caller: Caller, bundle_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    while time.monotonic() < deadline:
        b = caller.get(f"/api/evidence/{bundle_id}").json()
        seen.add(b["stage"])
        if b["status"] in {"succeeded", "failed"}:
            b["_stages"] = seen
            return b  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"bundle {bundle_id} did not finish: {b}")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "maestro.cli", *args], capture_output=True, text=True, timeout=60)


def flip(src: bytes, name: str) -> bytes:
    """The same zip with one byte of one file changed (a well-formed archive: only the content lies)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(src)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == name:
                i = len(data) // 2
                data = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]
            zout.writestr(info.filename, data)
    return out.getvalue()


@pytest.fixture
def finished_run(caller: Caller, tmp_path: Path) -> dict[str, Any]:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "requirements.txt").write_text("requests==2.31.0\nidna==3.6\n")
    (repo / "package-lock.json").write_text(_lock({"lodash": ("4.17.21", "lo", "MIT")}))
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "one")
    register(caller, SPEC.format(repo=repo))
    run = wait_run(caller, start(caller, "supply")["id"])
    assert run["status"] == "succeeded"
    return run


def test_bundle_is_built_downloaded_and_verifies_offline(
    caller: Caller, client: TestClient, finished_run: dict[str, Any], tmp_path: Path
) -> None:
    denials_before = caller.get("/api/hub").json()["compliance"]["policyDenials24h"]
    r = caller.post(f"/api/evidence/run/{finished_run['id']}")
    assert r.status_code == 202, r.text
    bundle = wait_bundle(caller, r.json()["id"])
    assert bundle["status"] == "succeeded", bundle
    assert bundle["done"] == bundle["total"] == 9 and len(bundle["_stages"]) >= 2  # progress was visible
    again = caller.post(f"/api/evidence/run/{finished_run['id']}")
    assert again.status_code == 200 and again.json()["id"] == bundle["id"]  # idempotent

    s = bundle["summary"]
    assert s["slsaLevel"] == 2 and s["provenanceVerified"] and s["signaturesVerified"] == s["signatures"] == 1
    assert s["artifacts"] == s["artifactsMatching"] == 3 and s["sbomComponents"] == 3
    assert s["denyTestDenied"] is True and any("not signed" in x for x in s["denyTestReasons"])
    assert s["syntheticAlertObserved"] is True and "stream" in s["syntheticAlertVia"]
    assert s["problems"] == [] and s["policies"] == 3 and s["slos"] == 3

    zip_bytes = caller.get(bundle["downloadUrl"]).content
    path = tmp_path / "bundle.zip"
    path.write_bytes(zip_bytes)
    key = tmp_path / "maestro.pub"
    key.write_bytes(client.get(f"/api/keys/{bundle['keyid']}.pem").content)
    ok = cli("evidence", "verify", str(path), "--key", str(key))
    assert ok.returncode == 0, ok.stderr
    assert "bundle OK" in ok.stdout and finished_run["id"] in ok.stdout

    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        deny = json.loads(z.read("policies/deny-test.json"))
        synthetic = json.loads(z.read("alerts/synthetic.json"))
        artifacts = json.loads(z.read("artifacts.json"))
    assert {"run.json", "steps.json", "sbom/sbom.cdx.json", "sbom/diff.json", "slo.json", PUBLIC_KEY} <= names
    assert {"attestations/provenance.dsse.json", "policies/index.json", "policies/pinned-images@r1.rego"} <= names
    # the deny test is a real, logged denial
    assert deny["denied"] is True
    logged = caller.get("/api/policies/decisions", params={"batch": deny["decisionId"]}).json()["items"]
    assert logged and all(d["point"] == "promote" for d in logged) and not all(d["allowed"] for d in logged)
    # logged, but a denial by design: it does not count as a real refusal on the Control Hub or in metrics
    assert caller.get("/api/hub").json()["compliance"]["policyDenials24h"] == denials_before
    metrics = client.get("/metrics").text.splitlines()
    promote = [ln for ln in metrics if ln.startswith("maestro_policy_denials_total{") and 'point="promote"' in ln]
    assert promote and all(ln.endswith(" 0.0") for ln in promote), promote  # exported at zero, never counted
    assert synthetic["observed"] and synthetic["alert"]["labels"]["nonce"] == synthetic["nonce"]
    # once observed, the synthetic alert resolves: it does not linger among the real firing alerts
    after = caller.get(f"/api/alerts/{synthetic['alert']['id']}").json()
    assert after["state"] == "resolved" and after["name"] == "MaestroSyntheticCheck"
    assert {a["path"]: a["rehashed"] for a in artifacts} == {a["path"]: a["sha256"] for a in finished_run["artifacts"]}

    # flipping one byte of any file, the manifest or its signature fails verification naming that file
    for name in sorted(names):
        bad = tmp_path / "bad.zip"
        bad.write_bytes(flip(zip_bytes, name))
        report = verify_bundle(bad, key.read_bytes())
        assert not report.ok and report.first == name, (name, report.problems)
        if name == PUBLIC_KEY:  # without --key the bundled key is checked against the signer's key id
            assert verify_bundle(bad).first == PUBLIC_KEY
    failed = cli("evidence", "verify", str(tmp_path / "bad.zip"), "--key", str(key))
    assert failed.returncode == 1 and failed.stderr.startswith(f"bundle FAILED at {sorted(names)[-1]}")
    assert verify_bundle(path).ok  # the untouched bundle also verifies with its own key


def test_bad_requests(caller: Caller) -> None:
    assert caller.post("/api/evidence/run/nope").status_code == 404
    register(caller, "name: evidence-unfinished\nsteps:\n- {id: ok, uses: approval}\n")
    run = start(caller, "evidence-unfinished")
    wait_run(caller, run["id"], statuses={"waiting"})
    r = caller.post(f"/api/evidence/run/{run['id']}")
    assert r.status_code == 409 and "finished run" in r.json()["detail"]
    caller.post(f"/api/runs/{run['id']}/actions", json={"action": "cancel", "reason": "test over"})
    assert caller.get("/api/evidence/nope").status_code == 404

"""Supply chain: cosign-compatible signatures, DSSE (known PAE vector), SLSA provenance, SBOM and its diff, key rotation."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey

from maestro.config import Settings
from maestro.supply import keys as keymod
from maestro.supply.signing import sign_blob, sign_statement, statement, verify_envelope
from tests.factories import Caller, login
from tests.test_runs import logs, register, start, wait_run


def spec_pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding written from the protocol, independently of the code under test:
    PAE(type, body) = "DSSEv1" + SP + LEN(type) + SP + type + SP + LEN(body) + SP + body, LEN in ASCII decimal
    bytes (https://github.com/secure-systems-lab/dsse/blob/master/protocol.md)."""
    t = payload_type.encode("utf-8")
    return b" ".join([b"DSSEv1", str(len(t)).encode("ascii"), t, str(len(payload)).encode("ascii"), payload])


def test_pae_matches_the_dsse_spec_vector() -> None:
    # the protocol's own test vector checks the helper above, and securesystemslib (which signs our envelopes) agrees
    want = b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    assert spec_pae("http://example.com/HelloWorld", b"hello world") == want
    assert Envelope(payload=b"hello world", payload_type="http://example.com/HelloWorld", signatures={}).pae() == want


def test_blob_signatures_verify_with_cryptography_alone(migrated: Settings, engine) -> None:  # type: ignore[no-untyped-def]
    key = keymod.instance_key(migrated, engine)
    data = b"release-1.2.3.tar.gz bytes"
    sig = sign_blob(key, data)
    pub = serialization.load_pem_public_key(key.public_pem.encode())
    assert isinstance(pub, ec.EllipticCurvePublicKey) and pub.curve.name == "secp256r1"
    pub.verify(base64.b64decode(sig), data, ec.ECDSA(hashes.SHA256()))  # DER over SHA-256, as cosign
    with pytest.raises(InvalidSignature):
        pub.verify(base64.b64decode(sig), data + b"!", ec.ECDSA(hashes.SHA256()))


def test_dsse_envelopes_verify_with_securesystemslib_and_by_hand(migrated: Settings, engine) -> None:  # type: ignore[no-untyped-def]
    key = keymod.instance_key(migrated, engine)
    env = sign_statement(key, statement([("a.txt", "ab" * 32)], "https://example.com/p", {"x": 1}))
    payload = base64.b64decode(env["payload"])
    # by hand: the signature covers PAE(type, payload)
    key.public.verify(
        base64.b64decode(env["signatures"][0]["sig"]), spec_pae(env["payloadType"], payload), ec.ECDSA(hashes.SHA256())
    )
    # with securesystemslib, from the PEM alone
    sslib = SSlibKey.from_crypto(serialization.load_pem_public_key(key.public_pem.encode()), keyid=key.keyid)  # type: ignore[arg-type]
    Envelope.from_dict(env).verify([sslib], 1)
    assert json.loads(payload)["subject"][0]["digest"]["sha256"] == "ab" * 32
    forged = dict(env, payload=base64.b64encode(payload.replace(b'"x":1', b'"x":2')).decode())
    with pytest.raises(ValueError, match="does not verify"):
        verify_envelope(forged, [key.public])


def test_rotation_keeps_old_keys_for_verification(client: TestClient, migrated: Settings, engine) -> None:  # type: ignore[no-untyped-def]
    first = keymod.instance_key(migrated, engine)
    old_sig = sign_blob(first, b"old evidence")
    old_id, new_id = keymod.rotate(migrated, engine)
    assert old_id == first.keyid and new_id != old_id
    keys = client.get("/api/keys").json()["items"]  # public: verifiers need no account
    assert [k["keyid"] for k in keys] == [new_id, old_id] and [k["active"] for k in keys] == [True, False]
    pem = client.get(f"/api/keys/{old_id}.pem")
    assert pem.status_code == 200 and pem.headers["content-type"].startswith("application/x-pem-file")
    old_pub = serialization.load_pem_public_key(pem.content)
    old_pub.verify(base64.b64decode(old_sig), b"old evidence", ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg, union-attr]
    assert client.get("/api/keys/nope.pem").status_code == 404


def _git(repo: Path, *args: str) -> str:
    base = ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    return subprocess.run([*base, *args], capture_output=True, text=True, check=True).stdout.strip()


def _lock(packages: dict[str, tuple[str, str, str]]) -> str:
    """A package-lock.json (v3) with name → (version, sha512 integrity seed, license)."""
    entries: dict[str, Any] = {"": {"name": "app", "version": "1.0.0"}}
    for name, (version, seed, lic) in packages.items():
        digest = base64.b64encode(seed.encode().ljust(64, b"0")).decode()
        entries[f"node_modules/{name}"] = {"version": version, "integrity": f"sha512-{digest}", "license": lic}
    return json.dumps({"name": "app", "lockfileVersion": 3, "packages": entries})


SPEC = """
name: supply
source: {{url: 'file://{repo}', ref: main}}
steps:
  - id: build
    run: mkdir -p dist && cp requirements.txt dist/app.txt && echo built > dist/notes.md
    artifacts: ["dist/*"]
  - id: sbom
    uses: sbom
    with: {{files: [requirements.txt, package-lock.json]}}
  - id: sign
    uses: sign
    needs: [build]
    with: {{artifacts: ["dist/*.txt"]}}
"""


@pytest.fixture
def caller(client: TestClient, workers) -> Caller:  # type: ignore[no-untyped-def]
    return login(client)


def test_a_run_yields_signed_provenance_signatures_and_an_sbom_diff(caller: Caller, client: TestClient, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "requirements.txt").write_text(
        f"requests==2.31.0 --hash=sha256:{'a' * 64}\nidna==3.6\nurllib3==2.2.0\nflask>=2  # unpinned\n"
    )
    (repo / "package-lock.json").write_text(_lock({"left-pad": ("1.3.0", "lp", "WTFPL"), "lodash": ("4.17.21", "lo", "MIT")}))
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "one")
    register(caller, SPEC.format(repo=repo))
    first = wait_run(caller, start(caller, "supply")["id"])
    assert first["status"] == "succeeded", first

    steps = {s["key"]: s for s in first["steps"]}
    assert steps["sign"]["message"] == "signed 1 artifact(s): dist/app.txt"
    assert steps["sbom"]["outputs"]["components"] == "6"
    sbom_log = [ln["line"] for ln in logs(caller, first["id"], step="sbom")]
    assert any("6 components" in ln for ln in sbom_log) and not any("Warning" in ln for ln in sbom_log), sbom_log
    att = caller.get(f"/api/runs/{first['id']}/attestations").json()
    assert att["slsaLevel"] == 2 and att["problems"] == [] and att["sbom"]["components"] == 6
    assert [s["path"] for s in att["signatures"]] == ["dist/app.txt"] and att["signatures"][0]["verified"]
    arts = {a["path"]: a["sha256"] for a in first["artifacts"]}
    stmt = att["provenance"]["statement"]
    assert {s["name"]: s["digest"]["sha256"] for s in stmt["subject"]} == arts
    assert stmt["predicateType"] == "https://slsa.dev/provenance/v1"
    params = stmt["predicate"]["buildDefinition"]
    assert params["externalParameters"]["pipeline"] == "supply"
    assert {"gitCommit": first["commit"]} in [d["digest"] for d in params["resolvedDependencies"]]

    # independent verification: the envelope and the PEM from the API, securesystemslib only
    env = caller.get(f"/api/runs/{first['id']}/provenance").json()
    keyid = att["provenance"]["keyid"]
    pub = serialization.load_pem_public_key(client.get(f"/api/keys/{keyid}.pem").content)
    Envelope.from_dict(env).verify([SSlibKey.from_crypto(pub, keyid=keyid)], 1)  # type: ignore[arg-type]
    # the blob signature, with cryptography alone over the downloaded artifact bytes
    art = next(a for a in first["artifacts"] if a["path"] == "dist/app.txt")
    blob = caller.get(f"/api/artifacts/{art['id']}").content
    pub.verify(base64.b64decode(att["signatures"][0]["signature"]), blob, ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg, union-attr]

    sbom = caller.get(f"/api/runs/{first['id']}/sbom").json()
    assert sbom["bomFormat"] == "CycloneDX" and sbom["specVersion"] == "1.6"
    req = next(c for c in sbom["components"] if c["name"] == "requests")
    assert req["purl"] == "pkg:pypi/requests@2.31.0" and req["hashes"] == [{"alg": "SHA-256", "content": "a" * 64}]
    first_diff = caller.get(f"/api/runs/{first['id']}/sbom/diff").json()
    assert first_diff["baseRunId"] is None and len(first_diff["added"]) == 6

    # a new commit: upgrade, downgrade, remove, add, same version with a new hash, a license change
    (repo / "requirements.txt").write_text(f"requests==2.32.3 --hash=sha256:{'b' * 64}\nidna==3.5\nflask>=2\ncertifi==2024.2.2\n")
    (repo / "package-lock.json").write_text(_lock({"left-pad": ("1.3.0", "lp2", "WTFPL"), "lodash": ("4.17.21", "lo", "ISC")}))
    _git(repo, "commit", "-qam", "two")
    second = wait_run(caller, start(caller, "supply")["id"])
    assert second["status"] == "succeeded"
    d = caller.get(f"/api/runs/{second['id']}/sbom/diff").json()
    assert d["baseRunId"] == first["id"]
    assert [(c["name"], c["from"], c["to"]) for c in d["upgraded"]] == [("requests", "2.31.0", "2.32.3")]
    assert [(c["name"], c["from"], c["to"]) for c in d["downgraded"]] == [("idna", "3.6", "3.5")]
    assert [c["name"] for c in d["removed"]] == ["urllib3"] and [c["name"] for c in d["added"]] == ["certifi"]
    assert [c["name"] for c in d["hashChanged"]] == ["left-pad"]
    assert [(c["name"], c["from"], c["to"]) for c in d["licenseChanged"]] == [("lodash", ["MIT"], ["ISC"])]


def test_builtin_steps_are_validated(caller: Caller) -> None:
    r = caller.post("/api/pipelines", json={"spec": "name: bad-sign\nsteps:\n- {id: s, uses: sign}\n"})
    assert r.status_code == 422 and "with: {artifacts: [globs]}" in r.text
    r = caller.post("/api/pipelines", json={"spec": "name: bad-sbom\nsteps:\n- {id: s, uses: sbom, with: {files: [../etc]}}\n"})
    assert r.status_code == 422 and "stay inside" in r.text
    r = caller.post("/api/pipelines", json={"spec": "name: bad-with\nsteps:\n- {id: s, uses: sign, with: {artifact: [x]}}\n"})
    assert r.status_code == 422 and "unknown: ['artifact']" in r.text


def test_no_provenance_for_a_failed_run(caller: Caller) -> None:
    register(caller, "name: nope\nsteps:\n- {id: a, run: 'exit 1'}\n")
    run = wait_run(caller, start(caller, "nope")["id"])
    r = caller.get(f"/api/runs/{run['id']}/provenance")
    assert r.status_code == 404 and "did not succeed" in r.json()["detail"]
    assert caller.get(f"/api/runs/{run['id']}/attestations").json()["slsaLevel"] == 0


GATED = """
name: {name}
source: {{url: 'file://{repo}', ref: main}}
steps:
  - id: build
    run: mkdir -p dist && echo wheel > dist/app.whl
    artifacts: ["dist/*"]
  - id: sbom
    uses: sbom
  {sign}
  - id: gate
    uses: policy
    needs: [build, sbom{needs_sign}]
    with: {{env: prod}}
  - id: deploy
    needs: [gate]
    run: echo deploying
"""


def test_uses_policy_gates_promotion_on_signatures_and_sbom(caller: Caller, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "requirements.txt").write_text("requests==2.31.0\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "one")
    sign = '- {id: sign, uses: sign, needs: [build], with: {artifacts: ["dist/*"]}}'
    register(caller, GATED.format(name="gated-ok", repo=repo, sign=sign, needs_sign=", sign"))
    ok = wait_run(caller, start(caller, "gated-ok")["id"])
    steps = {s["key"]: s for s in ok["steps"]}
    assert ok["status"] == "succeeded", steps
    assert steps["gate"]["message"].startswith("allowed by the promote policies for prod")
    assert steps["deploy"]["status"] == "succeeded"

    register(caller, GATED.format(name="gated-unsigned", repo=repo, sign="", needs_sign=""))
    bad = wait_run(caller, start(caller, "gated-unsigned")["id"])
    steps = {s["key"]: s for s in bad["steps"]}
    assert bad["status"] == "failed" and steps["deploy"]["status"] == "skipped"
    assert "dist/app.whl is not signed: promotion to prod requires signed artifacts" in steps["gate"]["message"]
    decision = steps["gate"]["message"].rsplit("(decision ", 1)[1].rstrip(")")
    rows = caller.get("/api/policies/decisions", params={"batch": decision}).json()["items"]
    assert [(r["policyName"], r["allowed"], r["point"]) for r in rows] == [("prod-promotion-signed-sbom", False, "promote")]

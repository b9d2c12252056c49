"""A bounded schemathesis run over /api/openapi.json against a throwaway stack of its own
(the API served live, real Valkey, Temporal and workers): no 5xx, every 4xx a problem+json, every
response matching its schema and content type. Authenticated through the documented security
scheme (a bearer API token). Fixed seed: a failure reproduces."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from maestro.config import Settings
from tests.conftest import ADMIN_PASSWORD
from tests.services import live_api, wait_for

# Operations that cannot be fuzzed safely, each with why (they have targeted tests instead).
EXCLUDED = {
    "streams-get": "a stream never ends: every call would hang until the timeout (tests/test_streams.py, test_stream_scope.py)",
    "runs-create": "would execute generated commands as pipeline steps (tests/test_runs.py, test_sandbox.py)",
    "runs-action": "rerun/approve/cancel drive real workflows that execute steps (tests/test_runs.py)",
    "rollouts-create": "starts a rollout that sends live traffic to a generated upstream URL (tests/test_rollouts.py)",
    "rollouts-action": "promotes/rolls back live rollouts (tests/test_rollouts.py)",
    "evidence-create": "builds a signed witness bundle of a real run: minutes per call (tests/test_evidence.py)",
    "tokens-revoke": "could revoke the fuzzer's own credential (tests/test_auth.py)",
    "auth-logout": "would sign the fuzzer's own credential out (tests/test_auth.py)",
}

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
SEED = 20261129
MAX_EXAMPLES = int(os.environ.get("MAESTRO_FUZZ_EXAMPLES", "25"))


@pytest.fixture
def fuzz_server(workers: Settings, app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with live_api(app) as url:
        yield url


def _admin_token(base: str) -> str:
    c = httpx.Client(base_url=base, timeout=30)
    r = c.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert r.status_code == 200, r.text
    c.cookies.set("maestro_session", r.cookies["maestro_session"])
    tok = c.post("/api/tokens", json={"name": "fuzzer", "scopes": ["admin:*"]}, headers={"X-CSRF-Token": r.json()["csrfToken"]})
    assert tok.status_code == 201, tok.text
    return str(tok.json()["secret"])


def _seed(base: str, token: str) -> None:
    """Real data for the links to lead to: a finished run (steps, logs, an artifact), an alert."""
    c = httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"})
    spec = "name: fuzz-seed\nsteps:\n- {id: build, run: 'echo built > out.txt', artifacts: [out.txt]}\n"
    assert c.post("/api/pipelines", json={"spec": spec}).status_code == 201
    run = c.post("/api/runs", json={"pipeline": "fuzz-seed"}).json()
    wait_for(lambda: c.get(f"/api/runs/{run['id']}").json()["status"] == "succeeded", 120, 0.5)
    assert c.post("/api/alerts/synthetic").status_code == 201


def test_the_api_holds_under_schemathesis(fuzz_server: str, tmp_path: Path) -> None:
    token = _admin_token(fuzz_server)
    _seed(fuzz_server, token)
    schema = httpx.get(f"{fuzz_server}/api/openapi.json").json()
    ops = {op["operationId"] for path in schema["paths"].values() for op in path.values() if "operationId" in op}
    assert set(EXCLUDED) <= ops, f"excluded operations that no longer exist: {set(EXCLUDED) - ops}"
    assert "bearerAuth" in schema["components"]["securitySchemes"]
    cmd = [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{fuzz_server}/api/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--seed",
        str(SEED),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--workers",
        "1",
        "--request-timeout",
        "60",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    for op in sorted(EXCLUDED):
        cmd += ["--exclude-operation-id", op]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": ""}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1500, check=False)
    print(proc.stdout[-20000:])
    assert proc.returncode == 0, proc.stdout[-15000:] + proc.stderr[-3000:]

"""Policy gates: rego.v1 only, compile errors with line/column, admission and run-start denials with a
decision log, simulation, the sandbox (no environment, bounded time), promotion checks, denial alerts."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from maestro.config import Settings
from maestro.policy import engine
from maestro.policy.starters import STARTERS
from tests.factories import PASSWORD, Caller, login, make_user
from tests.test_runs import register

SUDO_SPEC = "name: deploy-app\nsteps:\n- {id: install, run: sudo make install}\n- {id: ok, run: make test}\n"
LATEST_SPEC = "name: web\nsteps:\n- {id: up, run: docker run --rm nginx:latest}\n"
PINNED_SPEC = "name: web\nsteps:\n- {id: up, run: docker run --rm nginx:1.27.2}\n"


@pytest.fixture
def caller(client: TestClient) -> Caller:
    return login(client)


def test_starter_policies_compile_and_are_seeded(caller: Caller) -> None:
    for st in STARTERS:
        assert engine.check(st.name, st.source)
    listed = {p["name"]: p for p in caller.get("/api/policies").json()["items"]}
    assert set(listed) == {s.name for s in STARTERS}
    assert all(p["builtin"] and p["enabled"] and p["revision"] == 1 for p in listed.values())


def test_admission_refuses_with_the_policy_message_and_logs_the_decision(caller: Caller, settings: Settings) -> None:
    r = caller.post("/api/pipelines", json={"spec": SUDO_SPEC})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["title"] == "Denied by policy"
    assert body["errors"] == [
        {"field": "spec", "message": "no-privileged-commands: step install runs the privileged command `sudo`"}
    ]
    assert caller.get("/api/pipelines/deploy-app").status_code == 404  # nothing half-written
    batch = body["remediation"].rsplit("batch=", 1)[1]
    rows = caller.get("/api/policies/decisions", params={"batch": batch}).json()["items"]
    by_policy = {d["policyName"]: d for d in rows}
    assert set(by_policy) == {"no-privileged-commands", "pinned-images"}  # every admission policy, allowed or not
    denied = by_policy["no-privileged-commands"]
    assert denied["allowed"] is False and denied["revision"] == 1 and denied["point"] == "admission"
    assert len(denied["inputSha256"]) == 64 and denied["subject"] == "pipeline deploy-app"
    assert by_policy["pinned-images"]["allowed"] is True
    # the policy_denied event
    events = Redis.from_url(settings.effective_redis_url).xrevrange("maestro:stream:policies", count=5)
    env = json.loads(next(e[b"e"] for _, e in events))
    assert env["type"] == "policy_denied" and env["payload"]["decisionId"] == batch
    assert env["payload"]["policies"] == ["no-privileged-commands"]
    # the policy detail shows its recent decisions
    pol = next(p for p in caller.get("/api/policies").json()["items"] if p["name"] == "no-privileged-commands")
    assert caller.get(f"/api/policies/{pol['id']}").json()["recentDecisions"][0]["batchId"] == batch


def test_simulate_shows_a_violation_that_the_fixed_config_clears(caller: Caller) -> None:
    p = register(caller, PINNED_SPEC)
    logged = len(caller.get("/api/policies/decisions").json()["items"])  # registering was an admission
    sim = caller.post(f"/api/pipelines/{p['id']}/simulate", json={"changes": LATEST_SPEC}).json()
    assert [v["policy"] for v in sim["violations"]] == ["pinned-images"]
    assert "nginx:latest" in sim["violations"][0]["message"] and sim["violations"][0]["source"] == "revision 1"
    assert "-- {id: up, run: docker run --rm nginx:1.27.2}" in sim["diff"]
    assert "+- {id: up, run: docker run --rm nginx:latest}" in sim["diff"]
    assert caller.post(f"/api/pipelines/{p['id']}/simulate", json={"changes": PINNED_SPEC}).json()["violations"] == []
    # a proposed policy is tried beside the active ones
    proposed = {
        "name": "no-docker",
        "source": 'package maestro.admission.nodocker\nimport rego.v1\ndeny contains "no docker here" if {\n'
        '  some s in input.spec.steps\n  contains(s.run, "docker")\n}\n',
    }
    sim = caller.post(f"/api/pipelines/{p['id']}/simulate", json={"changes": PINNED_SPEC, "policies": [proposed]}).json()
    assert sim["violations"] == [{"policy": "no-docker", "source": "proposed", "message": "no docker here"}]
    assert len(caller.get("/api/policies/decisions").json()["items"]) == logged  # simulation logs nothing


@pytest.mark.parametrize(
    ("source", "line", "column", "text"),
    [
        ('package p\nimport rego.v1\n\ndeny[msg] {\n  msg := "x"\n}\n', 4, 1, "deny contains msg if {"),
        ("package p\nimport rego.v1\nallow {\n  true\n}\n", 3, 1, "allow if {"),
        ('package p\n\ndeny contains "x" if { true }\n', 1, 1, "import rego.v1"),
        ("package p\nimport rego.v1\ndeny contains msg if {\n  msg := \n}\n", 4, 7, "Invalid assignment"),
        ("package p\nimport rego.v1\nenv := opa.runtime().env\n", 3, 8, "may not read the host environment"),
        ('package p\nimport rego.v1\nx := http.send({"url": "http://example.com"})\n', 3, 6, "reach the network"),
    ],
)
def test_bad_policies_are_refused_with_line_and_column(caller: Caller, source: str, line: int, column: int, text: str) -> None:
    r = caller.post("/api/policies", json={"name": "bad", "points": ["admission"], "source": source})
    assert r.status_code == 422, r.text
    first = r.json()["errors"][0]
    assert (
        first["field"] == "source" and first["message"].startswith(f"line {line}, column {column}: ") and text in first["message"]
    )
    assert all(p["name"] != "bad" for p in caller.get("/api/policies").json()["items"])


def test_the_sandbox_shows_policies_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAESTRO_POLICY_CANARY", "s3cret-value")
    # straight to the evaluator, past the static check: the process itself has no environment
    answer = engine._call(
        {"modules": {"e.rego": "package e\nimport rego.v1\nenv := opa.runtime().env\n"}, "queries": ["data.e.env"]}, 10
    )
    assert answer["ok"]
    env = answer["results"]["data.e.env"]
    assert "MAESTRO_POLICY_CANARY" not in env and "PATH" not in env and "s3cret-value" not in json.dumps(env)


class TestFailClosed:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"policy_timeout_ms": 300})

    def test_a_looping_policy_is_stopped_and_denies(self, caller: Caller, client: TestClient) -> None:
        loop = (
            "package maestro.runstart.slow\nimport rego.v1\n"
            "deny contains n if {\n  some n in numbers.range(1, 2000000000)\n  n < 0\n}\n"
        )
        r = caller.post("/api/policies", json={"name": "slow", "points": ["run_start"], "source": loop})
        assert r.status_code == 201, r.text
        register(caller, "name: quick\nsteps:\n- {id: a, run: 'true'}\n")
        started = caller.post("/api/runs", json={"pipeline": "quick"})
        assert started.status_code == 403, started.text
        assert "did not finish within 0.3s; denied (fail closed)" in started.json()["detail"]
        assert caller.get("/api/runs", params={"pipeline": "quick"}).json()["items"] == []
        # disabled, it no longer gates; the evaluator recovered from the kill
        pid = r.json()["id"]
        assert caller.put(f"/api/policies/{pid}", json={"enabled": False}).json()["enabled"] is False
        decisions = caller.get("/api/policies/decisions", params={"policy": pid}).json()["items"]
        assert decisions[0]["allowed"] is False and "did not finish" in decisions[0]["error"]


def test_promotion_needs_signed_artifacts_and_an_sbom(caller: Caller) -> None:
    bad = {"env": "prod", "artifacts": [{"path": "app.whl", "sha256": "a" * 64, "signed": False}]}
    r = caller.post("/api/policies/evaluate", json={"point": "promote", "input": bad, "subject": "app.whl"}).json()
    assert r["allowed"] is False
    assert sorted(r["reasons"]) == [
        "prod-promotion-signed-sbom: app.whl is not signed: promotion to prod requires signed artifacts (add a `uses: sign` step)",
        "prod-promotion-signed-sbom: no SBOM: promotion to prod requires one (add a `uses: sbom` step)",
    ]
    good = {"env": "prod", "artifacts": [{"path": "app.whl", "sha256": "a" * 64, "signed": True}], "sbom": {"components": 12}}
    assert caller.post("/api/policies/evaluate", json={"point": "promote", "input": good}).json()["allowed"] is True
    staging = {"env": "staging", "artifacts": [{"path": "app.whl", "sha256": "a" * 64, "signed": False}]}
    assert caller.post("/api/policies/evaluate", json={"point": "promote", "input": staging}).json()["allowed"] is True


def test_revisions_and_permissions(caller: Caller, client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    pol = next(p for p in caller.get("/api/policies").json()["items"] if p["name"] == "no-privileged-commands")
    detail = caller.get(f"/api/policies/{pol['id']}").json()
    changed = detail["source"].replace('"setcap"]', '"setcap", "insmod"]')
    r = caller.put(f"/api/policies/{pol['id']}", json={"source": changed})
    assert r.status_code == 200 and r.json()["revision"] == 2 and [x["revision"] for x in r.json()["revisions"]] == [2, 1]
    assert caller.get(f"/api/policies/{pol['id']}/revisions/1").json()["source"] == detail["source"]
    denied = caller.post("/api/pipelines", json={"spec": "name: k\nsteps:\n- {id: a, run: insmod x.ko}\n"})
    assert denied.status_code == 422 and "`insmod`" in denied.text
    assert caller.put(f"/api/policies/{pol['id']}", json={"source": "package x\n"}).status_code == 422
    assert caller.get(f"/api/policies/{pol['id']}").json()["revision"] == 2  # a refused revision changes nothing
    assert {e["action"] for e in caller.get("/api/audit?action=policy.*").json()["items"]} == {"policy.update"}
    viewer = make_user(engine, roles=["viewer"])
    v = login(client, viewer.username, PASSWORD)  # the same client: from here on it is the viewer
    assert v.get("/api/policies").status_code == 200
    assert v.put(f"/api/policies/{pol['id']}", json={"enabled": False}).status_code == 403


class TestDenialSpike:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"alert_policy_denials": 3})

    def test_denials_fire_an_alert_and_count_in_metrics(self, caller: Caller, client: TestClient, workers) -> None:  # type: ignore[no-untyped-def]
        for i in range(3):
            assert caller.post("/api/pipelines", json={"spec": SUDO_SPEC.replace("deploy-app", f"d{i}")}).status_code == 422
        assert (
            'maestro_policy_denials_total{point="admission",policy="no-privileged-commands"} 3.0' in client.get("/metrics").text
        )
        r = caller.post("/api/alerts/evaluate").json()
        assert "policy-denials:admission" in r["fired"]
        a = next(x for x in caller.get("/api/alerts").json()["items"] if x["fingerprint"] == "policy-denials:admission")
        assert a["name"] == "PolicyDenialSpike" and "(most by no-privileged-commands: 3)" in a["annotations"]["summary"]
        assert a["annotations"]["runbook_url"].endswith("/runbooks/policy-denial-spike")


def test_a_viewer_evaluates_as_a_dry_run_that_records_nothing(client: TestClient, engine, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    bad = {"env": "prod", "artifacts": [{"path": "app.whl", "sha256": "a" * 64, "signed": False}]}
    events = Redis.from_url(settings.effective_redis_url)
    denials_before = events.xlen("maestro:stream:policies")
    viewer = login(client, make_user(engine, roles=["viewer"]).username, PASSWORD)
    r = viewer.post("/api/policies/evaluate", json={"point": "promote", "input": bad, "subject": "dry"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["allowed"] is False and body["reasons"]  # the same answer as a recorded evaluation
    assert body["recorded"] is False and "needs policies:write" in body["note"]
    assert viewer.get("/api/policies/decisions", params={"limit": 500}).json()["items"] == []
    assert events.xlen("maestro:stream:policies") == denials_before  # nothing to trip PolicyDenialSpike
    # asking to record without the permission is refused, naming the field
    r = viewer.post("/api/policies/evaluate", json={"point": "promote", "input": bad, "dryRun": False})
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "dryRun"
    # a security engineer (policies:write) records by default, and can still ask for a dry run
    sec = login(client, make_user(engine, roles=["security"]).username, PASSWORD)
    rec = sec.post("/api/policies/evaluate", json={"point": "promote", "input": bad, "subject": "real"}).json()
    assert rec["recorded"] is True
    logged = sec.get("/api/policies/decisions", params={"limit": 500}).json()["items"]
    assert {d["batchId"] for d in logged} == {rec["decisionId"]}
    assert events.xlen("maestro:stream:policies") == denials_before + 1
    dry = sec.post("/api/policies/evaluate", json={"point": "promote", "input": bad, "dryRun": True}).json()
    assert dry["recorded"] is False and dry["note"].startswith("dry run (dryRun: true)")
    assert len(sec.get("/api/policies/decisions", params={"limit": 500}).json()["items"]) == len(logged)

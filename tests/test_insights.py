"""What's hot and cold, from real runs: flaky tests from JUnit artifacts, flaky pipelines, slow steps, cost."""

from __future__ import annotations

import subprocess
from pathlib import Path

from fastapi.testclient import TestClient

from tests.factories import login
from tests.test_runs import register, start, wait_run

JUNIT = """<?xml version="1.0"?>
<testsuite name="unit" tests="2">
  <testcase classname="app.tests" name="test_stable"/>
  <testcase classname="app.tests" name="test_flaky">@FAILURE@</testcase>
</testsuite>"""


def test_insights_from_real_runs(client: TestClient, workers, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "README").write_text("x\n")
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    junit = JUNIT.replace('"', '\\"').replace("\n", " ")
    spec = f"""
name: tested
source: {{url: 'file://{repo}', ref: main}}
params: {{fail: {{default: "no"}}}}
steps:
  - id: unit
    run: |
      if [ "${{{{ params.fail }}}}" = yes ]; then F='<failure/>'; else F=''; fi
      mkdir -p reports
      echo "{junit}" | sed "s|@FAILURE@|$F|" > reports/junit.xml
      sleep 0.3
      if [ "${{{{ params.fail }}}}" = yes ]; then exit 1; fi
    artifacts: ["reports/*.xml"]
  - id: quick
    run: 'true'
"""
    caller = login(client)
    register(caller, spec)
    first = wait_run(caller, start(caller, "tested", labels={"team": "core"})["id"])
    assert first["status"] == "succeeded", first
    second = wait_run(caller, start(caller, "tested", labels={"team": "core"}, inputs={"fail": "yes"})["id"])
    assert second["status"] == "failed" and second["commit"] == first["commit"]
    assert [a["path"] for a in second["artifacts"]] == ["reports/junit.xml"]  # kept although the step failed
    third = wait_run(caller, start(caller, "tested")["id"])
    assert third["status"] == "succeeded"
    r = caller.get("/api/insights", params={"days": 1})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["flakyPipelines"] == [{"pipeline": "tested", "commits": 1}]
    slow = {(s["pipeline"], s["step"]): s for s in body["slowestSteps"]}
    assert slow[("tested", "unit")]["p95Ms"] >= 300 and slow[("tested", "unit")]["samples"] == 3
    assert body["slowestSteps"][0]["step"] == "unit"  # slower than `quick`
    dims = {(c["dimension"], c["value"]) for c in body["topCostCenters"]}
    assert {("pipeline", "tested"), ("env", "dev"), ("label:team", "core")} <= dims
    # test_flaky passed and failed on the same commit; test_stable never failed
    assert body["flakyTests"] == [{"pipeline": "tested", "test": "app.tests::test_flaky", "commits": 1}]

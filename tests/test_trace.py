"""A run's trace waterfall: the API request, the workflow and its activities, kept locally."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import login
from tests.services import wait_for
from tests.test_runs import register, start, wait_run


def test_run_trace_lists_api_workflow_and_step_spans(client: TestClient, workers) -> None:  # type: ignore[no-untyped-def]
    caller = login(client)
    register(caller, "name: traced\nsteps:\n- {id: a, run: 'true'}\n- {id: b, run: 'true', needs: [a]}\n")
    run = start(caller, "traced")
    done = wait_run(caller, run["id"])
    assert done["status"] == "succeeded" and len(done["traceId"]) == 32

    def spans():  # type: ignore[no-untyped-def]
        body = caller.get(f"/api/runs/{run['id']}/trace").json()
        names = [s["name"] for s in body["spans"]]
        return body if sum("RunActivity:run_step" in n for n in names) == 2 else None

    body = wait_for(spans, 20, 0.2)  # spans are exported in batches
    assert body["traceId"] == done["traceId"]
    by_id = {s["spanId"]: s for s in body["spans"]}
    names = [s["name"] for s in body["spans"]]
    root = [s for s in body["spans"] if s["parentId"] not in by_id]
    assert len(root) == 1 and root[0]["name"] == "POST /api/runs"
    assert any(n.startswith("StartWorkflow:RunWorkflow") for n in names)
    assert any(n.startswith("RunWorkflow:RunWorkflow") for n in names)
    step = next(s for s in body["spans"] if s["name"].startswith("RunActivity:run_step"))
    # every span hangs off the API request
    cur = step
    while cur["parentId"] in by_id:
        cur = by_id[cur["parentId"]]
    assert cur is root[0]
    assert step["durationMs"] >= 0 and step["endTime"] >= step["startTime"]
    assert {s["attributes"].get("maestro.step") for s in body["spans"] if s["name"].startswith("RunActivity:run_step")} == {
        "a",
        "b",
    }
    assert caller.get("/api/runs/nope/trace").status_code == 404


def test_run_metrics_come_from_the_projection(client: TestClient, workers) -> None:  # type: ignore[no-untyped-def]
    caller = login(client)
    register(caller, "name: measured\nsteps:\n- {id: a, run: 'sleep 0.2'}\n")
    register(caller, "name: broken-m\nsteps:\n- {id: a, run: 'exit 1'}\n")
    for name in ("measured", "measured", "broken-m"):
        wait_run(caller, start(caller, name)["id"])
    text = client.get("/metrics").text
    assert 'maestro_runs_total{env="dev",pipeline="measured",status="succeeded"} 2.0' in text
    assert 'maestro_runs_total{env="dev",pipeline="broken-m",status="failed"} 1.0' in text
    assert 'maestro_run_duration_ms_count{env="dev",pipeline="measured"} 2.0' in text
    assert 'maestro_run_duration_ms_bucket{env="dev",le="+Inf",pipeline="measured"} 2.0' in text
    assert 'maestro_step_duration_ms_count{pool="default"} 3.0' in text
    assert 'maestro_step_duration_ms_bucket{le="1000.0",pool="default"} 3.0' in text  # all three took < 1 s

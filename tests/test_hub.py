"""GET /api/hub: every Control Hub figure comes from records (runs, SLOs, attestations, decisions)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import PASSWORD, login, make_user
from tests.test_slo import add_finished_runs


def test_hub_figures_come_from_records(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    caller = login(client)
    empty = caller.get("/api/hub").json()
    assert empty["kpis"]["buildSuccessPct"] is None and empty["kpis"]["runs7d"] == 0 and empty["releases"] == []
    add_finished_runs(engine, ["succeeded"] * 3 + ["failed"])
    assert caller.post("/api/pipelines", json={"spec": "name: x\nsteps:\n- {id: a, run: sudo true}\n"}).status_code == 422
    h = caller.get("/api/hub").json()
    k = h["kpis"]
    assert k["buildSuccessPct"] == 75.0 and k["runs7d"] == 4 and k["p95BuildMs"] == 30_000
    assert k["worstBurnRate1h"] is not None and k["worstBurnRate1h"] > 1  # 25% failures burn the 97% run-success budget
    assert k["lowestErrorBudget"] is not None and k["lowestErrorBudget"] < 0
    c = h["compliance"]
    assert c["successfulRuns7d"] == 3 and c["runsWithProvenance7d"] == 0 and c["policyDenials24h"] == 1
    assert set(h["hotCold"]) >= {"flakyTests", "slowestSteps", "topCostCenters"}
    # anyone signed in may read it; a viewer sees releases but no actions
    viewer = make_user(engine, roles=["viewer"])
    assert login(client, viewer.username, PASSWORD).get("/api/hub").status_code == 200
    client.cookies.clear()
    assert client.get("/api/hub").status_code == 401

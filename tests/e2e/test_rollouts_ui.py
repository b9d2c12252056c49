"""The seed's flow 2 in the browser: pause/resume/promote/rollback in the UI change the live weights
that real traffic through the edge router sees, and the run's witness bundle records them."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Stack, assert_axe_clean
from tests.e2e.test_runs_ui import _name, register, start, wait_run
from tests.services import wait_for
from tests.test_rollouts import Traffic, Upstream

pytestmark = pytest.mark.e2e


def act(page: Page, action: str, reason: str) -> None:
    page.get_by_role("button", name=action, exact=True).click()
    dialog = page.get_by_role("alertdialog")
    dialog.get_by_label("Reason").fill(reason)
    dialog.get_by_role("button", name=action, exact=True).click()
    expect(dialog).to_have_count(0)


def canary_share(traffic: Traffic, seconds: float) -> float:
    t0 = time.monotonic()
    time.sleep(seconds)
    seen = traffic.since(t0)
    total = seen["canary"] + seen["stable"]
    assert total > 20, seen
    return seen["canary"] / total


def test_flow_2_controls_in_the_ui_steer_live_traffic(page: Page, stack: Stack) -> None:
    api = stack.api()
    stable, canary = Upstream("stable"), Upstream("canary")
    svc = _name("e2e-shop")
    traffic = Traffic(f"http://127.0.0.1:{stack.env['MAESTRO_EDGE_PORT']}/{svc}/buy", rps=40)
    try:
        assert api.post("/api/services", json={"name": svc, "env": "dev", "stableUrl": stable.url}).status_code == 201
        pipeline = _name("e2e-release")
        register(
            api, f"name: {pipeline}\nsteps:\n- {{id: build, run: 'mkdir -p d && echo v2 > d/app.txt', artifacts: ['d/*']}}\n"
        )
        run = wait_run(api, start(api, pipeline)["id"], lambda r: r["status"] == "succeeded")
        steps: list[dict[str, Any]] = [{"setWeight": 20}, {"pause": 0}, {"setWeight": 50}, {"pause": 600}, {"setWeight": 100}]
        res = api.post(
            f"/api/runs/{run['id']}/actions",
            json={"action": "promote", "service": svc, "canaryUrl": canary.url, "steps": steps, "reason": "flow 2"},
        )
        assert res.status_code == 200, res.text
        rid = res.json()["detail"]

        page.goto(f"/rollouts/{rid}")
        weight, status = page.get_by_test_id("rollout-weight"), page.get_by_test_id("rollout-status")
        expect(weight).to_have_text("20", timeout=30_000)
        expect(status).to_have_text("paused")
        assert 0.08 < canary_share(traffic, 3) < 0.4
        assert_axe_clean(page)

        act(page, "Promote", "canary looks fine at 20%")
        expect(weight).to_have_text("50", timeout=30_000)
        expect(status).to_have_text("running")
        act(page, "Pause", "holding to compare dashboards")
        expect(status).to_have_text("paused")
        share = canary_share(traffic, 4)
        assert 0.3 < share < 0.7, share
        expect(weight).to_have_text("50")  # held while traffic flowed
        act(page, "Resume", "all good")
        expect(status).to_have_text("running")
        act(page, "Roll back", "found a bug in checkout")
        expect(status).to_have_text("rolled back", timeout=30_000)  # the badge says the status in words
        expect(weight).to_have_text("0")
        time.sleep(1.5)  # the edges re-read routes
        assert canary_share(traffic, 3) == 0
        expect(page.get_by_role("table", name=re.compile("^Actions on the rollout"))).to_contain_text("found a bug in checkout")

        # the run's witness bundle records the rollout: weights over time and who did what
        b = api.post(f"/api/evidence/run/{run['id']}").json()
        bundle = wait_for(lambda: (x := api.get(f"/api/evidence/{b['id']}").json())["status"] == "succeeded" and x, 90, 0.5)
        with zipfile.ZipFile(io.BytesIO(api.get(bundle["downloadUrl"]).content)) as z:
            snap = json.loads(z.read("rollouts.json"))
        ro = next(x for x in snap if x["id"] == rid)
        assert [h["action"] for h in ro["history"]] == ["promote", "pause", "resume", "rollback"]
        assert all(h["by"] == "admin" for h in ro["history"])  # the signed-in user, not a token
        assert [w["weight"] for w in ro["weights"]] == [0, 20, 50, 0]
    finally:
        traffic.close()
        stable.close()
        canary.close()

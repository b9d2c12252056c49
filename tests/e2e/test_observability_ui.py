"""Observability in the web UI: SLO cards, alerts live from the stream, ack, and accessibility."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Stack, assert_axe_clean
from tests.services import wait_for

pytestmark = pytest.mark.e2e

BUILTIN_SLOS = ["Control plane availability", "Run success", "p95 build time ≤ 10 min"]


def _newest_alert_id(stack: Stack) -> str:
    items = stack.api().get("/api/alerts", params={"limit": 1}).json()["items"]
    assert items, "no alert was recorded"
    return str(items[0]["id"])


def test_slo_page_shows_the_builtin_slos(page: Page) -> None:
    page.goto("/observability")
    expect(page.get_by_role("heading", level=1, name="Service levels")).to_be_visible()
    for name in BUILTIN_SLOS:
        card = page.get_by_test_id("slo-card").filter(has=page.get_by_role("heading", name=name, exact=True))
        expect(card).to_be_visible()
        expect(card.get_by_role("meter", name=f"Error budget remaining for {name}")).to_be_visible()
        expect(card.get_by_role("table", name=f"Burn rates for {name}")).to_be_visible()
    # built-ins cannot be deleted, so they offer no delete button
    expect(page.get_by_role("button", name=re.compile("^Delete SLO"))).to_have_count(0)


def test_fire_a_synthetic_alert_see_it_live_and_ack_it(page: Page, stack: Stack) -> None:
    page.goto("/observability/alerts")
    expect(page.get_by_role("heading", level=1, name="Alerts")).to_be_visible()

    # fired from the UI
    page.get_by_role("button", name="Fire synthetic alert").click()
    # the API runs one evaluator workflow to deliver it before answering: allow for a cold stack
    expect(page.get_by_text("Synthetic alert fired", exact=True)).to_be_visible(timeout=30_000)  # the toast title
    ui_alert = _newest_alert_id(stack)
    expect(page.locator(f'a[href^="/observability/alerts/{ui_alert}"]')).to_be_visible()

    # fired elsewhere: the alerts stream brings it into the open list without a reload
    fired = stack.api().post("/api/alerts/synthetic")
    assert fired.status_code == 201, fired.text
    live_id = fired.json()["id"]
    link = page.locator(f'a[href^="/observability/alerts/{live_id}"]')
    expect(link).to_be_visible()

    # the state filter lives in the URL
    page.get_by_label("State").select_option("firing")
    expect(page).to_have_url(re.compile(r"[?&]state=firing"))
    expect(link).to_be_visible()

    link.click()
    expect(page.get_by_role("heading", level=1, name="MaestroSyntheticCheck")).to_be_visible()
    expect(page.get_by_test_id("alert-ack")).to_have_text("not acked")
    page.get_by_label("Ack note").fill("looking into it from the e2e test")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_test_id("alert-ack")).to_contain_text("acked by admin")

    body = stack.api().get(f"/api/alerts/{live_id}").json()
    assert body["ackedBy"] == "admin"


@pytest.mark.parametrize("color_scheme", ["light", "dark"], indirect=True)
def test_axe_clean_on_observability_pages(page: Page, stack: Stack, color_scheme: str) -> None:
    fired = stack.api().post("/api/alerts/synthetic")
    assert fired.status_code == 201, fired.text
    alert_id = fired.json()["id"]
    for path, heading in [
        ("/observability", "Service levels"),
        ("/observability/alerts", "Alerts"),
        (f"/observability/alerts/{alert_id}", "MaestroSyntheticCheck"),
    ]:
        page.goto(path)
        expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()
        assert page.evaluate("() => document.documentElement.classList.contains('dark')") == (color_scheme == "dark")
        assert_axe_clean(page)
    # the Define SLO dialog, open
    page.goto("/observability")
    page.get_by_role("button", name="Define SLO").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    assert_axe_clean(page)


def test_define_and_delete_an_slo(page: Page, stack: Stack) -> None:
    name = "E2E deploys succeed"
    page.goto("/observability")
    page.get_by_role("button", name="Define SLO").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_label("Objective (%)").fill("150")
    dialog.get_by_role("button", name="Define SLO").click()
    objective = dialog.get_by_label("Objective (%)")
    expect(objective).to_have_attribute("aria-invalid", "true")
    expect(dialog).to_contain_text("strictly between 0 and 100")
    objective.fill("99.5")
    dialog.get_by_role("button", name="Define SLO").click()
    expect(dialog).to_have_count(0)
    card = page.get_by_test_id("slo-card").filter(has=page.get_by_role("heading", name=name, exact=True))
    expect(card).to_contain_text("99.5%")

    card.get_by_role("button", name=f"Delete SLO {name}").click()
    confirm = page.get_by_role("alertdialog")
    confirm.get_by_label("Reason").fill("only for the e2e test")
    confirm.get_by_role("button", name="Delete SLO").click()
    expect(card).to_have_count(0)
    assert name not in [s["name"] for s in stack.api().get("/api/slo").json()["items"]]


def test_failing_runs_fire_the_burn_alert_live_then_ack_and_open_its_runbook(page: Page, stack: Stack) -> None:
    """The seed's on-call flow: runs fail, the burn alert appears on the open page, someone acks and follows the runbook."""
    api = stack.api()
    r = api.post("/api/pipelines", json={"spec": "name: e2e-burn\nsteps:\n- {id: boom, run: 'echo broken >&2; exit 3'}\n"})
    assert r.status_code == 201, r.text
    page.goto("/observability/alerts?state=firing")
    expect(page.get_by_role("heading", level=1, name="Alerts")).to_be_visible()
    page.evaluate("() => { window.__sameDocument = true }")
    burning = page.get_by_role("row").filter(has_text=re.compile(r"Run success: error budget burning at .* over 1h, .* over 5m"))
    expect(burning).to_have_count(0)

    # fail runs until the run-success SLO burns: every run of this pipeline fails
    run_ids = []
    for _ in range(4):
        started = api.post("/api/runs", json={"pipeline": "e2e-burn"})
        assert started.status_code == 201, started.text
        run_ids.append(started.json()["id"])
    for rid in run_ids:
        wait_for(lambda rid=rid: api.get(f"/api/runs/{rid}").json()["status"] == "failed", 60, 0.25)

    # the evaluator schedule fires it; the alerts stream puts it on the open page without a reload
    expect(burning).to_have_count(1, timeout=30_000)
    assert page.evaluate("() => window.__sameDocument === true")
    burning.get_by_role("link", name="SloBurnRate").click()
    expect(page.get_by_role("heading", level=1, name="SloBurnRate")).to_be_visible()
    page.get_by_label("Ack note").fill("failing e2e-burn runs, on it")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_test_id("alert-ack")).to_contain_text("acked by admin")

    # the runbook opens inside Maestro
    page.get_by_role("link", name="Open runbook").click()
    expect(page).to_have_url(re.compile(r"/runbooks/slo-burn"))
    expect(page.get_by_role("heading", level=1, name=re.compile("SLO burn rate"))).to_be_visible()
    assert_axe_clean(page)
    fired = [a for a in api.get("/api/alerts", params={"state": "firing", "limit": 100}).json()["items"] if a["ackedBy"]]
    assert any(a["fingerprint"] == "slo-burn:run-success:1h-5m" for a in fired)

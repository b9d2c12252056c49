"""The operator UI driven as a keyboard user would (issue 13): focus comes back to the control that
opened each dialog; the runs list is dense enough to read; every route is axe-clean in both themes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.conftest import Stack, assert_axe_clean, sign_in
from tests.e2e.test_runs_ui import _name, register, ship_spec, start, step_of, wait_run
from tests.services import wait_for
from tests.test_rollouts import Upstream

pytestmark = pytest.mark.e2e

ACTIVE_NAME = """() => {
  const a = document.activeElement;
  if (!a || a === document.body) return null;
  const text = (el) => (el ? el.innerText || el.textContent || '' : '').trim();
  if (a.getAttribute('aria-label')) return a.getAttribute('aria-label').trim();
  const by = a.getAttribute('aria-labelledby');
  if (by) return by.split(/\\s+/).map((id) => text(document.getElementById(id))).join(' ').trim();
  if (a.labels && a.labels.length) return Array.from(a.labels).map(text).join(' ').trim();
  return text(a) || String(a.value || '');
}"""


def focused_name(page: Page) -> str | None:
    """The focused element's accessible name (roughly: aria-label, its labels, or its text)."""
    return page.evaluate(ACTIVE_NAME)  # type: ignore[no-any-return]


def tab_to(page: Page, name: str | re.Pattern[str], limit: int = 80) -> None:
    """Presses Tab until the focused control is called `name` (the keyboard is the only input)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused_name(page) or ""
        if (name.fullmatch(now) is not None) if isinstance(name, re.Pattern) else now == name:
            return
    pytest.fail(f"Tab never reached {name!r}")


def remember_invoker(page: Page) -> None:
    page.evaluate("() => { window.__invoker = document.activeElement; }")


def expect_focus_back(page: Page) -> None:
    """Waits until focus is on the very element that opened the dialog (not <body>)."""
    page.wait_for_function("() => document.activeElement === window.__invoker && document.activeElement !== document.body")


def expect_focus_within(page: Page, selector: str) -> None:
    page.wait_for_function(
        "s => !!document.activeElement && document.activeElement !== document.body && !!document.activeElement.closest(s)",
        arg=selector,
    )


def confirm_with_reason(page: Page, reason: str, confirm: str) -> None:
    """In an open confirm dialog: type the reason, Tab to the confirm button, press Enter."""
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label(re.compile("Reason"))).to_be_focused()
    page.keyboard.type(reason)
    tab_to(page, confirm)
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)


DialogRole = Literal["dialog", "alertdialog"]


def open_and_escape(page: Page, control: str | re.Pattern[str], role: DialogRole = "alertdialog") -> None:
    tab_to(page, control)
    remember_invoker(page)
    page.keyboard.press("Enter")
    expect(page.get_by_role(role)).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role(role)).to_have_count(0)
    expect_focus_back(page)


def test_login_starts_in_the_username_field(context: BrowserContext, stack: Stack) -> None:
    pg = context.new_page()
    pg.goto("/login")
    expect(pg.get_by_label("Username")).to_be_focused()
    pg.keyboard.type("admin")
    pg.keyboard.press("Tab")
    pg.keyboard.type(stack.admin_password)
    pg.keyboard.press("Enter")
    expect(pg.get_by_role("navigation").first).to_be_visible()


def test_focus_returns_to_the_invoking_control_after_every_dialog(page: Page, stack: Stack) -> None:
    api = stack.api()

    # the palette, from its button and from Ctrl+K on a link
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    open_and_escape(page, re.compile(r"Commands\b.*", re.S), role="dialog")
    tab_to(page, "Runs")
    remember_invoker(page)
    page.keyboard.press("Control+k")
    expect(page.get_by_role("dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect_focus_back(page)

    # API tokens: create (form, then the secret shown once), then revoke
    name = _name("focus")
    page.goto("/admin/tokens")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    open_and_escape(page, "Create token", role="dialog")
    page.keyboard.press("Enter")  # focus is back on "Create token"
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Name")).to_be_focused()
    page.keyboard.type(name)
    tab_to(page, "system:read")
    page.keyboard.press("Space")
    tab_to(page, "Create token")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("token-secret")).to_be_visible()
    tab_to(page, "I have stored the secret")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("token-secret")).to_have_count(0)
    expect_focus_back(page)  # the "Create token" that started it
    open_and_escape(page, f"Revoke token {name}")
    page.keyboard.press("Enter")
    confirm_with_reason(page, "rotating", "Revoke token")
    expect(page.get_by_role("row").filter(has_text=name)).to_contain_text("Revoked")
    # the revoke button went with the token: focus stays in the tokens table, not on <body>
    expect_focus_within(page, "main")

    # a run waiting at its approval gate: Approve…/Cancel run… dismissed, then approved
    pname = _name("e2e-focus")
    pipeline = register(api, ship_spec(pname))
    run = start(api, pname, greeting="focus")
    wait_run(api, run["id"], lambda r: step_of(r, "gate")["status"] == "waiting")
    page.goto(f"/runs/{run['id']}")
    expect(page.get_by_role("button", name="Approve…")).to_be_visible()
    open_and_escape(page, "Approve…")
    open_and_escape(page, "Cancel run…")
    tab_to(page, "Approve…")
    page.keyboard.press("Enter")
    confirm_with_reason(page, "looks good", "Approve")
    # Approve… is gone once the gate opens: focus stays with the run's actions
    expect(page.get_by_role("button", name="Approve…")).to_have_count(0)
    expect_focus_within(page, "[role=group][aria-label='Run actions']")

    # "Start run…" moves focus into the form's first field
    page.goto(f"/pipelines/{pipeline['id']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(pname)
    tab_to(page, "Start run…")
    page.keyboard.press("Enter")
    expect(page.get_by_label("greeting (required)")).to_be_focused()

    # rollouts: the start dialog opens on its first field; a paused rollout's controls
    stable, canary = Upstream("stable"), Upstream("canary")
    try:
        svc = _name("e2e-focus-svc")
        assert api.post("/api/services", json={"name": svc, "env": "dev", "stableUrl": stable.url}).status_code == 201
        page.goto("/rollouts")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        tab_to(page, "Start rollout")
        remember_invoker(page)
        page.keyboard.press("Enter")
        expect(page.get_by_role("dialog").get_by_label("Service")).to_be_focused()
        page.keyboard.press("Escape")
        expect_focus_back(page)

        steps: list[dict[str, Any]] = [{"setWeight": 10}, {"pause": 0}, {"setWeight": 20}, {"pause": 0}]
        created = api.post("/api/rollouts", json={"service": svc, "canaryUrl": canary.url, "steps": steps, "reason": "focus"})
        assert created.status_code == 201, created.text
        page.goto(f"/rollouts/{created.json()['id']}")
        expect(page.get_by_test_id("rollout-status")).to_have_text("paused", timeout=30_000)
        open_and_escape(page, "Promote")
        open_and_escape(page, "Abort")
        tab_to(page, "Resume")
        remember_invoker(page)
        page.keyboard.press("Enter")
        confirm_with_reason(page, "carry on", "Resume")
        # Resume → running (Pause) → paused again at the next pause (Resume): the same control keeps focus
        expect(page.get_by_test_id("rollout-weight")).to_have_text("20", timeout=30_000)
        expect(page.get_by_test_id("rollout-status")).to_have_text("paused")
        expect_focus_back(page)
        api.post(f"/api/rollouts/{created.json()['id']}/actions", json={"action": "abort", "reason": "focus test done"})
    finally:
        stable.close()
        canary.close()


def test_the_runs_list_shows_a_dozen_runs_above_the_fold_at_1440x900(
    context: BrowserContext, stack: Stack, tmp_path: Path
) -> None:
    api = stack.api()
    # long names and labels: the kind that used to wrap onto three lines
    name = _name("e2e-density-of-a-rather-long-pipeline-name-for-wrapping")
    register(api, f"name: {name}\nsteps:\n  - id: a\n    run: echo hi\n")
    for i in range(14):
        r = api.post(
            "/api/runs",
            json={"pipeline": name, "env": "dev", "labels": {"team": "platform-engineering", "ticket": f"OPS-{1000 + i}"}},
        )
        assert r.status_code == 201, r.text
    pg = context.new_page()
    pg.set_viewport_size({"width": 1440, "height": 900})
    sign_in(pg, "admin", stack.admin_password)
    pg.goto(f"/runs?pipeline={name}")
    table = pg.get_by_role("table", name="Runs, newest first")
    expect(table.get_by_role("link", name=re.compile(re.escape(name)))).to_have_count(14)
    pg.screenshot(path=str(tmp_path / "runs-1440x900.png"))
    above = table.locator("tbody tr").evaluate_all(
        "rows => rows.filter((r) => r.getBoundingClientRect().bottom <= innerHeight).length"
    )
    assert above >= 12, f"only {above} runs above the fold at 1440x900 (screenshot: {tmp_path / 'runs-1440x900.png'})"
    # one line per run: the full name is in the tooltip
    first = table.get_by_role("link", name=re.compile(re.escape(name)))
    expect(first.first).to_have_attribute("title", re.compile(re.escape(name)))


ROUTER = Path(__file__).resolve().parents[2] / "frontend" / "src" / "app" / "router.tsx"


def router_paths() -> set[str]:
    """Every page route of the web UI, as router.tsx declares it ("/" for the index route)."""
    text = ROUTER.read_text()
    found = {"/" + p.lstrip("/") for p in re.findall(r'path: "([^"]+)"', text) if p not in {"/", "*"}}
    return found | ({"/"} if "index: true" in text else set()) | {"*"}


@pytest.mark.parametrize("color_scheme", ["light", "dark"], indirect=True)
def test_axe_clean_on_every_route_in_both_themes(page: Page, stack: Stack, color_scheme: str) -> None:
    """One URL per route of router.tsx (the test fails when a route has none), plus the run's tabs
    and the dialogs, in the theme under test; a firing alert and a paused rollout make the status
    ribbon amber and show the current release."""
    api = stack.api()
    assert api.post("/api/alerts/synthetic").status_code == 201
    alert_id = api.get("/api/alerts", params={"state": "firing", "limit": 1}).json()["items"][0]["id"]
    name = _name("e2e-axe-all")
    pipeline = register(
        api, f"name: {name}\nsteps:\n  - id: build\n    run: echo built\n  - id: test\n    needs: [build]\n    run: echo tested\n"
    )
    assert (
        api.put(
            f"/api/pipelines/{pipeline['id']}", json={"spec": f"name: {name}\nsteps:\n  - id: build\n    run: echo v2\n"}
        ).status_code
        == 200
    )
    run = wait_run(api, start(api, name)["id"], lambda r: r["status"] == "succeeded")
    policy = api.get("/api/policies").json()["items"][0]
    user = api.get("/api/users").json()["items"][0]
    stable, canary = Upstream("stable"), Upstream("canary")
    try:
        svc = _name("e2e-axe-svc")
        assert api.post("/api/services", json={"name": svc, "env": "dev", "stableUrl": stable.url}).status_code == 201
        steps: list[dict[str, Any]] = [{"setWeight": 10}, {"pause": 0}]
        rollout = api.post("/api/rollouts", json={"service": svc, "canaryUrl": canary.url, "steps": steps, "reason": "axe"})
        assert rollout.status_code == 201, rollout.text
        rollout_id = rollout.json()["id"]
        wait_for(lambda: api.get(f"/api/rollouts/{rollout_id}").json()["status"] == "paused", 60, 0.25)
        axe_cls = _name("e2e-axe-class")
        prov = api.put(f"/api/routing/providers/{axe_cls}", json={"kind": "openai", "baseUrl": "http://127.0.0.1:9/v1"})
        assert prov.status_code == 200, prov.text
        made = api.put(f"/api/routing/classes/{axe_cls}", json={"candidates": [{"provider": axe_cls, "model": "m"}]})
        assert made.status_code == 200, made.text
        # a whole-tenant budget far above what these tests spend (it never freezes anything)
        axe_budget = api.post("/api/budgets", json={"name": _name("e2e-axe-budget"), "capUsd": 100000, "thresholds": [90]})
        assert axe_budget.status_code == 201, axe_budget.text

        samples = {
            "/": "/",
            "/runs": "/runs",
            "/runs/:runId": f"/runs/{run['id']}",
            "/pipelines": "/pipelines",
            "/pipelines/new": "/pipelines/new",
            "/pipelines/:pipelineId": f"/pipelines/{pipeline['id']}",
            "/pipelines/:pipelineId/compare": f"/pipelines/{pipeline['id']}/compare?from=1&to=2",
            "/rollouts": "/rollouts",
            "/rollouts/:rolloutId": f"/rollouts/{rollout_id}",
            "/routing": "/routing",
            "/routing/classes/:name": f"/routing/classes/{axe_cls}",
            "/finops": "/finops",
            "/finops/budgets/:budgetId": f"/finops/budgets/{axe_budget.json()['id']}",
            "/finops/costs": "/finops/costs",
            "/observability": "/observability",
            "/observability/alerts": "/observability/alerts",
            "/observability/alerts/:alertId": f"/observability/alerts/{alert_id}",
            "/observability/insights": "/observability/insights",
            "/policies": "/policies",
            "/policies/decisions": "/policies/decisions",
            "/policies/:policyId": f"/policies/{policy['id']}",
            "/runbooks": "/runbooks",
            "/runbooks/:name": "/runbooks/synthetic-alert",
            "/admin/tokens": "/admin/tokens",
            "/admin/users": "/admin/users",
            "/admin/users/:userId": f"/admin/users/{user['id']}",
            "/admin/audit": "/admin/audit",
            "*": "/no-such-page",
        }
        assert set(samples) | {"/login"} == router_paths(), "give every route of router.tsx a sample URL here"
        tabs = [
            f"/runs/{run['id']}?tab={t}"
            for t in ("timeline", "logs", "steps", "artifacts", "observability", "attestations", "evidence")
        ]
        for path in [*samples.values(), *tabs]:
            page.goto(path)
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            expect(page.locator("#main [data-slot=skeleton]")).to_have_count(0)
            assert page.evaluate("() => document.documentElement.classList.contains('dark')") == (color_scheme == "dark")
            assert_axe_clean(page)
        expect(page.locator("[data-level]").first).to_have_attribute("data-level", re.compile("amber|red"))
        expect(page.get_by_test_id("ribbon-release")).to_be_visible()

        # dialogs and panels, open
        dialogs: list[tuple[str, str, DialogRole]] = [
            ("/rollouts", "Start rollout", "dialog"),
            ("/rollouts", "Register service", "dialog"),
            ("/admin/tokens", "Create token", "dialog"),
            ("/finops", "New budget", "dialog"),
            (f"/rollouts/{rollout_id}", "Abort", "alertdialog"),
        ]
        for path, button, role in dialogs:
            page.goto(path)
            page.get_by_role("button", name=button, exact=True).first.click()
            expect(page.get_by_role(role)).to_be_visible()
            assert_axe_clean(page)
        page.goto("/runs")
        page.get_by_role("button", name=re.compile("More filters")).click()
        expect(page.get_by_role("group", name="Status")).to_be_visible()
        assert_axe_clean(page)
    finally:
        stable.close()
        canary.close()

    # signed out: the login page
    page.context.clear_cookies()
    page.goto("/login")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert_axe_clean(page)

"""The UI foundation as a newcomer uses it: sign in, tokens, palette, keyboard, accessibility."""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Stack, assert_axe_clean, sign_in

pytestmark = pytest.mark.e2e


def test_create_use_and_revoke_a_token(page: Page, stack: Stack) -> None:
    name = f"ci-{uuid.uuid4().hex[:6]}"
    page.goto("/admin/tokens")
    page.get_by_role("button", name="Create token").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_role("checkbox", name="system:read").check()
    dialog.get_by_role("button", name="Create token").click()
    secret = page.get_by_test_id("token-secret").input_value()
    assert secret.startswith("mst_")
    page.get_by_role("button", name="I have stored the secret").click()
    expect(page.get_by_test_id("token-secret")).to_have_count(0)  # shown once, then gone

    # use it as CI would (curl-equivalent)
    r = httpx.get(f"{stack.base_url}/api/system/info", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 200

    page.get_by_role("button", name=f"Revoke token {name}").click()
    confirm = page.get_by_role("alertdialog")
    confirm.get_by_label("Reason").fill("rotating the CI secret")
    confirm.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_role("row").filter(has_text=name)).to_contain_text("Revoked")

    r = httpx.get(f"{stack.base_url}/api/system/info", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_palette_finds_a_user_and_the_token_audit_trail(page: Page, stack: Stack) -> None:
    api = stack.api()
    username = f"dana{uuid.uuid4().hex[:5]}"
    assert api.post("/api/users", json={"username": username, "password": "dana-password-123"}).status_code == 201
    tok = api.post("/api/tokens", json={"name": f"palette-{username}", "scopes": ["system:read"]}).json()
    assert api.post(f"/api/tokens/{tok['token']['id']}/revoke", json={"reason": "test"}).status_code == 200

    page.keyboard.press("Control+k")
    palette = page.get_by_role("dialog")
    palette.get_by_role("combobox").fill(username)
    expect(palette.get_by_role("option").filter(has_text=username).first).to_be_visible()
    palette.get_by_role("combobox").fill(f"palette-{username}")
    options = palette.get_by_role("option")
    expect(options.filter(has_text="token.create").first).to_be_visible()
    expect(options.filter(has_text="token.revoke").first).to_be_visible()
    palette.get_by_role("combobox").press("Escape")


NAV_PAGES = ["/admin/tokens", "/admin/users", "/admin/audit", "/"]


def test_every_page_is_reachable_with_the_keyboard_alone(page: Page) -> None:
    for target in NAV_PAGES:
        page.goto("/admin/audit" if target == "/" else "/")
        for _ in range(60):
            page.keyboard.press("Tab")
            href = page.evaluate("() => document.activeElement && document.activeElement.getAttribute('href')")
            if href and href.split("?")[0] == target:
                break
        else:
            pytest.fail(f"Tab never reached the link to {target}")
        page.keyboard.press("Enter")
        page.wait_for_url(
            lambda url, t=target: url.split("?")[0].endswith(t) if t != "/" else url.split("?")[0].rstrip("/").count("/") == 2
        )
        expect(page.get_by_role("heading", level=1)).to_be_visible()


@pytest.mark.parametrize("color_scheme", ["light", "dark"], indirect=True)
def test_axe_clean_on_every_page(page: Page, stack: Stack, color_scheme: str) -> None:
    api = stack.api()
    users = api.get("/api/users").json()["items"]
    pages = ["/", "/admin/tokens", "/admin/users", f"/admin/users/{users[0]['id']}", "/admin/audit", "/no-such-page"]
    for path in pages:
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert page.evaluate("() => document.documentElement.classList.contains('dark')") == (color_scheme == "dark")
        assert_axe_clean(page)
    # the palette open, and the signed-out login page
    page.keyboard.press("Control+k")
    expect(page.get_by_role("dialog")).to_be_visible()
    assert_axe_clean(page)
    page.context.clear_cookies()
    page.goto("/login")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert_axe_clean(page)


def test_wrong_password_shows_the_problem_detail(context, stack: Stack) -> None:  # type: ignore[no-untyped-def]
    pg = context.new_page()
    pg.goto("/login")
    pg.get_by_label("Username").fill("admin")
    pg.get_by_label("Password").fill("definitely wrong")
    pg.get_by_role("button", name="Sign in").click()
    expect(pg.get_by_role("alert")).to_contain_text("Wrong username or password")
    sign_in(pg, "admin", stack.admin_password)


def test_status_ribbon_is_green_and_environment_is_kept_in_the_url(page: Page) -> None:
    expect(page.locator("[data-health]")).to_have_attribute("data-health", "green", timeout=20_000)
    page.get_by_label("Environment").select_option("staging")
    page.wait_for_url("**env=staging**")
    page.goto("/admin/tokens?env=staging")
    page.get_by_role("link", name="Audit log").click()
    page.wait_for_url("**/admin/audit**env=staging**")

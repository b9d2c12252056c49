"""Browser tests: Debian's Chromium driven by Playwright against a real `maestro up` stack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.services import RunningStack, running_stack

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


Stack = RunningStack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not (ROOT / "frontend" / "dist" / "index.html").is_file():
        pytest.fail("the web UI is not built: run `make ui` (make test builds it before the browser tests)")
    # the alert evaluator ticks every 5 s here (30 s by default) so alerts fire within a test's patience;
    # steps see nothing of the host but a read-only directory the pool declares (`shared_dir`)
    shared = tmp_path_factory.mktemp("e2e-shared")
    shared.chmod(0o755)  # a toolchain must be readable by the step user (mktemp makes it 0700)
    fast = {"MAESTRO_ALERT_EVAL_INTERVAL_SECONDS": "5", "MAESTRO_RUNNER_TOOLCHAINS": json.dumps([str(shared)])}
    with running_stack(tmp_path_factory.mktemp("e2e-stack"), token_name="e2e-harness", extra_env=fast) as st:
        yield st


@pytest.fixture(scope="session")
def shared_dir(stack: Stack) -> Path:
    """A host directory every step sees read-only at the same path (the runner pool's declared toolchain)."""
    return Path(json.loads(stack.env["MAESTRO_RUNNER_TOOLCHAINS"])[0])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # module scope: the sync API keeps an event loop running in this thread while it is open,
    # which must not outlive the browser tests
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(params=["light"])
def color_scheme(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def context(browser: Browser, stack: Stack, color_scheme: str) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=stack.base_url, color_scheme=color_scheme)  # type: ignore[arg-type]
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


def sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation").first).to_be_visible()


@pytest.fixture
def page(context: BrowserContext, stack: Stack) -> Page:
    """A page signed in as the admin, on the Control Hub."""
    pg = context.new_page()
    sign_in(pg, "admin", stack.admin_password)
    return pg


_axe = Axe()


def assert_axe_clean(page: Page) -> None:
    page.wait_for_load_state("networkidle")
    # open/close animations change opacity (and so contrast): judge the settled page
    page.evaluate("() => Promise.all(document.getAnimations().map((a) => a.finished.catch(() => null)))")
    result = _axe.run(page)
    violations = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}" for v in result.response["violations"]
    ]
    assert violations == [], f"axe violations on {page.url}:\n" + "\n".join(violations)

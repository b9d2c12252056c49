"""Runs & Pipelines in the browser, against a real `maestro up`: start, follow, approve, download,
cancel, rerun-failed, and axe on every page of the section (light and dark)."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Stack, assert_axe_clean

pytestmark = pytest.mark.e2e

TERMINAL = {"succeeded", "failed", "cancelled", "error"}


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def register(api: httpx.Client, spec: str) -> dict[str, Any]:
    r = api.post("/api/pipelines", json={"spec": spec})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def start(api: httpx.Client, pipeline: str, **inputs: Any) -> dict[str, Any]:
    r = api.post("/api/runs", json={"pipeline": pipeline, "inputs": inputs, "env": "dev"})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def wait_run(api: httpx.Client, run_id: str, pred, timeout: float = 90) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        run = api.get(f"/api/runs/{run_id}").json()
        if pred(run):
            return run
        time.sleep(0.25)
    raise AssertionError(f"run {run_id} never reached the expected state; last: {run.get('status')} {run.get('steps')}")


def step_of(run: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in run["steps"] if s["key"] == key)


def ship_spec(name: str) -> str:
    return f"""
name: {name}
description: parallel build and test, an approval gate, an artifact
params:
  greeting: {{type: string, required: true}}
  target: {{type: string, enum: [linux, darwin], default: linux}}
steps:
  - id: build
    run: |
      mkdir -p dist
      echo "${{{{ params.greeting }}}} ${{{{ params.target }}}}" > dist/app.txt
      for i in $(seq 1 5); do printf '\\033[32mbuild\\033[0m line %s\\n' "$i"; sleep 0.3; done
    artifacts: ["dist/*.txt"]
  - id: test
    run: for i in $(seq 1 15); do echo "test line $i"; sleep 0.4; done
  - id: gate
    uses: approval
    needs: [build, test]
    with: {{message: "Ship it?"}}
  - id: ship
    needs: [gate]
    run: echo shipped
"""


def test_start_follow_approve_and_download_from_the_ui(page: Page, stack: Stack) -> None:
    api = stack.api()
    name = _name("e2e-ship")
    pipeline = register(api, ship_spec(name))

    # Start the run from the form generated from the spec's params.
    page.goto(f"/pipelines/{pipeline['id']}")
    expect(page.get_by_test_id("pipeline-graph")).to_have_attribute("data-node-count", "4")
    page.get_by_role("tab", name="Start run").click()
    form = page.get_by_role("form", name=f"Start a run of {name}")
    expect(form.get_by_label("target")).to_have_value("linux")
    form.get_by_role("button", name="Start run").click()
    expect(form.get_by_text("Required.")).to_be_visible()  # greeting is required
    form.get_by_label("greeting (required)").fill("hi-from-ui")
    form.get_by_label("target").select_option("darwin")
    form.get_by_label("Labels").fill("suite=e2e")
    form.get_by_role("button", name="Start run").click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f]+"))
    run_id = page.url.split("/runs/")[1].split("?")[0].split("#")[0]
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(rf"{name} #\d+"))

    created = api.get(f"/api/runs/{run_id}").json()
    assert created["inputs"] == {"greeting": "hi-from-ui", "target": "darwin"}
    assert created["labels"] == {"suite": "e2e"}

    # Steps arrive live on the timeline (no reload): build and test run in parallel, then the gate waits.
    timeline = page.get_by_test_id("run-timeline")
    expect(timeline.locator('[data-step="test"]')).to_have_attribute("data-status", "running", timeout=30_000)
    expect(timeline.locator('[data-step="build"]')).to_have_attribute("data-status", re.compile("running|succeeded"))

    # Logs arrive live while the test step prints.
    page.get_by_role("tab", name="Logs").click()
    viewer = page.get_by_test_id("log-viewer")
    expect(viewer).to_contain_text("test line", timeout=20_000)
    first = int(viewer.get_attribute("data-line-count") or "0")
    expect(viewer).to_contain_text("test line 15", timeout=30_000)
    assert int(viewer.get_attribute("data-line-count") or "0") > first, "no line arrived after the first ones"
    expect(page.get_by_test_id("log-status")).to_contain_text("live")

    # Per-step filter and a line permalink.
    page.get_by_label("Step", exact=True).select_option("build")
    expect(viewer).not_to_contain_text("test line")
    viewer.get_by_role("link", name="Line 2 of build").click()
    page.wait_for_url("**#Lbuild-2")
    expect(viewer.locator('[data-anchor="Lbuild-2"]')).to_have_class(re.compile("log-line-selected"))

    # The gate is waiting: approve it with a reason.
    page.get_by_role("button", name="Approve…").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Ship it?")
    dialog.get_by_label("Reason").fill("tests are green")
    dialog.get_by_role("button", name="Approve").click()
    expect(page.locator("dd [data-status]").first).to_have_attribute("data-status", "succeeded", timeout=60_000)
    done = api.get(f"/api/runs/{run_id}").json()
    gate = step_of(done, "gate")
    assert gate["status"] == "succeeded" and gate["decisionReason"] == "tests are green"

    # Download the artifact and check its digest.
    page.get_by_role("tab", name=re.compile("Artifacts")).click()
    expected = hashlib.sha256(b"hi-from-ui darwin\n").hexdigest()
    expect(page.get_by_test_id("artifact-sha256")).to_have_attribute("title", expected)
    with page.expect_download() as dl:
        page.get_by_role("link", name="Download dist/app.txt").click()
    data = Path(dl.value.path()).read_bytes()
    assert data == b"hi-from-ui darwin\n"
    assert hashlib.sha256(data).hexdigest() == expected == done["artifacts"][0]["sha256"]

    # The Steps tab shows the decision.
    page.get_by_role("tab", name=re.compile("Steps")).click()
    expect(page.get_by_role("row").filter(has_text="· approval")).to_contain_text("tests are green")


def test_a_new_run_appears_live_and_is_cancelled_from_the_ui(page: Page, stack: Stack) -> None:
    api = stack.api()
    name = _name("e2e-sleep")
    register(api, f"name: {name}\nsteps:\n  - id: nap\n    run: echo napping; sleep 300\n")

    page.goto(f"/runs?pipeline={name}")
    expect(page.get_by_text("No runs match these filters")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
    run = start(api, name)
    row = page.get_by_role("row").filter(has_text=f"{name} #{run['number']}")
    expect(row).to_be_visible(timeout=15_000)  # streamed in, no reload
    expect(row).to_contain_text("running", timeout=30_000)

    row.get_by_role("link", name=f"{name} #{run['number']}").click()
    page.get_by_role("button", name="Cancel run…").click()
    dialog = page.get_by_role("alertdialog")
    dialog.get_by_role("button", name="Cancel run").click()
    expect(dialog).to_contain_text("Give a reason")  # a reason is required
    dialog.get_by_label("Reason").fill("not needed any more")
    dialog.get_by_role("button", name="Cancel run").click()
    expect(page.locator("dd [data-status]").first).to_have_attribute("data-status", "cancelled", timeout=30_000)
    assert wait_run(api, run["id"], lambda r: r["status"] in TERMINAL)["status"] == "cancelled"
    # Controls follow the state: no cancel any more, rerun offered.
    expect(page.get_by_role("button", name="Cancel run…")).to_have_count(0)
    expect(page.get_by_role("button", name="Rerun failed steps")).to_be_visible()


def test_rerun_failed_runs_only_the_failed_step(page: Page, stack: Stack, shared_dir: Path) -> None:
    api = stack.api()
    name = _name("e2e-flaky")
    marker = shared_dir / f"{name}-ready"
    register(
        api,
        f"""
name: {name}
steps:
  - id: prep
    run: echo preparing
  - id: flaky
    needs: [prep]
    run: test -f {marker} || {{ echo "missing {marker}" >&2; exit 3; }}; echo found it
""",
    )
    first = start(api, name)
    failed = wait_run(api, first["id"], lambda r: r["status"] in TERMINAL)
    assert failed["status"] == "failed" and step_of(failed, "flaky")["exitCode"] == 3

    marker.write_text("ok")
    page.goto(f"/runs/{first['id']}?tab=steps")
    expect(page.get_by_role("row").filter(has_text="flaky")).to_contain_text("failed")
    page.get_by_role("button", name="Rerun failed steps").click()
    page.wait_for_url(lambda url: "/runs/" in url and first["id"] not in url)
    new_id = page.url.split("/runs/")[1].split("?")[0].split("#")[0]
    expect(page.locator("dd [data-status]").first).to_have_attribute("data-status", "succeeded", timeout=60_000)

    rerun = api.get(f"/api/runs/{new_id}").json()
    assert rerun["rerunOf"] == first["id"]
    assert step_of(rerun, "prep")["reusedFrom"], "the succeeded step ran again"
    assert step_of(rerun, "flaky")["reusedFrom"] is None and step_of(rerun, "flaky")["status"] == "succeeded"
    lines = [ln for ln in api.get(f"/api/runs/{new_id}/logs").text.splitlines() if ln.strip()]
    assert lines and {re.search(r'"step": ?"([^"]+)"', ln).group(1) for ln in lines} == {"flaky"}  # type: ignore[union-attr]

    page.get_by_role("tab", name=re.compile("Steps")).click()
    expect(page.get_by_role("row", name=re.compile(r"^prep prep"))).to_contain_text("Reused from run")


@pytest.mark.parametrize("color_scheme", ["light", "dark"], indirect=True)
def test_axe_clean_on_the_runs_and_pipelines_pages(page: Page, stack: Stack, color_scheme: str) -> None:
    api = stack.api()
    name = _name("e2e-axe")
    pipeline = register(api, ship_spec(name))
    v2 = api.put(
        f"/api/pipelines/{pipeline['id']}",
        json={"spec": ship_spec(name).replace("    run: echo shipped", "    run: echo shipped v2\n    retries: 1")},
    )
    assert v2.status_code == 200 and v2.json()["latestVersion"] == 2, v2.text
    run = start(api, name, greeting="axe")
    wait_run(api, run["id"], lambda r: step_of(r, "gate")["status"] == "waiting")

    pages = [
        ("/runs", "Runs"),
        (f"/runs/{run['id']}", f"{name} #"),
        (f"/runs/{run['id']}?tab=logs", f"{name} #"),
        (f"/runs/{run['id']}?tab=steps", f"{name} #"),
        (f"/runs/{run['id']}?tab=artifacts", f"{name} #"),
        ("/pipelines", "Pipelines"),
        (f"/pipelines/{pipeline['id']}", name),
        (f"/pipelines/{pipeline['id']}?tab=run", name),
        (f"/pipelines/{pipeline['id']}?tab=versions", name),
        (f"/pipelines/{pipeline['id']}?tab=edit", name),
        (f"/pipelines/{pipeline['id']}/compare?from=1&to=2", "Compare versions"),
        ("/pipelines/new", "New pipeline"),
    ]
    for path, heading in pages:
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        assert page.evaluate("() => document.documentElement.classList.contains('dark')") == (color_scheme == "dark")
        if "tab=logs" in path:
            expect(page.get_by_test_id("log-viewer")).to_contain_text("test line")
        if path.endswith("compare?from=1&to=2"):
            expect(page.get_by_test_id("pipeline-graph")).to_be_visible()
        assert_axe_clean(page)

    # The approval dialog, open.
    page.goto(f"/runs/{run['id']}")
    page.get_by_role("button", name="Approve…").click()
    expect(page.get_by_role("alertdialog")).to_be_visible()
    assert_axe_clean(page)
    page.keyboard.press("Escape")
    api.post(f"/api/runs/{run['id']}/actions", json={"action": "reject", "reason": "axe test done"})


def test_a_step_shows_the_command_it_really_ran_and_the_input_stays_text(page: Page, stack: Stack) -> None:
    """An operator sees what the shell executed: the input as an env reference, printed literally in the log."""
    api = stack.api()
    name = _name("e2e-greet")
    register(
        api,
        f'name: {name}\nparams:\n  greeting: {{default: hi}}\nsteps:\n- id: say\n  run: echo "hello ${{{{ params.greeting }}}}"\n',
    )
    evil = 'x"; touch pwned; echo "'
    run = start(api, name, greeting=evil)
    wait_run(api, run["id"], lambda r: r["status"] in TERMINAL)
    page.goto(f"/runs/{run['id']}?tab=steps")
    row = page.get_by_role("row").filter(has_text="say")
    expect(row).to_contain_text("succeeded")
    row.get_by_text("Command").click()
    expect(page.get_by_label("The command say executes")).to_have_text('echo "hello ${MAESTRO_EXPR_PARAMS_GREETING}"')
    expect(page.get_by_test_id("isolation-badge")).to_have_count(0)  # sandboxed: no warning
    page.get_by_role("tab", name=re.compile("Logs")).click()
    expect(page.get_by_text(f"hello {evil}", exact=True)).to_be_visible()

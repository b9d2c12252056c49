"""The run detail's Trace tab in the browser, against a real `maestro up`: the waterfall of the
API request, the workflow and the step activities (worker and runner), expandable attributes,
keyboard access, and axe in light and dark."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Stack, assert_axe_clean

pytestmark = pytest.mark.e2e

TERMINAL = {"succeeded", "failed", "cancelled", "error"}


def _register_and_run(api: httpx.Client) -> dict[str, Any]:
    name = f"e2e-trace-{uuid.uuid4().hex[:6]}"
    spec = f"""
name: {name}
steps:
  - id: build
    run: echo building
  - id: test
    needs: [build]
    run: echo testing
"""
    r = api.post("/api/pipelines", json={"spec": spec})
    assert r.status_code == 201, r.text
    r = api.post("/api/runs", json={"pipeline": name, "inputs": {}, "env": "dev"})
    assert r.status_code == 201, r.text
    run: dict[str, Any] = r.json()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        run = api.get(f"/api/runs/{run['id']}").json()
        if run["status"] in TERMINAL:
            break
        time.sleep(0.25)
    assert run["status"] == "succeeded", run
    return run


def _wait_trace(api: httpx.Client, run_id: str, timeout: float = 30) -> dict[str, Any]:
    """Spans are exported in batches a moment after they end: wait for both steps' runner spans and
    for every parent of a span that has arrived."""
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        r = api.get(f"/api/runs/{run_id}/trace")
        assert r.status_code == 200, r.text
        body = r.json()
        step_spans = [s for s in body["spans"] if "run_step" in s["name"] and s["service"] == "maestro-runner"]
        ids = {s["spanId"] for s in body["spans"]}
        orphans = [s for s in body["spans"] if s["parentId"] and s["parentId"] not in ids]
        workflow = any("RunWorkflow:RunWorkflow" in s["name"] for s in body["spans"])
        if len(step_spans) >= 2 and workflow and not orphans:  # every span's parent has been exported too
            return body
        time.sleep(0.3)
    raise AssertionError(
        f"the trace of run {run_id} never got its runner spans: {[(s['service'], s['name']) for s in body.get('spans', [])]}"
    )


@pytest.mark.parametrize("color_scheme", ["light", "dark"], indirect=True)
def test_trace_waterfall_of_a_run(page: Page, stack: Stack, color_scheme: str) -> None:
    api = stack.api()
    run = _register_and_run(api)
    trace = _wait_trace(api, run["id"])

    page.goto(f"/runs/{run['id']}?tab=trace")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{run['pipelineName']} #")
    assert page.evaluate("() => document.documentElement.classList.contains('dark')") == (color_scheme == "dark")
    expect(page.get_by_role("tab", name="Observability")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_test_id("trace-id")).to_have_text(trace["traceId"])
    expect(page.get_by_role("button", name="Copy the trace id")).to_be_visible()

    # Step metrics sit above the waterfall: every step of the run, with its duration
    expect(page.get_by_role("heading", level=2, name="Step metrics")).to_be_visible()
    metrics = page.get_by_role("table", name=re.compile(r"^Step metrics"))
    for step in api.get(f"/api/runs/{run['id']}").json()["steps"]:
        expect(metrics.get_by_role("row").filter(has_text=step["name"]).first).to_be_visible()
    expect(page.get_by_test_id("metric-wall")).not_to_be_empty()

    waterfall = page.get_by_role("list", name=f"Spans of trace {trace['traceId']}")
    rows = waterfall.locator("li[data-span-id]")
    expect(rows.first).to_be_visible()
    assert rows.count() >= len(trace["spans"])  # more spans may have been exported since

    # The API request is the root, first in the waterfall; the workflow and the steps nest under it.
    root = rows.first
    expect(root).to_have_attribute("data-depth", "0")
    expect(root).to_have_attribute("data-service", "maestro-api")
    expect(waterfall.locator("li[data-depth='0']")).to_have_count(1)
    workflow = (
        waterfall.locator("li[data-service='maestro-worker']")
        .filter(has=page.get_by_role("button", name=re.compile(r"^RunWorkflow:RunWorkflow")))
        .first
    )
    expect(workflow).to_be_visible()
    runner_steps = waterfall.locator("li[data-service='maestro-runner']").filter(
        has=page.get_by_role("button", name=re.compile(r"run_step"))
    )
    expect(runner_steps.first).to_be_visible()
    assert runner_steps.count() >= 2
    workflow_depth = int(workflow.get_attribute("data-depth") or "0")
    step_depth = int(runner_steps.first.get_attribute("data-depth") or "0")
    assert workflow_depth >= 1 and step_depth > workflow_depth, (workflow_depth, step_depth)

    # Expand a step's row: its attributes appear (the click target is the row's button).
    step_span_id = runner_steps.first.get_attribute("data-span-id")
    span = next(s for s in trace["spans"] if s["spanId"] == step_span_id)
    step_row = runner_steps.first.get_by_role("button").first
    expect(step_row).to_have_attribute("aria-expanded", "false")
    step_row.click()
    expect(step_row).to_have_attribute("aria-expanded", "true")
    details = page.locator(f"#{step_row.get_attribute('aria-controls')}")
    expect(details).to_contain_text(span["spanId"])
    assert span["attributes"], f"the step span has no attributes: {span}"
    for key, value in sorted(span["attributes"].items()):
        attr = details.locator(f"[data-attribute='{key}']")
        expect(attr).to_contain_text(key)
        if isinstance(value, str):
            expect(attr).to_contain_text(value)

    # Keyboard: Enter on the focused root row expands it too.
    root_row = root.get_by_role("button").first
    root_row.focus()
    page.keyboard.press("Enter")
    expect(root_row).to_have_attribute("aria-expanded", "true")

    assert_axe_clean(page)

    # The tab is addressable: switching tabs keeps it in the URL.
    page.get_by_role("tab", name="Timeline").click()
    expect(page).to_have_url(re.compile(r"tab=timeline"))
    page.get_by_role("tab", name="Observability").click()
    expect(page).to_have_url(re.compile(r"tab=observability"))
    expect(waterfall).to_be_visible()

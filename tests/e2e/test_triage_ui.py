"""Failure triage in the browser, against a real `maestro up`: a failed run's header names the step, its
exit code and last stderr lines; the log filters structured lines by field and steps through find matches;
the omnibar finds the run's artifact by digest."""

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

SPEC = """
name: {name}
steps:
  - id: serve
    run: |
      echo 'level=info status=200 path=/health msg=ok'
      echo '{{"level":"error","http":{{"status":503}},"msg":"bank timeout"}}'
      echo 'level=error status=500 msg="upstream timeout"' >&2
      for i in $(seq 1 12); do echo "trace line $i" >&2; done
      mkdir -p dist && echo "{name}" > dist/triage.txt
      exit 7
    artifacts: ["dist/*.txt"]
"""


def _failed_run(api: httpx.Client) -> dict[str, Any]:
    name = f"triage-{uuid.uuid4().hex[:6]}"
    r = api.post("/api/pipelines", json={"spec": SPEC.format(name=name)})
    assert r.status_code == 201, r.text
    r = api.post("/api/runs", json={"pipeline": name, "env": "dev"})
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        run: dict[str, Any] = api.get(f"/api/runs/{run_id}").json()
        if run["status"] == "failed":
            return run
        assert run["status"] in {"queued", "running"}, run
        time.sleep(0.25)
    raise AssertionError(f"run {run_id} did not fail in time")


def test_a_failed_run_is_triaged_from_its_header_log_and_the_omnibar(page: Page, stack: Stack) -> None:
    run = _failed_run(stack.api())
    page.goto(f"/runs/{run['id']}")
    failure = page.get_by_role("region", name=re.compile("Failed at step"))
    expect(failure.get_by_role("heading")).to_have_text("Failed at step serve · exit code 7")
    tail = failure.get_by_role("list", name="Last stderr lines of serve").get_by_role("listitem")
    expect(tail).to_have_count(10)
    expect(tail.last).to_have_text(re.compile(r"^\d+errtrace line 12$"))
    expect(tail.first).to_have_text(re.compile(r"^\d+errtrace line 3$"))
    assert_axe_clean(page)

    # the last stderr line, in the log: selected, stderr marked with a word
    failure.get_by_role("link", name=re.compile("of serve in the log")).last.click()
    expect(page).to_have_url(re.compile(r"tab=logs.*#Lserve-\d+$"))
    viewer = page.get_by_test_id("log-viewer")
    stderr_rows = viewer.locator('[data-stream="stderr"]')
    expect(stderr_rows.first).to_contain_text("err")

    page.get_by_label("Field filter").fill("level=error")
    page.get_by_label("Field filter").press("Enter")
    expect(page.get_by_test_id("log-status")).to_contain_text("2 of")
    expect(viewer).to_have_attribute("data-line-count", "2")  # a logfmt line (stderr) and a JSON line (stdout)
    find = page.get_by_role("searchbox", name="Find")
    find.fill("timeout")
    find.press("Enter")
    expect(page.get_by_test_id("find-count")).to_have_text("1 of 2")
    find.press("Enter")
    expect(page.get_by_test_id("find-count")).to_have_text("2 of 2")
    find.press("Shift+Enter")
    expect(page.get_by_test_id("find-count")).to_have_text("1 of 2")
    assert_axe_clean(page)

    # the omnibar finds the run's artifact by the first characters of its digest
    digest = run["artifacts"][0]["sha256"]
    box = page.get_by_role("combobox", name=re.compile("Search Maestro"))
    box.fill(digest[:10])
    hit = page.get_by_role("option", name=re.compile(r"triage\.txt"))
    expect(hit).to_contain_text("artifact")
    box.press("Enter")
    expect(page).to_have_url(re.compile(rf"/runs/{run['id']}\?tab=artifacts"))

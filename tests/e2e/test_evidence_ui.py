"""The seed's flow 1 in the browser: start → observe → complete a run with logs and artifacts → generate
the witness bundle in the UI → download it → `maestro evidence verify` passes. Plus attestations and axe."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Stack, assert_axe_clean
from tests.e2e.test_runs_ui import _name, register, wait_run

pytestmark = pytest.mark.e2e


def flow_spec(name: str) -> str:
    return f"""
name: {name}
description: build, sign, ship (the seed's flow 1)
steps:
  - id: build
    run: |
      mkdir -p dist
      for i in $(seq 1 6); do echo "compiling unit $i"; sleep 0.3; done
      echo "release 1.0" > dist/release.txt
    artifacts: ["dist/*.txt"]
  - id: sign
    uses: sign
    needs: [build]
    with: {{artifacts: ["dist/*.txt"]}}
"""


def test_flow_1_run_then_witness_bundle_verified_offline(page: Page, stack: Stack, tmp_path: Path) -> None:
    api = stack.api()
    name = _name("e2e-flow1")
    pipeline = register(api, flow_spec(name))

    # start from the UI and observe it live
    page.goto(f"/pipelines/{pipeline['id']}")
    page.get_by_role("tab", name="Start run").click()
    page.get_by_role("form", name=f"Start a run of {name}").get_by_role("button", name="Start run").click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f]+"))
    run_id = page.url.split("/runs/")[1].split("?")[0].split("#")[0]
    page.get_by_role("tab", name="Logs").click()
    expect(page.get_by_test_id("log-viewer")).to_contain_text("compiling unit 6", timeout=30_000)
    done = wait_run(api, run_id, lambda r: r["status"] in {"succeeded", "failed"})
    assert done["status"] == "succeeded", done

    # attestations: signed provenance (SLSA L2) and the artifact's signature, verified
    page.get_by_role("tab", name="Attestations").click()
    expect(page.get_by_text(re.compile(r"SLSA Build L2"))).to_be_visible(timeout=15_000)
    assert_axe_clean(page)

    # the witness bundle, generated and downloaded from the UI
    page.get_by_role("tab", name="Evidence").click()
    page.get_by_role("button", name="Generate witness bundle").click()
    expect(page.get_by_test_id("evidence-status")).to_have_text("succeeded", timeout=90_000)
    summary = page.get_by_test_id("evidence-summary")
    expect(summary).to_contain_text("denied")
    assert_axe_clean(page)
    with page.expect_download() as dl:
        page.get_by_role("link", name="Download witness bundle").click()
    bundle = tmp_path / "bundle.zip"
    dl.value.save_as(bundle)

    bundles = api.get(f"/api/runs/{run_id}/evidence").json()["items"]
    assert bundles[0]["status"] == "succeeded" and bundles[0]["summary"]["denyTestDenied"] is True
    key = tmp_path / "maestro.pub"
    key.write_bytes(api.get(f"/api/keys/{bundles[0]['keyid']}.pem").content)
    out = subprocess.run(
        [sys.executable, "-m", "maestro.cli", "evidence", "verify", str(bundle), "--key", str(key)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "bundle OK" in out.stdout and run_id in out.stdout


@pytest.mark.parametrize("color_scheme", ["light", "dark"], indirect=True)
def test_policy_pages_show_compile_errors_and_are_axe_clean(page: Page, stack: Stack, color_scheme: str) -> None:
    page.goto("/policies")
    expect(page.get_by_role("heading", level=1, name="Policies")).to_be_visible()
    table = page.get_by_role("table", name="Policies")
    expect(table).to_contain_text("no-privileged-commands")
    assert_axe_clean(page)
    table.get_by_role("link", name="no-privileged-commands").click()
    expect(page.get_by_role("heading", level=1, name="no-privileged-commands")).to_be_visible()
    assert_axe_clean(page)
    # an old-style rule is refused with its line and column, shown by the editor; nothing is saved
    form = page.get_by_role("form", name="Edit no-privileged-commands")
    source = form.get_by_label(re.compile("Source"))
    source.fill('package maestro.admission.privileged\n\nimport rego.v1\n\ndeny[msg] {\n  msg := "x"\n}\n')
    form.get_by_role("button", name="Save changes").click()
    errors = page.get_by_test_id("compile-errors")
    expect(errors).to_contain_text("line 5, column 1")
    expect(errors).to_contain_text("deny contains msg if {")
    assert_axe_clean(page)
    expect(page.get_by_test_id("policy-revision")).to_contain_text("1")
    page.goto("/policies/decisions")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_axe_clean(page)

"""The seed's flow 5 in the browser: create a budget on a pipeline in the UI, start runs until its
threshold (the budget shows Warning, a BudgetWarning alert is listed), the breach freezes it (the UI
shows Frozen, the next run start is refused with a 409 naming the budget), unfreeze in the UI with a
reason (runs start again), and the cost explorer's CSV export holds exactly the ledger rows of the
pipeline's runs, summing to the total the explorer shows."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pyarrow
import pyarrow.parquet
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Stack, assert_axe_clean
from tests.services import running_stack, wait_for

pytestmark = pytest.mark.e2e

SPEND = """
name: {name}
steps:
  - id: work
    run: sleep 0.3
"""
TERMINAL = {"succeeded", "failed", "cancelled", "error"}
WAIT_MS = 60_000


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """This module's own stack: a runner-second costs $1 (a few short runs cross a small cap) and
    budgets re-read the ledger every half second, so thresholds fire within a test's patience."""
    fast = {
        "MAESTRO_ALERT_EVAL_INTERVAL_SECONDS": "5",
        "MAESTRO_RATE_CARD": json.dumps({"default": 1.0}),
        "MAESTRO_BUDGET_TICK_SECONDS": "0.5",
    }
    with running_stack(tmp_path_factory.mktemp("e2e-finops"), token_name="e2e-finops", extra_env=fast) as st:
        yield st


def run_to_end(api: httpx.Client, pipeline: str) -> dict[str, Any]:
    r = api.post("/api/runs", json={"pipeline": pipeline, "env": "dev"})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    done: dict[str, Any] = wait_for(lambda: (b := api.get(f"/api/runs/{rid}").json()) and b["status"] in TERMINAL and b, 90, 0.1)
    assert done["status"] == "succeeded", done
    return done


def test_flow_5_budget_threshold_freeze_unfreeze_and_csv_export_in_the_ui(page: Page, stack: Stack) -> None:
    api = stack.api()
    name = f"spendy-{uuid.uuid4().hex[:6]}"
    budget_name = f"{name}-monthly"
    r = api.post("/api/pipelines", json={"spec": SPEND.format(name=name)})
    assert r.status_code == 201, r.text
    # one run first: its cost sizes the cap so the threshold comes a run or two before the breach
    runs = [run_to_end(api, name)]
    first = runs[0]["costUsd"]
    assert first > 0
    cap = round(first * 3.5, 2)

    # the budget, created in the UI
    page.goto("/finops")
    expect(page.get_by_text("No budgets yet")).to_be_visible()
    assert_axe_clean(page)
    page.get_by_role("button", name="New budget").click()
    dialog = page.get_by_role("dialog", name="New budget")
    dialog.get_by_label("Name (required)").fill(budget_name)
    dialog.get_by_label("Pipeline").fill(name)
    dialog.get_by_label("Cap (USD)").fill(str(cap))
    dialog.get_by_label("Thresholds (% of the cap)").fill("50, 100")
    dialog.get_by_role("button", name="Create budget").click()
    expect(page.get_by_role("heading", name=f"Budget {budget_name}")).to_be_visible()
    bid = re.search(r"/finops/budgets/([^/?#]+)", page.url).group(1)  # type: ignore[union-attr]
    state = page.get_by_test_id("budget-state")

    def budget() -> dict[str, Any]:
        got: dict[str, Any] = api.get(f"/api/budgets/{bid}").json()
        return got

    # runs until the threshold, then until the breach; the page follows the budgets stream
    warned = False
    for _ in range(12):
        runs.append(run_to_end(api, name))
        spent = sum(x["costUsd"] for x in runs)
        b = wait_for(lambda want=spent: (x := budget()) and x["spentUsd"] >= want - 1e-6 and x, 60, 0.1)
        if b["frozen"] or b["percent"] >= 100:
            break
        if 50 in b["firedThresholds"] and not warned:
            expect(state).to_have_text("Warning", timeout=WAIT_MS)
            expect(page.get_by_role("table", name="Budget history, newest first").get_by_text("threshold").first).to_be_visible(
                timeout=WAIT_MS
            )
            warned = True
    assert warned, "the threshold fired only together with the breach: the runs cost more than the cap allows for"
    page.goto("/observability/alerts")
    expect(page.get_by_text("BudgetWarning").first).to_be_visible(timeout=WAIT_MS)

    # the breach froze the scope: shown on the budget, and the next run start is refused naming it
    page.goto(f"/finops/budgets/{bid}")
    expect(state).to_have_text("Breached", timeout=WAIT_MS)
    expect(page.get_by_text("Frozen", exact=True)).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_test_id("ribbon-frozen-budget")).to_contain_text(budget_name)
    assert_axe_clean(page)
    refused = api.post("/api/runs", json={"pipeline": name, "env": "dev"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("/budget-frozen") and budget_name in refused.json()["detail"]
    expect(page.get_by_role("table", name="Budget history, newest first").get_by_text("refused").first).to_be_visible(
        timeout=WAIT_MS
    )

    # unfreeze in the UI with a reason: runs start again
    page.get_by_role("button", name=f"Unfreeze budget {budget_name}").click()
    confirm = page.get_by_role("alertdialog", name=f"Unfreeze budget {budget_name}?")
    confirm.get_by_label("Reason (required)").fill("finance approved the overrun")
    confirm.get_by_role("button", name="Unfreeze").click()
    expect(confirm).to_be_hidden()
    expect(page.get_by_text("Frozen", exact=True)).to_be_hidden(timeout=WAIT_MS)
    expect(
        page.get_by_role("table", name="Budget history, newest first").get_by_text("finance approved the overrun")
    ).to_be_visible(timeout=WAIT_MS)
    runs.append(run_to_end(api, name))

    # the explorer's CSV export for the pipeline: exactly its runs' ledger rows, summing to the UI's total
    spent = sum(x["costUsd"] for x in runs)
    wait_for(lambda: budget()["spentUsd"] >= spent - 1e-6, 60, 0.1)
    page.goto(f"/finops/costs?pipeline={name}")
    total = page.get_by_test_id("costs-total")
    expect(total).to_contain_text("Total $")
    assert_axe_clean(page)
    shown = float(re.search(r"Total \$([\d,]+\.\d+)", total.inner_text()).group(1).replace(",", ""))  # type: ignore[union-attr]
    href = page.get_by_role("link", name="Export CSV").get_attribute("href")
    assert href and "format=csv" in href and f"pipeline={name}" in href
    exported = page.request.get(href)
    assert exported.ok, exported.text()
    rows = list(csv.DictReader(io.StringIO(exported.text())))
    assert sorted(r["runId"] for r in rows) == sorted(x["id"] for x in runs)
    assert all(r["pipeline"] == name and r["source"] == "run-step" for r in rows)
    csv_sum = sum(float(r["usd"]) for r in rows)
    assert csv_sum == pytest.approx(spent, abs=1e-6)
    assert shown == pytest.approx(csv_sum, abs=0.005)  # the UI shows cents
    # the Parquet button's file reads back with pyarrow to the same rows
    pq_href = page.get_by_role("link", name="Export Parquet").get_attribute("href")
    assert pq_href and "format=parquet" in pq_href and f"pipeline={name}" in pq_href
    pq = page.request.get(pq_href)
    assert pq.ok, pq.text()
    table = pyarrow.parquet.read_table(pyarrow.BufferReader(pq.body())).to_pylist()
    assert sorted((t["runId"], t["usd"]) for t in table) == sorted((r["runId"], float(r["usd"])) for r in rows)

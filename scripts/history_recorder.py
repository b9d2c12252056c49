"""pytest plugin used by scripts/record_histories.py: after each test of a (possibly old) checkout, the
history of every workflow the test started on its control task queue is written to
$MAESTRO_HISTORY_OUT/<test node id>/<workflow id>.json, with an index.jsonl line per history.

Loaded with `-p history_recorder` (scripts/ on PYTHONPATH); it only reads the test's `settings` fixture,
which every checkout since the first workflow has.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client


async def _dump(settings: Any, out: Path, test: str) -> None:
    address = getattr(settings, "effective_temporal_address", None) or settings.temporal_address
    client = await Client.connect(address, namespace=getattr(settings, "temporal_namespace", "default"))
    queue = settings.control_task_queue
    async for w in client.list_workflows(f"TaskQueue = '{queue}'"):
        history = await client.get_workflow_handle(w.id, run_id=w.run_id).fetch_history()
        d = out / test
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{w.id}.json").write_text(history.to_json())
        status = w.status.name if w.status else None
        entry = {"test": test, "workflow_id": w.id, "workflow_type": w.workflow_type, "status": status}
        with (out / "index.jsonl").open("a") as f:
            f.write(json.dumps(entry) + "\n")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    settings = getattr(item, "funcargs", {}).get("settings")
    out = os.environ.get("MAESTRO_HISTORY_OUT")
    if settings is not None and out:
        asyncio.run(_dump(settings, Path(out), re.sub(r"[^\w.-]+", "_", item.nodeid)))
    yield

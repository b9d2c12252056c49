"""Prometheus rules pass promtool; dashboards only query metrics the API really exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1] / "dashboards"


def test_rules_pass_promtool() -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: run `make test-deps` (installs Debian's prometheus)"
    for rules in (ROOT / "prometheus").glob("*.yml"):
        out = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr


def test_dashboards_use_exported_metrics(client: TestClient) -> None:
    client.get("/api/health")
    text = client.get("/metrics").text
    exported = set(re.findall(r"^(maestro_[a-z_]+?)(?:_bucket|_count|_sum|_total|_created)?[{ ]", text, re.M))
    exported |= set(re.findall(r"^# TYPE (maestro_[a-z_]+?)(?:_total)? ", text, re.M))  # families with no sample yet
    rules = (ROOT / "prometheus" / "maestro-api.rules.yml").read_text()
    recorded = set(re.findall(r"record: (\S+)", rules))
    for f in (ROOT / "grafana").glob("*.json"):
        for panel in json.loads(f.read_text())["panels"]:
            for target in panel["targets"]:
                names = set(re.findall(r"\b(maestro[:_][a-z0-9_:]+)", target["expr"]))
                for n in names:
                    base = re.sub(r"_(bucket|count|sum|total)$", "", n)
                    assert n in recorded or base in exported, f"{f.name}: {n} is not exported"

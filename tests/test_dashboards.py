"""Prometheus rules pass promtool; dashboards only query metrics the API really exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from fastapi.testclient import TestClient

from tests.factories import login

ROOT = Path(__file__).resolve().parents[1] / "dashboards"


def test_rules_pass_promtool() -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: run `make test-deps` (installs Debian's prometheus)"
    for rules in (ROOT / "prometheus").glob("*.yml"):
        out = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr


def test_rule_unit_tests_pass() -> None:
    """promtool feeds series to the rules and checks which alerts fire (dashboards/prometheus/tests)."""
    promtool = shutil.which("promtool")
    assert promtool
    tests = sorted((ROOT / "prometheus" / "tests").glob("*.yml"))
    assert tests
    out = subprocess.run([promtool, "test", "rules", *map(str, tests)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_generated_rules_match_the_built_in_evaluator() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT.parent / "scripts" / "gen_rules.py"), "--check"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_rule_links_an_existing_runbook() -> None:
    for rules in (ROOT / "prometheus").glob("*.yml"):
        for group in yaml.safe_load(rules.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:  # an absolute link to the runbook page of the UI, whose file exists
                    url = rule["annotations"]["runbook_url"]
                    prefix = "http://localhost:8000/runbooks/"
                    assert url.startswith(prefix), f"{rules.name}: {rule['alert']} links {url}, not an absolute runbook URL"
                    page = ROOT.parent / "docs" / "runbooks" / f"{url.removeprefix(prefix)}.md"
                    assert page.is_file(), f"{rules.name}: {rule['alert']} links missing {url}"
                    assert rule["labels"]["source"] == "prometheus", rule["alert"]


def test_dashboards_use_exported_metrics(client: TestClient) -> None:
    client.get("/api/health")
    text = client.get("/metrics").text
    exported = set(re.findall(r"^(maestro_[a-z_]+?)(?:_bucket|_count|_sum|_total|_created)?[{ ]", text, re.M))
    exported |= set(re.findall(r"^# TYPE (maestro_[a-z_]+?)(?:_total)? ", text, re.M))  # families with no sample yet
    rules = "".join(p.read_text() for p in (ROOT / "prometheus").glob("*.yml"))
    recorded = set(re.findall(r"record: (\S+)", rules))
    for f in (ROOT / "grafana").glob("*.json"):
        for panel in json.loads(f.read_text())["panels"]:
            for target in panel["targets"]:
                names = set(re.findall(r"\b(maestro[:_][a-z0-9_:]+)", target["expr"]))
                for n in names:
                    base = re.sub(r"_(bucket|count|sum|total)$", "", n)
                    assert n in recorded or base in exported, f"{f.name}: {n} is not exported"


def test_a_new_pipeline_and_policy_export_their_counters_at_zero(client: TestClient) -> None:
    """So that Prometheus sees the first failures as an increase (RunFailureSpike, PolicyDenialSpike)."""
    caller = login(client)
    assert caller.post("/api/pipelines", json={"spec": "name: brand-new\nsteps: [{id: a, run: 'true'}]\n"}).status_code == 201
    text = client.get("/metrics").text
    for env in ("dev", "staging", "prod"):
        for status in ("succeeded", "failed", "cancelled", "error"):
            assert f'maestro_runs_total{{env="{env}",pipeline="brand-new",status="{status}"}} 0.0' in text, (env, status)
    assert 'maestro_policy_denials_total{point="admission",policy="no-privileged-commands"} 0.0' in text

"""A real Prometheus scrapes Maestro and evaluates the shipped rules: every series the dashboards use exists."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.factories import login
from tests.services import free_port, live_api, wait_for
from tests.test_runs import register, start, wait_run

DASHBOARDS = Path(__file__).resolve().parents[1] / "dashboards"


@pytest.fixture
def prometheus(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    binary = shutil.which("prometheus")
    assert binary, "prometheus missing: run `make test-deps` (installs Debian's prometheus)"
    with live_api(app) as api:
        d = Path(tempfile.mkdtemp(prefix="maestro-prom-"))
        rules = sorted(str(p) for p in (DASHBOARDS / "prometheus").glob("*.yml"))
        target = urlparse(api).netloc
        (d / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"rule_files: {json.dumps(rules)}\n"
            f"scrape_configs:\n  - job_name: maestro\n    static_configs: [{{targets: ['{target}']}}]\n"
        )
        port = free_port()
        p = subprocess.Popen(
            [
                binary,
                f"--config.file={d / 'prometheus.yml'}",
                f"--storage.tsdb.path={d / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: _ok(f"{url}/-/ready"), 30, 0.2)
            yield url
        finally:
            p.terminate()
            p.wait(10)
            shutil.rmtree(d, ignore_errors=True)


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _series(prom: str, name: str) -> list[dict]:  # type: ignore[type-arg]
    r = httpx.get(f"{prom}/api/v1/series", params={"match[]": name}, timeout=5).json()
    return r["data"]  # type: ignore[no-any-return]


def test_prometheus_finds_every_series_the_dashboards_use(client: TestClient, workers, prometheus: str) -> None:  # type: ignore[no-untyped-def]
    caller = login(client)
    register(caller, "name: scraped\nsteps:\n- {id: a, run: 'true'}\n")
    wait_run(caller, start(caller, "scraped")["id"])
    assert caller.post("/api/alerts/evaluate").status_code == 200  # refreshes the runner queues' backlog gauges
    denied = caller.post("/api/pipelines", json={"spec": "name: denied\nsteps:\n- {id: a, run: sudo true}\n"})
    assert denied.status_code == 422  # a policy denial, so maestro_policy_denials_total has a series
    used: set[str] = set()
    for f in (DASHBOARDS / "grafana").glob("*.json"):
        for panel in json.loads(f.read_text())["panels"]:
            for t in panel["targets"]:
                used |= set(re.findall(r"\b(maestro[:_][a-z0-9_:]+)", t["expr"]))
    assert {
        "maestro_runs_total",
        "maestro_run_duration_ms_bucket",
        "maestro_http_requests_total",
        "maestro_queue_backlog_steps",
        "maestro_workers_up",
        "maestro_budget_spend_usd_total",
        "maestro_policy_denials_total",
        "maestro:slo_error_ratio:rate1h",
    } <= used
    missing: set[str] = set(used)

    def all_found() -> bool:
        for name in list(missing):
            if _series(prometheus, name):
                missing.discard(name)
        return not missing

    try:
        wait_for(all_found, 30, 1.0)
    except AssertionError:
        pytest.fail(f"Prometheus has no series for {sorted(missing)}")

    def scraped() -> bool:  # the latest scrape succeeded (one may time out on a loaded machine: wait for a good one)
        up = httpx.get(f"{prometheus}/api/v1/query", params={"query": 'up{job="maestro"}'}).json()["data"]["result"]
        return bool(up) and up[0]["value"][1] == "1"

    wait_for(scraped, 30, 1.0)


def test_rollout_analysis_reads_prometheus(client: TestClient, workers, prometheus: str, engine) -> None:  # type: ignore[no-untyped-def]
    """provider: prometheus runs the analysis query against Prometheus's HTTP API."""
    from redis import Redis

    from maestro.rollouts.activities import RolloutActivities
    from maestro.rollouts.types import Analysis, MeasureInput

    acts = RolloutActivities(
        engine=engine,
        redis=Redis.from_url(workers.effective_redis_url),
        settings=workers.model_copy(update={"prometheus_url": prometheus}),
    )
    a = Analysis(metric="promql", provider="prometheus", query='up{job="maestro"}', success_condition=">= 1")
    m = wait_for(
        lambda: (x := acts.measure(MeasureInput(service="any", analysis=a, window_s=10))).value is not None and x, 30, 1.0
    )
    assert m.value == 1.0 and "prometheus" in m.detail
    none = acts.measure(
        MeasureInput(service="any", analysis=Analysis(provider="prometheus", query='up{job="nope"}'), window_s=10)
    )
    assert none.value is None and "no data" in none.detail

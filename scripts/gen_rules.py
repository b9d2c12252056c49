"""Generate dashboards/prometheus/*.rules.yml from the built-in evaluator's definitions.

The SLOs, burn-rate window pairs and thresholds come from maestro.observability.slo and the rule
defaults from maestro.config, so the Prometheus rules fire on the same conditions as the built-in
evaluator. Every alert links its runbook with an absolute URL under Maestro's public URL
(`--public-url`, default MAESTRO_PUBLIC_URL's default): regenerate them for your deployment with
`.venv/bin/python scripts/gen_rules.py --public-url https://maestro.example.com --out-dir DIR`.
`make test` fails when the committed files (the default URL) differ from this output.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from maestro.config import Settings
from maestro.observability.alerts import RUNBOOKS, runbook_url
from maestro.observability.slo import BUILTIN, BURN_PAIRS, WINDOWS

OUT_DIR = Path(__file__).resolve().parents[1] / "dashboards" / "prometheus"
DEFAULT_PUBLIC_URL = Settings.model_fields["public_url"].default or "http://localhost:8000"
PUBLIC_URL = DEFAULT_PUBLIC_URL


def runbook(alert: str) -> str:
    assert alert in RUNBOOKS, f"{alert} has no runbook: add it to maestro.observability.alerts.RUNBOOKS"
    return runbook_url(PUBLIC_URL, alert)


def error_ratio(sli: str, w: str, threshold_ms: int | None) -> str:
    if sli == "availability":
        bad = f'sum(increase(maestro_http_requests_total{{status=~"5.."}}[{w}]))'
        total = f"sum(increase(maestro_http_requests_total[{w}]))"
    elif sli == "run_success":
        bad = f'sum(increase(maestro_runs_total{{status="failed"}}[{w}]))'
        total = f'sum(increase(maestro_runs_total{{status=~"succeeded|failed"}}[{w}]))'
    else:
        le = f"{float(threshold_ms or 0)}"
        total = f"sum(increase(maestro_run_duration_ms_count[{w}]))"
        bad = f'({total} - sum(increase(maestro_run_duration_ms_bucket{{le="{le}"}}[{w}])))'
    # no bad events counts as zero; no events at all stays empty (the evaluator's "no data")
    return f"({bad} or vector(0))\n/\n{total}"


def api_rules() -> dict[str, Any]:
    """The API's own error rate and latency (no built-in twin: the API cannot watch itself)."""
    return {
        "groups": [
            {
                "name": "maestro-api",
                "rules": [
                    {
                        "record": "maestro:http_requests:rate5m",
                        "expr": "sum by (route, status) (rate(maestro_http_requests_total[5m]))",
                    },
                    {
                        "record": "maestro:http_errors:ratio_rate5m",
                        "expr": '(sum(rate(maestro_http_requests_total{status=~"5.."}[5m])) or vector(0))\n/\n'
                        "clamp_min(sum(rate(maestro_http_requests_total[5m])), 1e-9)",
                    },
                    {
                        "record": "maestro:http_request_duration_seconds:p95_5m",
                        "expr": "histogram_quantile(0.95, sum by (le, route) "
                        "(rate(maestro_http_request_duration_seconds_bucket[5m])))",
                    },
                    {
                        "record": "maestro:run_success:ratio_1h",
                        "expr": '(sum(increase(maestro_runs_total{status="succeeded"}[1h])) or vector(0))\n/\n'
                        'clamp_min(sum(increase(maestro_runs_total{status=~"succeeded|failed"}[1h])), 1)',
                    },
                    {
                        "alert": "MaestroApiErrorRateHigh",
                        "expr": "maestro:http_errors:ratio_rate5m > 0.05",
                        "for": "10m",
                        "labels": {"severity": "page", "source": "prometheus"},
                        "annotations": {
                            "summary": "Maestro API answers more than 5% of requests with 5xx",
                            "description": "5xx ratio is {{ $value | humanizePercentage }} over 5 minutes.",
                            "runbook_url": runbook("MaestroApiErrorRateHigh"),
                        },
                    },
                    {
                        "alert": "MaestroApiSlow",
                        "expr": 'maestro:http_request_duration_seconds:p95_5m{route!~"/api/streams/.*"} > 1',
                        "for": "15m",
                        "labels": {"severity": "ticket", "source": "prometheus"},
                        "annotations": {
                            "summary": "Maestro API p95 latency above 1s on {{ $labels.route }}",
                            "runbook_url": runbook("MaestroApiSlow"),
                        },
                    },
                ],
            }
        ]
    }


def rules() -> dict[str, Any]:
    s = Settings()
    recording: list[dict[str, Any]] = []
    alerting: list[dict[str, Any]] = []
    for slo in BUILTIN:
        for w in WINDOWS:
            recording.append(
                {
                    "record": f"maestro:slo_error_ratio:rate{w}",
                    "expr": error_ratio(slo.sli, w, slo.threshold_ms),
                    "labels": {"slo": slo.id},
                }
            )
        budget = round(1 - slo.objective, 6)
        for long, short, factor, severity in BURN_PAIRS:
            limit = round(factor * budget, 6)
            alerting.append(
                {
                    "alert": "SloBurnRate",
                    "expr": f'maestro:slo_error_ratio:rate{long}{{slo="{slo.id}"}} > {limit}\n'
                    f'and\nmaestro:slo_error_ratio:rate{short}{{slo="{slo.id}"}} > {limit}',
                    "labels": {"slo": slo.id, "window": f"{long}/{short}", "severity": severity, "source": "prometheus"},
                    "annotations": {
                        "summary": f"{slo.name}: error budget burning above {factor}x over {long} and {short}",
                        "runbook_url": runbook("SloBurnRate"),
                    },
                }
            )
    m, n = s.alert_failure_spike_minutes, s.alert_failure_spike_min_runs
    failed = f'sum by (pipeline, env) (increase(maestro_runs_total{{status="failed"}}[{m}m]))'
    finished = f'sum by (pipeline, env) (increase(maestro_runs_total{{status=~"succeeded|failed"}}[{m}m]))'
    alerting.append(
        {
            "alert": "RunFailureSpike",
            "expr": f"({failed} >= {n})\nand\n({failed} / {finished} >= 0.5)",
            "labels": {"severity": "ticket", "source": "prometheus"},
            "annotations": {
                "summary": f"{{{{ $labels.pipeline }}}} in {{{{ $labels.env }}}}: at least {n} runs and half of all "
                f"finished runs failed in the last {m} min",
                "runbook_url": runbook("RunFailureSpike"),
            },
        }
    )
    alerting.append(
        {
            "alert": "PolicyDenialSpike",
            "expr": f"sum by (point) (increase(maestro_policy_denials_total[{m}m])) >= {s.alert_policy_denials}",
            "labels": {"severity": "ticket", "source": "prometheus"},
            "annotations": {
                "summary": f"{{{{ $labels.point }}}}: at least {s.alert_policy_denials} policy denials in {m} min",
                "runbook_url": runbook("PolicyDenialSpike"),
            },
        }
    )
    wait = s.alert_queue_wait_seconds
    nobody = "maestro_queue_pollers == 0"
    alerting += [
        {
            "alert": "RunQueueSaturated",
            "expr": f"maestro_queue_backlog_steps > 0\nand on (pool) {nobody}\n"
            f"and on (pool) maestro_queue_backlog_age_seconds >= {min(wait, 60)}",
            "labels": {"severity": "page", "source": "prometheus"},
            "annotations": {
                "summary": "Runner pool {{ $labels.pool }}: steps are waiting and no runner polls it",
                "runbook_url": runbook("RunQueueSaturated"),
            },
        },
        {
            "alert": "RunQueueSaturated",
            "expr": f"(maestro_queue_backlog_age_seconds >= {wait})\nunless on (pool) ({nobody})",
            "labels": {"severity": "ticket", "source": "prometheus"},
            "annotations": {
                "summary": f"Runner pool {{{{ $labels.pool }}}}: the oldest step has waited more than {wait}s",
                "runbook_url": runbook("RunQueueSaturated"),
            },
        },
        {
            # only Prometheus can see this one: the built-in evaluator runs on the worker itself
            "alert": "MaestroWorkerDown",
            "expr": 'sum(maestro_workers_up{kind="worker"}) == 0',
            "for": "1m",
            "labels": {"severity": "page", "source": "prometheus"},
            "annotations": {
                "summary": "No Maestro control worker is alive: runs, rollouts and alert evaluation are stalled",
                "runbook_url": runbook("MaestroWorkerDown"),
            },
        },
    ]
    return {
        "groups": [
            {"name": "maestro-slo-recording", "rules": recording},
            {"name": "maestro-alerts", "rules": alerting},
        ]
    }


def _dump(doc: dict[str, Any]) -> str:
    def multiline(dumper: yaml.Dumper, data: str) -> yaml.ScalarNode:
        style = "|" if "\n" in data else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    yaml.add_representer(str, multiline)
    header = "# Generated by scripts/gen_rules.py from the built-in evaluator's definitions: do not edit by hand.\n"
    return header + yaml.dump(doc, sort_keys=False, width=200)


def main() -> None:
    global PUBLIC_URL
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail when the committed files are stale")
    ap.add_argument("--public-url", default=DEFAULT_PUBLIC_URL, help="Maestro's public URL, for runbook links")
    ap.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = ap.parse_args()
    PUBLIC_URL = args.public_url.rstrip("/")
    files = {"maestro-slo.rules.yml": _dump(rules()), "maestro-api.rules.yml": _dump(api_rules())}
    for name, text in files.items():
        out = args.out_dir / name
        if args.check:
            if args.public_url != DEFAULT_PUBLIC_URL:
                sys.exit("--check compares the committed files, made with the default public URL")
            if not out.exists() or out.read_text() != text:
                sys.exit(f"{name} is stale: run `.venv/bin/python scripts/gen_rules.py`")
            continue
        out.write_text(text)


if __name__ == "__main__":
    main()

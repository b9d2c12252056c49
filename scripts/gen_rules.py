"""Generate dashboards/prometheus/maestro-slo.rules.yml from the built-in evaluator's definitions.

The SLOs, burn-rate window pairs and thresholds come from maestro.observability.slo and the rule
defaults from maestro.config, so the Prometheus rules fire on the same conditions as the built-in
evaluator. `make test` fails when the committed file differs from this output.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from maestro.config import Settings
from maestro.observability.alerts import RUNBOOKS
from maestro.observability.slo import BUILTIN, BURN_PAIRS, WINDOWS

OUT = Path(__file__).resolve().parents[1] / "dashboards" / "prometheus" / "maestro-slo.rules.yml"


def runbook(alert: str) -> str:
    return f"docs/runbooks/{RUNBOOKS.get(alert, alert)}.md"


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
                "runbook_url": "docs/runbooks/worker-down.md",
            },
        },
    ]
    return {
        "groups": [
            {"name": "maestro-slo-recording", "rules": recording},
            {"name": "maestro-alerts", "rules": alerting},
        ]
    }


def _dump() -> str:
    def multiline(dumper: yaml.Dumper, data: str) -> yaml.ScalarNode:
        style = "|" if "\n" in data else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    yaml.add_representer(str, multiline)
    header = "# Generated by scripts/gen_rules.py from the built-in evaluator's definitions: do not edit by hand.\n"
    return header + yaml.dump(rules(), sort_keys=False, width=200)


def main() -> None:
    text = _dump()
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text() != text:
            sys.exit(f"{OUT.name} is stale: run `.venv/bin/python scripts/gen_rules.py`")
        return
    OUT.write_text(text)


if __name__ == "__main__":
    main()

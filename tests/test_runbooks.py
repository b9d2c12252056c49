"""Every alert's runbook link points at a runbook that exists."""

from __future__ import annotations

from pathlib import Path

from maestro.observability.alerts import RUNBOOKS

ROOT = Path(__file__).resolve().parents[1]


def test_every_alert_has_a_runbook() -> None:
    for name, path in RUNBOOKS.items():
        text = (ROOT / path).read_text()
        assert name in text, f"{path} does not describe {name}"

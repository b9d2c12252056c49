"""The README stays true: every setting is documented, and the two commands are the Makefile's."""

from __future__ import annotations

from pathlib import Path

from maestro.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [f"MAESTRO_{n.upper()}" for n in Settings.model_fields if f"`MAESTRO_{n.upper()}`" not in readme]
    assert missing == []


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make up " in readme and "make test " in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "\nup:" in makefile and "\ntest:" in makefile


def test_readme_table_is_generated_from_settings() -> None:
    import subprocess
    import sys

    before = (ROOT / "README.md").read_text()
    subprocess.run([sys.executable, str(ROOT / "scripts" / "settings_table.py")], check=True)
    after = (ROOT / "README.md").read_text()
    assert after == before, "README settings table is stale: run `python scripts/settings_table.py`"

"""Settings: env vars over config file over defaults; unsafe values refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from maestro.config import Settings


def test_config_file_and_env_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "maestro.toml"
    cfg.write_text('api_port = 9100\nredis_url = "redis://cache:6379/1"\n')
    monkeypatch.setenv("MAESTRO_CONFIG_FILE", str(cfg))
    monkeypatch.setenv("MAESTRO_API_PORT", "9200")
    s = Settings()
    assert s.api_port == 9200  # env wins
    assert s.effective_redis_url == "redis://cache:6379/1"  # file beats default


def test_yaml_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "maestro.yaml"
    cfg.write_text("temporal_address: temporal:7233\n")
    monkeypatch.setenv("MAESTRO_CONFIG_FILE", str(cfg))
    assert Settings().effective_temporal_address == "temporal:7233"


@pytest.mark.parametrize("pw", ["admin", "changeme", "short"])
def test_well_known_admin_passwords_are_refused(pw: str) -> None:
    with pytest.raises(ValueError, match="MAESTRO_ADMIN_PASSWORD"):
        Settings(admin_password=pw)


def test_cli_reports_bad_config_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "MAESTRO_ADMIN_PASSWORD": "password", "MAESTRO_DATA_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "maestro.cli", "migrate"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "invalid configuration" in out.stderr and "MAESTRO_ADMIN_PASSWORD" in out.stderr
    assert "Traceback" not in out.stderr


def test_empty_values_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAESTRO_ADMIN_PASSWORD", "")
    monkeypatch.setenv("MAESTRO_REDIS_URL", "")
    s = Settings()
    assert s.admin_password is None and s.redis_url is None

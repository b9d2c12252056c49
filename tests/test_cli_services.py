"""`maestro service create|list|providers` against the real API (served by uvicorn, called by the CLI
in a subprocess with an API token), the way a CI job or an operator's shell uses it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from maestro.config import Settings
from tests.factories import Caller, login, make_token
from tests.services import live_api

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # what the operator lets providers drive (MAESTRO_PROVIDER_RESOURCES)
    allowed = ["haproxy:/run/haproxy/admin.sock/*", "gateway-api:in-cluster/web/*"]
    return settings.model_copy(update={"provider_resources": allowed})


@pytest.fixture
def caller(client: TestClient) -> Caller:
    return login(client)


@pytest.fixture
def cli(app: Any, caller: Caller) -> Iterator[Cli]:
    token = make_token(caller, ["admin:*"])["secret"]
    with live_api(app) as url:

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            cmd = [sys.executable, "-m", "maestro.cli", "service", *args, "--url", url, "--token", token]
            env = {k: v for k, v in os.environ.items() if k not in {"MAESTRO_URL", "MAESTRO_TOKEN"}}
            return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)

        yield run


def services(caller: Caller) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in caller.get("/api/services").json()["items"]}


def test_providers_lists_each_with_what_it_requires(cli: Cli) -> None:
    out = cli("providers")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["NAME", "TITLE", "MEASURES", "TRAFFIC", "REQUIRED", "SETTINGS"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"edge", "haproxy", "gateway-api", "gateway"}
    assert rows["edge"].split()[-2:] == ["yes", "-"] and "Maestro edge router" in rows["edge"]
    assert rows["haproxy"].rstrip().endswith("adminSocket, backend") and " yes " in rows["haproxy"]
    assert "no (Prometheus analyses)" in rows["gateway-api"] and rows["gateway-api"].rstrip().endswith("namespace, httpRoute")
    assert "model canary" in rows["gateway"] and rows["gateway"].split()[-2:] == ["yes", "routeClass"]


def test_create_with_settings_from_flags_and_a_file_then_list(cli: Cli, caller: Caller, tmp_path: Path) -> None:
    settings = tmp_path / "haproxy.json"
    settings.write_text(json.dumps({"backend": "shop", "canaryServer": "old-name", "timeoutSeconds": 5}))
    made = cli(
        "create",
        "shop",
        "--env",
        "dev",
        "--stable-url",
        "http://10.0.0.5:8080",
        "--sticky",
        "header:X-User",
        "--provider",
        "haproxy",
        "--config-file",
        str(settings),
        "--config",
        "adminSocket=/run/haproxy/admin.sock",
        "--config",
        "canaryServer=green",  # a flag wins over the file
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "service shop (dev): haproxy sends its traffic to http://10.0.0.5:8080"
    svc = services(caller)["shop"]
    assert svc["provider"] == "haproxy" and svc["sticky"] == "header:X-User"
    assert svc["providerConfig"] == {
        "adminSocket": "/run/haproxy/admin.sock",
        "backend": "shop",
        "stableServer": "stable",
        "canaryServer": "green",
        "timeoutSeconds": 5.0,
    }

    edge = cli("create", "books", "--env", "dev", "--stable-url", "http://10.0.0.6:8080")
    assert edge.returncode == 0, edge.stderr
    assert services(caller)["books"]["provider"] == "edge"

    listed = cli("list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["NAME", "ENV", "PROVIDER", "CANARY", "STABLE", "URL", "CANARY", "URL", "ROLLOUT"]
    assert [line.split() for line in lines[1:]] == [
        ["books", "dev", "edge", "-", "http://10.0.0.6:8080", "-", "-"],
        ["shop", "dev", "haproxy", "-", "http://10.0.0.5:8080", "-", "-"],
    ]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["--config", "ruleIndex=first"],
            "--config ruleIndex=first: gateway-api's ruleIndex is a whole number, e.g. ruleIndex=0",
        ),
        (["--config", "httpRoute"], "--config 'httpRoute' must be key=value"),
        (["--config", "weight=3"], "--config weight: gateway-api has no setting 'weight' (its settings: namespace, httpRoute,"),
        ([], "gateway-api needs namespace, httpRoute: add --config namespace=… --config httpRoute=…"),
        (["--config-file", "/nonexistent/settings.json"], "--config-file /nonexistent/settings.json: No such file or directory"),
    ],
)
def test_what_can_be_checked_here_is_refused_before_sending(cli: Cli, caller: Caller, args: list[str], says: str) -> None:
    out = cli("create", "shop", "--env", "dev", "--stable-url", "http://shop.web:8080", "--provider", "gateway-api", *args)
    assert out.returncode == 2, out
    assert says in out.stderr, out.stderr
    assert "shop" not in services(caller)


def test_a_config_file_that_is_not_an_object_is_refused(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "s.json"
    bad.write_text('["backend", "shop"]')
    out = cli(
        "create",
        "shop",
        "--env",
        "dev",
        "--stable-url",
        "http://10.0.0.5:8080",
        "--provider",
        "haproxy",
        "--config-file",
        str(bad),
    )
    assert out.returncode == 2 and "must hold a JSON object of settings" in out.stderr, out.stderr
    bad.write_text("{backend: shop}")
    out = cli(
        "create",
        "shop",
        "--env",
        "dev",
        "--stable-url",
        "http://10.0.0.5:8080",
        "--provider",
        "haproxy",
        "--config-file",
        str(bad),
    )
    assert out.returncode == 2 and f"--config-file {bad} is not JSON" in out.stderr, out.stderr


def test_an_unknown_provider_names_the_known_ones(cli: Cli) -> None:
    out = cli("create", "shop", "--env", "dev", "--stable-url", "http://10.0.0.5:8080", "--provider", "nginx")
    assert out.returncode == 2
    assert "--provider 'nginx' is not a traffic provider here; known: " in out.stderr
    assert {"edge", "haproxy", "gateway-api"} <= set(out.stderr.rsplit("known: ", 1)[1].strip().split(", "))


def test_the_apis_problem_is_printed_with_field_and_remedy(cli: Cli, caller: Caller) -> None:
    base = [
        "create",
        "shop",
        "--env",
        "dev",
        "--provider",
        "gateway-api",
        "--config",
        "namespace=web",
        "--config",
        "httpRoute=shop",
    ]
    # an integer, so it passes here; the provider allows 0–15
    out = cli(*base, "--stable-url", "http://shop.web:8080", "--config", "ruleIndex=99")
    assert out.returncode == 2, out
    assert out.stderr.startswith("maestro: 422 The gateway-api settings are not valid.")
    assert "\n  providerConfig.ruleIndex: Input should be less than or equal to 15" in out.stderr
    assert "\n  → Give the settings GET /api/services/providers describes for gateway-api." in out.stderr

    # a Gateway API backend is a Kubernetes Service, not an address: only the provider knows
    out = cli(*base, "--stable-url", "http://10.0.0.5:8080")
    assert out.returncode == 2, out
    assert "\n  stableUrl: 'http://10.0.0.5:8080' is an IP address, not a Service" in out.stderr
    assert "shop" not in services(caller)

    assert cli(*base, "--stable-url", "http://shop.web:8080").returncode == 0
    again = cli(*base, "--stable-url", "http://shop.web:8080")
    assert again.returncode == 2 and "maestro: 409 A service named 'shop' exists." in again.stderr
    assert "\n  name: already taken\n  → Pick another name" in again.stderr


def test_without_a_token_it_says_how_to_get_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"MAESTRO_URL", "MAESTRO_TOKEN"}}
    cmd = [sys.executable, "-m", "maestro.cli", "service", "providers", "--url", "http://127.0.0.1:9"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert out.returncode == 2 and "set MAESTRO_TOKEN" in out.stderr

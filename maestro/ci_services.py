"""`maestro service create|list|providers`: services and their traffic providers through the API
(MAESTRO_URL + MAESTRO_TOKEN, like `maestro rollout`).

What can be checked here is checked before anything is sent: `--config key=value` syntax, the
settings the provider has (its `configSchema` from GET /api/services/providers) and their types
(integers, numbers, booleans). The rest is the API's to judge; its problem (field + remedy) is
printed as it says it. Exit codes: 0 done, 2 refused (bad input here or a 4xx), 1 the API failed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from maestro.ci import TokenOpt, UrlOpt, _client

service_app = typer.Typer(help="Services and their traffic providers: create, list, providers.", no_args_is_help=True)

MAX_CONFIG_FILE = 64 * 1024


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"maestro: {message}", err=True)
    return typer.Exit(code)


def _answer(r: httpx.Response) -> Any:
    """The JSON body, or the API's problem on stderr: exit 2 for a 4xx (fix the input), 1 otherwise."""
    if r.status_code < 400:
        return r.json() if r.content else None
    try:
        p = r.json()
        msg = str(p.get("detail") or p.get("title") or r.text)
        for e in p.get("errors") or []:
            field = str(e.get("field", "")).removeprefix("body.")
            msg += f"\n  {field}: {e.get('message', '')}"
        if p.get("remediation"):
            msg += f"\n  → {p['remediation']}"
    except ValueError:
        msg = r.text
    raise _fail(f"{r.status_code} {msg}", 2 if 400 <= r.status_code < 500 else 1)


def _get(c: httpx.Client, path: str) -> Any:
    try:
        return _answer(c.get(path))
    except httpx.HTTPError as exc:
        raise _fail(f"cannot reach the API at {c.base_url}: {exc}", 1) from exc


def _providers(c: httpx.Client) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = _get(c, "/api/services/providers")["items"]
    return items


def _property_type(prop: dict[str, Any]) -> str | None:
    """A setting's JSON Schema type; `X | None` (anyOf with null) is X."""
    if isinstance(prop.get("type"), str):
        return str(prop["type"])
    kinds = [k.get("type") for k in prop.get("anyOf") or [] if isinstance(k, dict) and k.get("type") != "null"]
    return str(kinds[0]) if len(kinds) == 1 and isinstance(kinds[0], str) else None


def _typed(provider: str, key: str, raw: str, prop: dict[str, Any]) -> Any:
    kind = _property_type(prop)
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise _fail(
                f"--config {key}={raw}: {provider}'s {key} is a whole number, e.g. {key}={prop.get('default', 1)}"
            ) from None
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            raise _fail(f"--config {key}={raw}: {provider}'s {key} is a number, e.g. {key}={prop.get('default', 1)}") from None
    if kind == "boolean":
        low = raw.strip().lower()
        if low in {"true", "yes", "1", "on"}:
            return True
        if low in {"false", "no", "0", "off"}:
            return False
        raise _fail(f"--config {key}={raw}: {provider}'s {key} is true or false")
    return raw


def _settings(spec: dict[str, Any], pairs: list[str], config_file: Path | None) -> dict[str, Any]:
    """`providerConfig`: the file's object, then each --config key=value over it, typed by the schema."""
    name = spec["name"]
    schema = spec.get("configSchema") or {}
    props: dict[str, Any] = schema.get("properties") or {}
    config: dict[str, Any] = {}
    if config_file is not None:
        try:
            if config_file.stat().st_size > MAX_CONFIG_FILE:
                raise _fail(f"--config-file {config_file}: larger than {MAX_CONFIG_FILE // 1024} KiB")
            loaded = json.loads(config_file.read_text())
        except OSError as exc:
            raise _fail(f"--config-file {config_file}: {exc.strerror or exc}") from exc
        except ValueError as exc:
            raise _fail(f"--config-file {config_file} is not JSON: {exc}") from exc
        if not isinstance(loaded, dict):
            raise _fail(f'--config-file {config_file} must hold a JSON object of settings, e.g. {{"backend": "shop"}}')
        config.update(loaded)
    known = ", ".join(props) or "none"
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise _fail(f"--config {pair!r} must be key=value, e.g. --config backend=shop")
        if key not in props:
            raise _fail(f"--config {key}: {name} has no setting {key!r} (its settings: {known})")
        config[key] = _typed(name, key, value, props[key])
    missing = [k for k in schema.get("required") or [] if k not in config]
    if missing:
        flags = " ".join(f"--config {k}=…" for k in missing)
        raise _fail(f"{name} needs {', '.join(missing)}: add {flags} (see `maestro service providers`)")
    return config


@service_app.command("create")
def service_create(
    name: Annotated[str, typer.Argument(help="Routed as /<name>/… (lowercase letters, digits, dashes).")],
    env: Annotated[str, typer.Option("--env", help="Environment, e.g. dev.")],
    stable_url: Annotated[str, typer.Option("--stable-url", help="Where the current version answers (http or https).")],
    sticky: Annotated[str | None, typer.Option(help="header:<name> or cookie:<name>: keep a client on one version.")] = None,
    provider: Annotated[str, typer.Option(help="Traffic provider (see `maestro service providers`).")] = "edge",
    config: Annotated[list[str] | None, typer.Option("--config", "-c", help="A provider setting key=value; repeat.")] = None,
    config_file: Annotated[
        Path | None, typer.Option("--config-file", help="A JSON object of provider settings (--config wins over it).")
    ] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Register a service: its stable upstream and the provider that moves its traffic."""
    c = _client(url, token)
    providers = _providers(c)
    spec = next((p for p in providers if p["name"] == provider), None)
    if spec is None:
        known = ", ".join(p["name"] for p in providers)
        raise _fail(f"--provider {provider!r} is not a traffic provider here; known: {known}")
    body: dict[str, Any] = {
        "name": name,
        "env": env,
        "stableUrl": stable_url,
        "provider": provider,
        "providerConfig": _settings(spec, config or [], config_file),
    }
    if sticky:
        body["sticky"] = sticky
    try:
        svc = _answer(c.post("/api/services", json=body))
    except httpx.HTTPError as exc:
        raise _fail(f"cannot reach the API at {c.base_url}: {exc}", 1) from exc
    typer.echo(f"service {svc['name']} ({svc['env']}): {svc['provider']} sends its traffic to {svc['stableUrl']}")


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    for line in [header, *rows]:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


@service_app.command("list")
def service_list(url: UrlOpt = None, token: TokenOpt = None) -> None:
    """Services with their provider and live routing (canary weight, upstreams)."""
    items = _get(_client(url, token), "/api/services")["items"]
    if not items:
        typer.echo("no services yet: add one with `maestro service create NAME --env dev --stable-url URL`", err=True)
        return
    rows = [
        [
            s["name"],
            s["env"],
            s["provider"],
            f"{s.get('weight') or 0}%" if s.get("canaryUrl") else "-",
            s["stableUrl"],
            s.get("canaryUrl") or "-",
            s.get("rolloutId") or "-",
        ]
        for s in items
    ]
    _table(["NAME", "ENV", "PROVIDER", "CANARY", "STABLE URL", "CANARY URL", "ROLLOUT"], rows)


@service_app.command("providers")
def service_providers(url: UrlOpt = None, token: TokenOpt = None) -> None:
    """The traffic providers a service can name, and the settings each requires."""
    rows = []
    for p in _providers(_client(url, token)):
        required = (p.get("configSchema") or {}).get("required") or []
        rows.append(
            [p["name"], p["title"], "yes" if p["measuresTraffic"] else "no (Prometheus analyses)", ", ".join(required) or "-"]
        )
    _table(["NAME", "TITLE", "MEASURES TRAFFIC", "REQUIRED SETTINGS"], rows)

"""The `maestro` command."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import httpx
import typer
from pydantic import ValidationError

if TYPE_CHECKING:
    from maestro.config import Settings

from maestro import __version__
from maestro.ci import rollout_app, run_command, runs_app
from maestro.ci_services import service_app

app = typer.Typer(
    help="Maestro Build Plane: plan → build → verify → ship → observe → prove.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
audit_app = typer.Typer(help="The append-only audit log.", no_args_is_help=True)
admin_app = typer.Typer(help="Administration.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(runs_app, name="runs")
app.add_typer(rollout_app, name="rollout")
app.add_typer(service_app, name="service")
app.command("run")(run_command)
app.add_typer(admin_app, name="admin")
evidence_app = typer.Typer(help="Witness bundles.", no_args_is_help=True)
keys_app = typer.Typer(help="The instance signing key.", no_args_is_help=True)
app.add_typer(evidence_app, name="evidence")
app.add_typer(keys_app, name="keys")


def _settings() -> Settings:
    from maestro.config import Settings

    try:
        return Settings()
    except (ValidationError, ValueError) as exc:
        typer.echo(f"maestro: invalid configuration: {exc}", err=True)
        raise typer.Exit(2) from exc


def _say(msg: str) -> None:
    typer.echo(msg)
    sys.stdout.flush()


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(f"maestro {__version__}")


@app.command()
def migrate() -> None:
    """Apply database migrations and bootstrap the default tenant and first admin."""
    from maestro.db import get_engine
    from maestro.domain.identity import bootstrap
    from maestro.migrate import upgrade

    s = _settings()
    upgrade(s.effective_database_url)
    res = bootstrap(get_engine(s.effective_database_url), admin_username=s.admin_username, admin_password=s.admin_password)
    _say("migrations applied")
    if res.created and res.admin_password:
        _print_credentials(res.admin_username, res.admin_password)


def _print_credentials(user: str, password: str) -> None:
    _say("")
    _say("  First start: an admin user was created. This password is shown ONCE:")
    _say(f"    username: {user}")
    _say(f"    password: {password}")
    _say("  (lost it? `maestro admin reset-password " + user + "`)")
    _say("")


@app.command()
def api() -> None:
    """Run the API (uvicorn) against the configured services."""
    import uvicorn

    from maestro.api.app import create_app
    from maestro.telemetry import setup_logging

    s = _settings()
    setup_logging(s.log_level)
    uvicorn.run(
        create_app(s),
        host=s.api_host,
        port=s.api_port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=5,
    )


@app.command()
def edge() -> None:
    """Run the edge router: /<service>/<path> goes to the service's stable or canary upstream by weight."""
    from maestro.edge.server import run
    from maestro.telemetry import setup_logging

    s = _settings()
    setup_logging(s.log_level)
    run(s)


@app.command()
def gateway() -> None:
    """Run the model gateway: OpenAI- and Anthropic-compatible endpoints routed by class, with failover."""
    from maestro.gateway.server import run
    from maestro.telemetry import setup_logging

    s = _settings()
    setup_logging(s.log_level)
    run(s)


@app.command("sim-provider")
def sim_provider(
    port: Annotated[int, typer.Option(help="Port to listen on (127.0.0.1).")] = 9100,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    latency_ms: Annotated[float, typer.Option(min=0, help="Before an answer or the first streamed chunk.")] = 20.0,
    jitter_ms: Annotated[float, typer.Option(min=0, help="Extra latency, uniform 0..jitter.")] = 0.0,
    chunk_ms: Annotated[float, typer.Option(min=0, help="Between streamed chunks.")] = 5.0,
    error_rate: Annotated[float, typer.Option(min=0, max=1, help="Share of requests answered with --error-status.")] = 0.0,
    error_status: Annotated[int, typer.Option(min=400, max=599, help="Status of a simulated failure.")] = 500,
    rpm: Annotated[int, typer.Option(min=0, help="Requests per minute before 429s (0: unlimited).")] = 0,
    api_key: Annotated[str | None, typer.Option(help="Require this key (Bearer or x-api-key).")] = None,
    model: Annotated[
        list[str] | None, typer.Option(help="A model it serves (repeat; default: sim-small, sim-large, sim-embed).")
    ] = None,
    name: Annotated[str, typer.Option(help="Its name in replies and the x-sim-provider header.")] = "sim",
) -> None:
    """Run a simulated model provider (OpenAI and Anthropic formats) to try routing offline.

    OpenAI: POST /v1/chat/completions, /v1/completions, /v1/embeddings, GET /v1/models; Anthropic:
    POST /v1/messages; streaming or not. Change its behaviour while it runs with
    POST /_sim/config {"error_rate": 0.5} (any option below, snake_case); GET /_sim/stats counts.
    """
    import uvicorn

    from maestro.gateway.sim import DEFAULT_MODELS, SimConfig, create_sim

    cfg = SimConfig(
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        chunk_ms=chunk_ms,
        error_rate=error_rate,
        error_status=error_status,
        rpm=rpm,
        api_key=api_key,
        models=list(model or DEFAULT_MODELS),
        name=name,
    )
    _say(f"sim-provider {name}: http://{host}:{port}/v1 (OpenAI and Anthropic formats), models {', '.join(cfg.models)}")
    uvicorn.run(create_sim(cfg), host=host, port=port, log_level="warning", access_log=False)


@app.command()
def worker() -> None:
    """Run a worker serving the control task queue."""
    from maestro.telemetry import setup_logging, setup_tracing
    from maestro.workers.control import run_worker

    s = _settings()
    setup_logging(s.log_level)
    setup_tracing(s, service="maestro-worker")
    asyncio.run(run_worker(s))


@app.command()
def runner(pool: Annotated[str | None, typer.Option(help="Pool to serve (task queue maestro-runner-POOL).")] = None) -> None:
    """Run a step runner for a pool."""
    from maestro.sandbox import SandboxUnavailable
    from maestro.telemetry import setup_logging, setup_tracing
    from maestro.workers.runner import run_runner

    s = _settings()
    if pool:
        s = s.model_copy(update={"runner_pool": pool})
    setup_logging(s.log_level)
    setup_tracing(s, service="maestro-runner")
    try:
        asyncio.run(run_runner(s))
    except SandboxUnavailable as exc:
        typer.echo(f"maestro runner: refusing to run steps: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command()
def openapi(out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None) -> None:
    """Print the OpenAPI 3.1 document (the frontend client is generated from it)."""
    import tempfile

    from maestro.api.app import create_app
    from maestro.config import Settings

    with tempfile.TemporaryDirectory() as tmp:  # no service is contacted: the spec comes from the code
        spec = create_app(Settings(data_dir=Path(tmp)), start_background=False).openapi()
    text = json.dumps(spec, indent=2, sort_keys=False) + "\n"
    if out:
        out.write_text(text)
    else:
        typer.echo(text, nl=False)


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit hash chain and report the first broken link."""
    from sqlmodel import Session

    from maestro.db import get_engine
    from maestro.domain.auditlog import verify

    s = _settings()
    with Session(get_engine(s.effective_database_url)) as session:
        r = verify(session)
    if r.ok:
        _say(f"audit chain OK: {r.checked} events verified")
        return
    typer.echo(f"audit chain BROKEN at seq {r.first_broken_seq}: {r.reason} ({r.checked} events read)", err=True)
    raise typer.Exit(1)


@evidence_app.command("verify")
def evidence_verify(
    bundle: Annotated[Path, typer.Argument(help="The witness bundle (.zip).")],
    key: Annotated[Path | None, typer.Option(help="PEM public key the bundle must be signed with (GET /api/keys).")] = None,
) -> None:
    """Check a witness bundle offline: the manifest's signature, then every file's sha256. Exit 1 names the first bad file."""
    from maestro.supply.verify import verify_bundle

    if not bundle.is_file():
        typer.echo(f"maestro: {bundle} does not exist", err=True)
        raise typer.Exit(2)
    try:
        pem = key.read_bytes() if key else None
    except OSError as exc:
        typer.echo(f"maestro: cannot read --key {key}: {exc}", err=True)
        raise typer.Exit(2) from exc
    r = verify_bundle(bundle, pem)
    if r.ok:
        m = r.manifest
        _say(f"bundle OK: {r.files_checked} files match the manifest signed by key {r.keyid[:16]}… ({r.key_source})")
        _say(f"  run {m.get('runId')}, bundle {m.get('bundleId')}, created {m.get('createdAt')}")
        for note in r.notes:
            _say(f"  note: {note}")
        return
    name, why = r.problems[0]
    typer.echo(f"bundle FAILED at {name}: {why}", err=True)
    for other, more in r.problems[1:]:
        typer.echo(f"  also {other}: {more}", err=True)
    raise typer.Exit(1)


@keys_app.command("export")
def keys_export(out: Annotated[Path | None, typer.Option(help="Write the PEM here instead of stdout.")] = None) -> None:
    """Print the active public key (PEM), e.g. to pin it in `maestro evidence verify --key`."""
    from maestro.db import get_engine
    from maestro.supply.keys import instance_key

    s = _settings()
    pem = instance_key(s, get_engine(s.effective_database_url)).public_pem
    if out:
        out.write_text(pem)
    else:
        typer.echo(pem, nl=False)


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Replace the signing key; the old public key stays listed (retired) so old evidence still verifies."""
    from maestro.db import get_engine
    from maestro.supply.keys import rotate

    s = _settings()
    old, new = rotate(s, get_engine(s.effective_database_url))
    _say(f"signing key rotated: {old[:16]}… retired, {new[:16]}… active")


@admin_app.command("reset-password")
def reset_password(username: str) -> None:
    """Set a new random password for a user (printed once) and end their sessions."""
    from maestro.db import get_engine
    from maestro.domain.identity import reset_password as reset

    s = _settings()
    try:
        pw = reset(get_engine(s.effective_database_url), username=username)
    except LookupError as exc:
        typer.echo(f"maestro: {exc}", err=True)
        raise typer.Exit(1) from exc
    _say(f"new password for {username}: {pw}")


@app.command()
def up() -> None:
    """Start the whole embedded stack (Temporal, Valkey, SQLite, worker, API) and supervise it."""
    from maestro import stack
    from maestro.db import get_engine
    from maestro.domain.identity import bootstrap
    from maestro.migrate import upgrade

    s = _settings()
    s.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = s.data_dir.resolve()
    logs = data / "logs"
    children: list[stack.Child] = []
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    def shutdown() -> None:
        for c in reversed(children):
            if c.alive():
                _say(f"  stopping {c.name} ...")
            c.stop()

    try:
        stack.check_ports(s)
        stack.check_sandbox(s)
        stack.secure_data_dir(data, skip={s.effective_workspace_dir})
        child_env = {  # the embedded Valkey's password is read from the data dir, never passed along
            "MAESTRO_DATA_DIR": str(data),
            "MAESTRO_DATABASE_URL": s.effective_database_url,
            "MAESTRO_TEMPORAL_ADDRESS": s.effective_temporal_address,
        }
        if s.effective_temporal_ui_url:
            child_env["MAESTRO_TEMPORAL_UI_URL"] = s.effective_temporal_ui_url
        _say(f"maestro {__version__}: starting the embedded stack in {data}")
        if s.redis_url is None:
            conf = stack.valkey_config(s, data / "valkey")
            c = stack.Child(
                "valkey", stack.valkey_command(s.redis_port, data / "valkey", conf), logs / "valkey.log", maestro=False
            )
            c.start()
            children.append(c)
        if s.temporal_address is None:
            c = stack.Child("temporal", stack.temporal_command(s, data / "temporal.db"), logs / "temporal.log", maestro=False)
            c.start()
            children.append(c)
        by_name = {c.name: c for c in children}
        stack.wait_until(lambda: stack.redis_healthy(s.effective_redis_url), "redis", by_name.get("valkey"), 30)
        _say(f"  ✓ redis     {stack.redacted(s.effective_redis_url)}")
        upgrade(s.effective_database_url)
        boot = bootstrap(get_engine(s.effective_database_url), admin_username=s.admin_username, admin_password=s.admin_password)
        _say(f"  ✓ database  {s.effective_database_url} (migrations applied)")
        stack.wait_until(lambda: stack.temporal_healthy(s.effective_temporal_address), "temporal", by_name.get("temporal"), 90)
        if s.temporal_address is not None:
            from maestro.temporal import connect, ensure_search_attributes

            async def _attrs() -> list[str]:
                return await ensure_search_attributes(await connect(s), s.temporal_namespace)

            asyncio.run(_attrs())
        _say(f"  ✓ temporal  {s.effective_temporal_address}")
        frontend = stack.REPO_ROOT / "frontend"
        if s.ui_build == "auto" and stack.ui_needs_build(frontend):
            try:
                stack.build_ui(frontend, _say)
            except Exception as exc:  # the API still runs and says the UI is not built
                _say(f"  ! web UI build failed ({exc}); run `make ui` to see why")
        me = [sys.executable, "-m", "maestro.cli"]
        for name in ("worker", "runner", "edge", "gateway", "api"):
            c = stack.Child(name, [*me, name], logs / f"{name}.log", env=child_env)
            c.start()
            children.append(c)
        api_url = f"http://{'127.0.0.1' if s.api_host in ('0.0.0.0', '::') else s.api_host}:{s.api_port}"

        def ready() -> bool:
            return httpx.get(f"{api_url}/api/ready", timeout=3).status_code == 200

        stack.wait_until(ready, "api", children[-1], 60)
        _say("")
        _say(f"  Maestro UI and API   {s.effective_public_url}")
        _say(f"  API docs             {s.effective_public_url}/api/docs")
        _say(f"  Edge router          http://{s.edge_host}:{s.edge_port}/<service>/")
        _say(f"  Model gateway        http://{s.gateway_host}:{s.gateway_port}/v1 (OpenAI and Anthropic formats)")
        if s.effective_temporal_ui_url:
            _say(f"  Temporal Web UI      {s.effective_temporal_ui_url}")
        _say(f"  Logs                 {logs}")
        if boot.created and boot.admin_password:
            _print_credentials(boot.admin_username, boot.admin_password)
        _say("  Ready. Press Ctrl-C to stop.")
        while not stopping:
            time.sleep(0.5)
            for c in children:
                if c.alive() or stopping:
                    continue
                now = time.monotonic()
                c.restarts = [t for t in c.restarts if now - t < 60] + [now]
                if len(c.restarts) > 5:
                    raise stack.StackError(f"{c.name} keeps exiting; last log lines ({c.log_path}):\n{c.tail()}")
                _say(f"  ! {c.name} exited (code {c.proc.returncode if c.proc else '?'}); restarting")
                c.start()
        _say("stopping ...")
    except stack.StackError as exc:
        typer.echo(f"maestro up: {exc}", err=True)
        shutdown()
        raise typer.Exit(1) from exc
    except BaseException:
        shutdown()
        raise
    shutdown()
    _say("stopped")


def main() -> None:
    os.umask(0o077)  # everything Maestro writes (databases, logs, keys, artifacts) is its own: 0600 / 0700
    logging.basicConfig(level=os.environ.get("MAESTRO_LOG_LEVEL", "WARNING"))
    app()


if __name__ == "__main__":
    main()

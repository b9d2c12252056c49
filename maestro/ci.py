"""`maestro run` and `maestro runs ...`: the API from a CI job (MAESTRO_URL + MAESTRO_TOKEN)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from maestro.states import STOPPED_ROLLOUT, TERMINAL_RUN

runs_app = typer.Typer(help="Runs: list, show, cancel.", no_args_is_help=True)

URL_HELP = "API base URL (env MAESTRO_URL, default http://localhost:8000)."
TOKEN_HELP = "API token (env MAESTRO_TOKEN)."  # noqa: S105 - help text


def _client(url: str | None, token: str | None) -> httpx.Client:
    base = url or os.environ.get("MAESTRO_URL") or "http://localhost:8000"
    tok = token or os.environ.get("MAESTRO_TOKEN")
    if not tok:
        typer.echo("maestro: set MAESTRO_TOKEN (create one under Admin → API tokens) or pass --token", err=True)
        raise typer.Exit(2)
    return httpx.Client(base_url=base.rstrip("/"), headers={"Authorization": f"Bearer {tok}"}, timeout=30)


def _check(r: httpx.Response) -> Any:
    if r.status_code >= 400:
        try:
            p = r.json()
            msg = p.get("detail", r.text)
            for e in p.get("errors") or []:
                msg += f"\n  {e['field']}: {e['message']}"
            if p.get("remediation"):
                msg += f"\n  → {p['remediation']}"
        except ValueError:
            msg = r.text
        typer.echo(f"maestro: {r.status_code} {msg}", err=True)
        raise typer.Exit(1)
    return r.json() if r.content else None


def _inputs(pairs: list[str]) -> dict[str, str]:
    out = {}
    for p in pairs:
        k, sep, v = p.partition("=")
        if not sep:
            typer.echo(f"maestro: --input {p!r} must be key=value", err=True)
            raise typer.Exit(2)
        out[k] = v
    return out


def follow_logs(c: httpx.Client, run_id: str) -> None:
    with c.stream("GET", f"/api/runs/{run_id}/logs", params={"follow": "true"}, timeout=None) as r:
        if r.status_code >= 400:
            r.read()
            _check(r)
        for line in r.iter_lines():
            if not line:
                continue
            ln = json.loads(line)
            prefix = f"[{ln['step']}]" + (f"#{ln['attempt']}" if ln.get("attempt", 1) > 1 else "")
            stream = sys.stderr if ln["stream"] == "stderr" else sys.stdout
            print(f"{prefix} {ln['line']}", file=stream, flush=True)


def run_command(
    target: Annotated[str, typer.Argument(help="A pipeline spec file (registered or updated first) or a pipeline name.")],
    input: Annotated[list[str] | None, typer.Option("--input", "-i", help="key=value; repeat.")] = None,
    env: Annotated[str, typer.Option(help="Environment.")] = "dev",
    ref: Annotated[str | None, typer.Option(help="Git ref or commit of the pipeline's source.")] = None,
    label: Annotated[list[str] | None, typer.Option("--label", "-l", help="key=value; repeat.")] = None,
    follow: Annotated[bool, typer.Option("--follow/--no-follow", help="Stream logs and exit with the run's result.")] = False,
    url: Annotated[str | None, typer.Option(help=URL_HELP)] = None,
    token: Annotated[str | None, typer.Option(help=TOKEN_HELP)] = None,
) -> None:
    """Start a run (registering the spec file first when given one)."""
    c = _client(url, token)
    name = target
    path = Path(target)
    if path.is_file():
        text = path.read_text()
        r = c.post("/api/pipelines", json={"spec": text})
        if r.status_code == 409:
            import yaml

            name = str((yaml.safe_load(text) or {}).get("name"))
            _check(c.put(f"/api/pipelines/{name}", json={"spec": text}))
        else:
            name = _check(r)["name"]
    body = {"pipeline": name, "inputs": _inputs(input or []), "env": env, "labels": _inputs(label or [])}
    if ref:
        body["ref"] = ref
    run = _check(c.post("/api/runs", json=body))
    typer.echo(f"started {run['workflowId']} ({run['id']})", err=True)
    if not follow:
        typer.echo(run["id"])
        return
    follow_logs(c, run["id"])
    while True:
        final = _check(c.get(f"/api/runs/{run['id']}"))
        if final["status"] in TERMINAL_RUN:
            break
        time.sleep(0.5)
    typer.echo(f"{final['workflowId']}: {final['status']}" + (f" ({final['error']})" if final.get("error") else ""), err=True)
    raise typer.Exit(0 if final["status"] == "succeeded" else 1)


@runs_app.command("list")
def runs_list(
    pipeline: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option()] = 20,
    url: Annotated[str | None, typer.Option(help=URL_HELP)] = None,
    token: Annotated[str | None, typer.Option(help=TOKEN_HELP)] = None,
) -> None:
    """The newest runs."""
    params: dict[str, Any] = {"limit": limit}
    if pipeline:
        params["pipeline"] = pipeline
    if status:
        params["status"] = status
    page = _check(_client(url, token).get("/api/runs", params=params))
    for r in page["items"]:
        typer.echo(f"{r['id']}  {r['workflowId']:<32} {r['status']:<10} {r['env']:<8} {r['owner']:<12} {r['createdAt']}")


@runs_app.command("show")
def runs_show(
    run_id: str,
    url: Annotated[str | None, typer.Option(help=URL_HELP)] = None,
    token: Annotated[str | None, typer.Option(help=TOKEN_HELP)] = None,
) -> None:
    """One run with its steps."""
    r = _check(_client(url, token).get(f"/api/runs/{run_id}"))
    typer.echo(f"{r['workflowId']}  {r['status']}  env={r['env']}  commit={r['commit'][:12]}  cost=${r['costUsd']:.6f}")
    for s in r["steps"]:
        typer.echo(f"  {s['key']:<32} {s['status']:<10} attempt={s['attempt']} exit={s['exitCode']} {s['message']}")
    for a in r["artifacts"]:
        typer.echo(f"  artifact {a['path']} sha256:{a['sha256']} {a['size']}B")


@runs_app.command("cancel")
def runs_cancel(
    run_id: str,
    reason: Annotated[str, typer.Option()] = "",
    url: Annotated[str | None, typer.Option(help=URL_HELP)] = None,
    token: Annotated[str | None, typer.Option(help=TOKEN_HELP)] = None,
) -> None:
    """Cancel a run (its running steps' processes are killed)."""
    r = _check(_client(url, token).post(f"/api/runs/{run_id}/actions", json={"action": "cancel", "reason": reason}))
    typer.echo(f"{r['run']['workflowId']}: {r['status']}")


def _print_ticket(t: dict[str, Any], temporal_address: str | None) -> None:
    """The ticket's command on stdout (ready to run), what it is for on stderr."""
    command = t["command"] + (f" --address {temporal_address}" if temporal_address else "")
    typer.echo(f"ticket for {t['action']} on {t['workflowId']} as {t['actor']}, single use, expires {t['expiresAt']}", err=True)
    typer.echo(command)


TICKET_HELP = "Print only the ticket (to build the update input yourself)."
ADDRESS_HELP = "Temporal address to put in the printed command."


def _ticket(
    path: str, action: str, ttl: int, only: bool, temporal_address: str | None, url: str | None, token: str | None
) -> None:
    t = _check(_client(url, token).post(f"/api/{path}/tickets", json={"action": action, "ttlSeconds": ttl}))
    typer.echo(t["ticket"]) if only else _print_ticket(t, temporal_address)


TtlOpt = Annotated[int, typer.Option(help="Lifetime in seconds (30–900).")]
OnlyOpt = Annotated[bool, typer.Option("--only-ticket", help=TICKET_HELP)]
AddressOpt = Annotated[str | None, typer.Option("--temporal-address", help=ADDRESS_HELP)]
UrlOpt = Annotated[str | None, typer.Option(help=URL_HELP)]
TokenOpt = Annotated[str | None, typer.Option(help=TOKEN_HELP)]


@runs_app.command("ticket")
def runs_ticket(
    run_id: str,
    action: Annotated[str, typer.Argument(help="cancel, pause, resume, approve or reject.")],
    ttl: TtlOpt = 300,
    only: OnlyOpt = False,
    temporal_address: AddressOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """A control ticket for `temporal workflow update` on a run; prints the command that uses it."""
    _ticket(f"runs/{run_id}", action, ttl, only, temporal_address, url, token)


rollout_app = typer.Typer(help="Rollouts: promote, pause, resume, rollback, abort, show, ticket.", no_args_is_help=True)


@rollout_app.command("ticket")
def rollout_ticket(
    rollout_id: str,
    action: Annotated[str, typer.Argument(help="pause, resume, promote, rollback or abort.")],
    ttl: TtlOpt = 300,
    only: OnlyOpt = False,
    temporal_address: AddressOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """A control ticket for `temporal workflow update` on a rollout; prints the command that uses it."""
    _ticket(f"rollouts/{rollout_id}", action, ttl, only, temporal_address, url, token)


def _step_of(r: dict[str, Any]) -> str:
    total = len(r["steps"])
    at = f"step {min(r['stepIndex'] + 1, total)}/{total}"  # a finished rollout's index may be past its last step
    if r["status"] == "succeeded":
        return f"all {total} steps done"
    return f"stopped at {at}" if r["status"] in STOPPED_ROLLOUT else at


def _rollout_action(rollout_id: str, action: str, reason: str, url: str | None, token: str | None, full: bool = False) -> None:
    body = {"action": action, "reason": reason, "full": full}
    r = _check(_client(url, token).post(f"/api/rollouts/{rollout_id}/actions", json=body))
    typer.echo(f"rollout {rollout_id}: {r['status']}, canary at {r['weight']}%, {_step_of(r['rollout'])}")


@rollout_app.command("promote")
def rollout_promote(
    rollout_id: str,
    full: Annotated[bool, typer.Option("--full", help="Straight to 100%.")] = False,
    reason: Annotated[str, typer.Option()] = "",
    url: Annotated[str | None, typer.Option(help=URL_HELP)] = None,
    token: Annotated[str | None, typer.Option(help=TOKEN_HELP)] = None,
) -> None:
    """Go to the next step now (refused while an analysis fails or a promote policy denies)."""
    _rollout_action(rollout_id, "promote", reason, url, token, full)


@rollout_app.command("pause")
def rollout_pause(
    rollout_id: str,
    reason: Annotated[str, typer.Option()] = "",
    url: Annotated[str | None, typer.Option(help=URL_HELP)] = None,
    token: Annotated[str | None, typer.Option(help=TOKEN_HELP)] = None,
) -> None:
    """Hold the current weight (traffic keeps flowing)."""
    _rollout_action(rollout_id, "pause", reason, url, token)


@rollout_app.command("resume")
def rollout_resume(
    rollout_id: str,
    reason: Annotated[str, typer.Option()] = "",
    url: Annotated[str | None, typer.Option(help=URL_HELP)] = None,
    token: Annotated[str | None, typer.Option(help=TOKEN_HELP)] = None,
) -> None:
    """Continue a paused rollout."""
    _rollout_action(rollout_id, "resume", reason, url, token)


@rollout_app.command("rollback")
def rollout_rollback(
    rollout_id: str,
    reason: Annotated[str, typer.Option()] = "",
    url: Annotated[str | None, typer.Option(help=URL_HELP)] = None,
    token: Annotated[str | None, typer.Option(help=TOKEN_HELP)] = None,
) -> None:
    """Send all traffic back to stable and end the rollout."""
    _rollout_action(rollout_id, "rollback", reason, url, token)


@rollout_app.command("show")
def rollout_show(
    rollout_id: str,
    url: Annotated[str | None, typer.Option(help=URL_HELP)] = None,
    token: Annotated[str | None, typer.Option(help=TOKEN_HELP)] = None,
) -> None:
    """Status, weight and step of a rollout."""
    r = _check(_client(url, token).get(f"/api/rollouts/{rollout_id}"))
    typer.echo(f"{r['service']} ({r['env']}): {r['status']}, canary {r['canaryUrl']} at {r['weight']}%, {_step_of(r)}")
    if r["message"]:
        typer.echo(f"  {r['message']}")

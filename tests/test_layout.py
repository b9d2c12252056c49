"""The package layout holds: the domain, events and shared modules never import the API, and no
route module imports another or runs an aggregate query (shared helpers live in deps, services in their packages)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "maestro"


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return out


def test_domain_events_and_shared_modules_never_import_the_api() -> None:
    files = [*(ROOT / "domain").rglob("*.py"), *(ROOT / "events").rglob("*.py")]
    files += [ROOT / n for n in ("states.py", "wire.py", "context.py", "shared.py")]
    offenders = {f"{f.relative_to(ROOT)} imports {m}" for f in files for m in _imports(f) if m.startswith("maestro.api")}
    assert offenders == set()


def test_no_route_module_imports_another() -> None:
    routes = ROOT / "api" / "routes"
    offenders = {f"{f.name} imports {m}" for f in routes.glob("*.py") for m in _imports(f) if m.startswith("maestro.api.routes.")}
    assert offenders == set()


def test_no_route_module_runs_an_aggregate_query() -> None:
    """Counting and summing belong to a service (e.g. observability/hub.py), where SQL does it."""
    routes = ROOT / "api" / "routes"
    offenders = set()
    for f in routes.glob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Attribute) and (
                (isinstance(node.value, ast.Name) and node.value.id == "func") or node.attr in {"group_by", "having"}
            ):
                offenders.add(f"{f.name}:{node.lineno} {ast.unparse(node)}")
    assert offenders == set()

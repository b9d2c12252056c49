"""Checking and evaluating Rego policies (rego.v1 only) in the sandbox process."""

from __future__ import annotations

import atexit
import json
import re
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][\w.]*)\s*$", re.M)
_V1 = re.compile(r"^\s*import\s+rego\.v1\s*$", re.M)
# deny[msg] {   /   deny[msg] if {   (old partial-set heads: regopy silently reads them as objects)
_OLD_SET = re.compile(r"^([ \t]*)([a-z_]\w*)\s*\[\s*([a-z_]\w*)\s*\]\s*(?:if\s*)?\{", re.M)
# allow {   (old rule without `if`)
_OLD_BARE = re.compile(r"^([ \t]*)(?!else\b|default\b|import\b|package\b)([a-z_]\w*)\s*\{", re.M)
_FORBIDDEN = re.compile(r"\b(opa\.runtime|http\.send|net\.lookup_ip_addr)\s*\(")
_STRINGS = re.compile(r'"(?:\\.|[^"\\])*"|`[^`]*`')


@dataclass
class Problem:
    message: str
    line: int = 0
    column: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"message": self.message, "line": self.line, "column": self.column}


class PolicyInvalid(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.line}:{p.column}: {p.message}" for p in problems))
        self.problems = problems


def _pos(source: str, offset: int) -> tuple[int, int]:
    before = source[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def _blank_strings_and_comments(source: str) -> str:
    """Same length and line breaks, but strings and comments blanked: offsets stay valid."""
    out = _STRINGS.sub(lambda m: " " * len(m.group(0)), source)
    return re.sub(r"#[^\n]*", lambda m: " " * len(m.group(0)), out)


def package_of(source: str) -> str | None:
    m = _PACKAGE.search(_blank_strings_and_comments(source))
    return m.group(1) if m else None


def static_problems(source: str) -> list[Problem]:
    code = _blank_strings_and_comments(source)
    problems: list[Problem] = []
    if not _PACKAGE.search(code):
        problems.append(Problem("a policy starts with `package <name>`, e.g. `package maestro.admission`", 1, 1))
    if not _V1.search(code):
        problems.append(Problem("add `import rego.v1`: only rego.v1 syntax is accepted", 1, 1))
    for m in _OLD_SET.finditer(code):
        line, col = _pos(source, m.start(2))
        problems.append(
            Problem(
                f"old-style rule head `{m.group(2)}[{m.group(3)}] {{` is misread; write it in rego.v1 form: "
                f"`{m.group(2)} contains {m.group(3)} if {{`",
                line,
                col,
            )
        )
    for m in _OLD_BARE.finditer(code):
        line, col = _pos(source, m.start(2))
        problems.append(Problem(f"old-style rule `{m.group(2)} {{`; in rego.v1 write `{m.group(2)} if {{`", line, col))
    for m in _FORBIDDEN.finditer(code):
        line, col = _pos(source, m.start(1))
        problems.append(
            Problem(f"`{m.group(1)}` is not allowed: policies may not read the host environment or reach the network", line, col)
        )
    return problems


class PolicyTimeout(Exception):
    pass


class Sandbox:
    """A long-lived evaluator process with an empty environment; restarted after a timeout or crash."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.lock = threading.Lock()
        atexit.register(self.close)

    def _start(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-I", "-m", "maestro.policy.sandbox"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={},  # opa.runtime().env is empty in here
            text=True,
            bufsize=1,
        )

    def call(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                self.proc = self._start()
            proc = self.proc
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(json.dumps(request) + "\n")
                proc.stdin.flush()
                ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
                line = proc.stdout.readline() if ready else ""
            except (BrokenPipeError, OSError):
                line, ready = "", [proc.stdout]
            if not ready:
                self._kill()
                raise PolicyTimeout(f"policy evaluation did not finish within {timeout_s:g}s")
            if not line:
                self._kill()
                raise RuntimeError("the policy evaluator stopped unexpectedly")
            return json.loads(line)  # type: ignore[no-any-return]

    def _kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def close(self) -> None:
        with self.lock:
            self._kill()


_sandbox = Sandbox()
# the first request also starts the process and imports regopy: give it room once
_WARMUP_S = 20.0


def _call(request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    if _sandbox.proc is None:
        _sandbox.call({"modules": {}, "queries": []}, _WARMUP_S)
    return _sandbox.call(request, timeout_s)


def check(name: str, source: str, timeout_s: float = 5.0) -> str:
    """Validate a policy; returns its package. Raises PolicyInvalid naming line and column."""
    problems = static_problems(source)
    if problems:
        raise PolicyInvalid(problems)
    answer = _call({"modules": {f"{name}.rego": source}, "queries": []}, timeout_s)
    if not answer["ok"]:
        raise PolicyInvalid([Problem(e["message"], e["line"], e["column"]) for e in answer["errors"]])
    pkg = package_of(source)
    assert pkg is not None
    return pkg


@dataclass
class Outcome:
    allowed: bool
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    duration_ms: float = 0.0


def evaluate(name: str, source: str, input_doc: dict[str, Any], timeout_s: float) -> Outcome:
    """`deny` (a set of messages) decides; `warn` is advisory. Errors and timeouts deny (fail closed)."""
    pkg = package_of(source) or "invalid"
    t0 = time.monotonic()
    queries = [f"data.{pkg}.deny", f"data.{pkg}.warn"]
    try:
        answer = _call({"modules": {f"{name}.rego": source}, "input": input_doc, "queries": queries}, timeout_s)
    except PolicyTimeout as exc:
        ms = (time.monotonic() - t0) * 1000
        return Outcome(False, [f"{name}: {exc}; denied (fail closed)"], error=str(exc), duration_ms=ms)
    ms = (time.monotonic() - t0) * 1000
    if not answer["ok"]:
        err = "; ".join(f"{e['line']}:{e['column']}: {e['message']}" for e in answer["errors"])
        return Outcome(False, [f"{name}: evaluation error ({err}); denied (fail closed)"], error=err, duration_ms=ms)
    deny, warn = answer["results"].get(queries[0]), answer["results"].get(queries[1])
    reasons = sorted(str(x) for x in deny) if isinstance(deny, list) else []
    if deny is not None and not isinstance(deny, list):
        return Outcome(
            False, [f"{name}: `deny` must be a set of messages (deny contains msg if ...)"], error="bad deny", duration_ms=ms
        )
    warnings = sorted(str(x) for x in warn) if isinstance(warn, list) else []
    return Outcome(not reasons, reasons, warnings, duration_ms=ms)

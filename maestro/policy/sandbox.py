"""The Rego evaluator process: one JSON request per line on stdin, one JSON answer per line on stdout.

It is started with an empty environment, so `opa.runtime()` has nothing to reveal, and in
isolated mode (-I). The parent bounds every request in time and kills the process when a policy
runs too long (a loop): that request is answered as a denial (fail closed).
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

_ERR = re.compile(r"\(error \d+:([^|\s]+)\|(\d+)\|(\d+)")
_MSG = re.compile(r"\(errormsg \d+:([^)]*)\)")


def locate(source: str, offset: int) -> tuple[int, int]:
    before = source[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def _errors(exc: Exception, modules: dict[str, str]) -> list[dict[str, Any]]:
    text = str(exc)
    out = []
    msgs = _MSG.findall(text)
    for i, (name, offset, _length) in enumerate(_ERR.findall(text)):
        line, col = locate(modules.get(name, ""), int(offset))
        out.append({"module": name, "line": line, "column": col, "message": msgs[i] if i < len(msgs) else "syntax error"})
    if not out:
        out.append({"module": "", "line": 0, "column": 0, "message": text.strip().splitlines()[0] if text.strip() else "error"})
    return out


def handle(req: dict[str, Any]) -> dict[str, Any]:
    from regopy import Input, Interpreter, RegoError

    modules: dict[str, str] = req.get("modules", {})
    interp = Interpreter()
    try:
        for name, src in modules.items():
            interp.add_module(name, src)
        if "input" in req:
            interp.set_input(Input(req["input"]))
        results = {}
        for q in req.get("queries", []):
            raw = str(interp.query(q))
            results[q] = None if raw.strip() == "undefined" else json.loads(raw)["expressions"][0]
    except RegoError as exc:
        return {"ok": False, "errors": _errors(exc, modules)}
    return {"ok": True, "results": results}


def main() -> None:
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    out = os.fdopen(os.dup(1), "w")
    os.dup2(devnull, 1)  # regopy prints diagnostics on stdout: keep the protocol channel clean
    for line in sys.stdin:
        try:
            answer = handle(json.loads(line))
        except Exception as exc:  # a broken request must not end the process
            answer = {"ok": False, "errors": [{"module": "", "line": 0, "column": 0, "message": str(exc)}]}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()

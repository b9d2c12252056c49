"""`${{ … }}` in `run:` never becomes shell text.

Each expression is evaluated into an environment variable of the step and the command refers to
that variable, quoted for where it stands, so a value like ``x"; touch /tmp/p; echo "`` is printed
literally instead of being executed. The rewrite is a pure function of the command text (the
workflow repeats it deterministically; the UI shows its result on the step):

- unquoted ``echo ${{ params.v }}``          → ``echo "${MAESTRO_EXPR_PARAMS_V}"`` (no word splitting)
- in double quotes ``"v=${{ params.v }}"``     → ``"v=${MAESTRO_EXPR_PARAMS_V}"``
- in single quotes ``'v=${{ params.v }}'``     → ``'v='"${MAESTRO_EXPR_PARAMS_V}"''`` (the quotes are closed
  around the value so it is still inserted, as the author meant), with a warning
- in an unquoted heredoc body                 → ``${MAESTRO_EXPR_PARAMS_V}``
- in a quoted heredoc body (``<<'EOF'``)       → ``${MAESTRO_EXPR_PARAMS_V}`` with a warning: the shell
  does not expand it there, so the step sees the reference, not the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from maestro.pipelines.expr import INTERP

VAR_PREFIX = "MAESTRO_EXPR_"
_HEREDOC = re.compile(r"<<-?\s*(?P<q>['\"]?)(?P<tag>[A-Za-z_][A-Za-z0-9_]*)(?P=q)")


@dataclass
class SafeCommand:
    command: str
    refs: dict[str, str] = field(default_factory=dict)  # env var → expression
    warnings: list[str] = field(default_factory=list)


def var_name(expr: str, taken: dict[str, str]) -> str:
    """A readable, stable variable name for an expression (``params.v`` → ``MAESTRO_EXPR_PARAMS_V``)."""
    for name, e in taken.items():
        if e == expr:
            return name
    base = re.sub(r"[^A-Za-z0-9]+", "_", expr).strip("_").upper()[:48] or "VALUE"
    name, n = VAR_PREFIX + base, 2
    while name in taken:
        name, n = f"{VAR_PREFIX}{base}_{n}", n + 1
    return name


def _contexts(text: str) -> list[str]:
    """The quoting context of every character of a bash command: N(ormal), S(ingle), D(ouble), H (unquoted
    heredoc body), Q (quoted heredoc body) or C(omment). Good enough for `${{ }}` placement; not a parser."""
    ctx = ["N"] * len(text)
    stack: list[str] = ["N"]
    pending: list[tuple[str, bool]] = []  # heredocs whose bodies start at the next newline
    i, n = 0, len(text)
    while i < n:
        top = stack[-1]
        c = text[i]
        if top in ("N", "P"):  # P: inside $( … ), a normal context of its own
            if c == "\\" and i + 1 < n:
                ctx[i] = ctx[i + 1] = "N"
                i += 2
                continue
            if c == "'":
                stack.append("S")
            elif c == '"':
                stack.append("D")
            elif c == "#" and (i == 0 or text[i - 1] in " \t\n;&|("):
                j = text.find("\n", i)
                j = n if j < 0 else j
                for k in range(i, j):
                    ctx[k] = "C"
                i = j
                continue
            elif text.startswith("$(", i):
                stack.append("P")
                ctx[i] = ctx[i + 1] = "N"
                i += 2
                continue
            elif c == ")" and top == "P":
                stack.pop()
            elif c == "<" and (m := _HEREDOC.match(text, i)) and not text.startswith("<<<", i):
                pending.append((m.group("tag"), bool(m.group("q"))))
                for k in range(i, m.end()):
                    ctx[k] = "N"
                i = m.end()
                continue
            elif c == "\n" and pending:
                ctx[i] = "N"
                i += 1
                for tag, quoted in pending:
                    i = _heredoc_body(text, i, tag, "Q" if quoted else "H", ctx)
                pending.clear()
                continue
            ctx[i] = "N"
        elif top == "S":
            ctx[i] = "S"
            if c == "'":
                stack.pop()
                ctx[i] = "N"
        elif top == "D":
            ctx[i] = "D"
            if c == "\\" and i + 1 < n:
                ctx[i + 1] = "D"
                i += 2
                continue
            if c == '"':
                stack.pop()
                ctx[i] = "N"
            elif text.startswith("$(", i):
                stack.append("P")
                ctx[i + 1] = "D"
                i += 2
                continue
        i += 1
    return ctx


def _heredoc_body(text: str, i: int, tag: str, kind: str, ctx: list[str]) -> int:
    n = len(text)
    while i < n:
        j = text.find("\n", i)
        j = n if j < 0 else j
        line = text[i:j]
        if line.strip() == tag:
            return j
        for k in range(i, j + (1 if j < n else 0)):
            ctx[k] = kind
        i = j + 1
    return n


def make_safe(run: str) -> SafeCommand:
    """Rewrite every `${{ expr }}` of a `run:` command into a quoted reference to an env variable."""
    out = SafeCommand(command=run)
    matches = list(INTERP.finditer(run))
    if not matches:
        return out
    ctx = _contexts(run)
    parts: list[str] = []
    last = 0
    for m in matches:
        expr = m.group(1).strip()
        name = var_name(expr, out.refs)
        out.refs[name] = expr
        where = ctx[m.start()] if m.start() < len(ctx) else "N"
        ref = "${" + name + "}"
        if where == "N":
            ref = f'"{ref}"'
        elif where == "S":
            ref = f"'\"{ref}\"'"
            out.warnings.append(
                f"${{{{ {expr} }}}} is inside single quotes: the quotes are closed around its value ({name}) so the value "
                'is still inserted; prefer "${' + name + '}" in double quotes'
            )
        elif where == "Q":
            out.warnings.append(
                f"${{{{ {expr} }}}} is inside a quoted heredoc (<<'TAG'): the shell does not expand ${name} there, so the "
                'step sees the reference, not the value; use an unquoted heredoc or "$' + name + '"'
            )
        parts.append(run[last : m.start()] + ref)
        last = m.end()
    parts.append(run[last:])
    out.command = "".join(parts)
    return out

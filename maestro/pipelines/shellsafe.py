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

Refused (a spec error): where bash evaluates even a quoted value as code — arithmetic (``$(( ))``,
``(( ))``), ``[[ ]]``, inside ``${…}``, after ``eval``, in the script of ``sh -c`` — and where this scanner
cannot vouch for the quoting (``$'…'``, backquotes). A value placed into another interpreter's program
text (``python -c "…"``, a sed script, ``ssh host …``) is that interpreter's code: such programs
should read the environment variable themselves.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from maestro.pipelines.expr import INTERP

VAR_PREFIX = "MAESTRO_EXPR_"


@dataclass(frozen=True)
class SafeCommand:
    """The rewrite of one `run:` (shared from a cache: never modify it)."""

    command: str
    refs: dict[str, str] = field(default_factory=dict)  # env var → expression
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # places where the value would still run as code: refused


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


# Where bash evaluates a value as code even when it is quoted (arithmetic re-evaluates `a[$(cmd)]`),
# or where the scanner cannot vouch for the quoting: a reference there is refused, never rewritten.
REFUSED = {
    "A": "inside arithmetic ($(( )), (( )), $[ ]), where bash evaluates the value as an expression (`a[$(cmd)]` runs cmd)",
    "T": "inside [[ ]], where comparisons like -eq/-gt evaluate the value as an arithmetic expression",
    "E": "inside a ${…} parameter expansion",
    "X": "inside $'…' quoting",
    "B": "inside `…` backquotes (use $( ) instead)",
}
_WORD_START = " \t\n;&|()"
_SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "ash"}
_HEREDOC = re.compile(r"<<-?[ \t]*(?P<bs>\\?)(?P<q>['\"]?)(?P<tag>[A-Za-z_][A-Za-z0-9_]*)(?P=q)")


def _opener(text: str, i: int, top: str, at_word: bool) -> tuple[str, int] | None:
    """A construct starting at `i` that opens a new context: (its state, its length)."""
    for prefix, state in (("$((", "A"), ("$[", "AB"), ("${", "E"), ("$(", "P")):
        if text.startswith(prefix, i):
            return state, len(prefix)
    if top in ("N", "P") and at_word:
        for prefix, state in (("((", "A"), ("[[", "T")):
            if text.startswith(prefix, i):
                return state, len(prefix)
    return None


_ESCAPING = {"N", "P", "D", "X", "E", "B"}  # where a backslash quotes the next character
_CLOSERS = {"S": "'", "X": "'", "D": '"', "B": "`", "E": "}"}


def _contexts(text: str) -> list[str]:
    """The quoting context of every character of a bash command: N(ormal), S(ingle), D(ouble), H (unquoted
    heredoc body), Q (quoted heredoc body), C(omment), or one of REFUSED's. Good enough to place `${{ }}`
    safely and to refuse where it cannot; not a full parser."""
    ctx = ["N"] * len(text)
    stack: list[str] = ["N"]
    depth: list[int] = []  # open parentheses inside each arithmetic frame
    pending: list[tuple[str, bool]] = []  # heredocs whose bodies start at the next newline
    i, n = 0, len(text)
    while i < n:
        top = stack[-1]
        here = {"P": "N", "AB": "A"}.get(top, top)
        c = text[i]
        at_word = i == 0 or text[i - 1] in _WORD_START
        if text.startswith("${{", i) and (m := INTERP.match(text, i)):  # our own marker: keeps the context
            for k in range(i, m.end()):
                ctx[k] = here
            i = m.end()
            continue
        ctx[i] = here
        if top in _ESCAPING and c == "\\" and i + 1 < n:
            ctx[i + 1] = here
            i += 2
            continue
        if top in _CLOSERS and c == _CLOSERS[top]:
            stack.pop()
            i += 1
            continue
        if top in ("N", "P", "D", "E") and (opened := _opener(text, i, top, at_word)):
            state, length = opened
            stack.append(state)
            if state in ("A", "AB"):
                depth.append(0)
            i += length
            continue
        if top in ("N", "P"):  # P: inside $( … ), a normal context of its own
            if text.startswith("$'", i):
                stack.append("X")
                i += 2
                continue
            if c in "'\"`":
                stack.append({"'": "S", '"': "D", "`": "B"}[c])
            elif c == "#" and at_word:
                j = text.find("\n", i)
                j = n if j < 0 else j
                for k in range(i, j):
                    ctx[k] = "C"
                i = j
                continue
            elif c == ")" and top == "P":
                stack.pop()
            elif c == "<" and not text.startswith("<<<", i) and (m := _HEREDOC.match(text, i)):
                pending.append((m.group("tag"), bool(m.group("q") or m.group("bs"))))
                i = m.end()
                continue
            elif c == "\n" and pending:
                i += 1
                for tag, quoted in pending:
                    i = _heredoc_body(text, i, tag, "Q" if quoted else "H", ctx)
                pending.clear()
                continue
        elif top == "D" and c == "`":
            stack.append("B")
        elif top in ("A", "AB"):
            if top == "AB" and c == "]":
                stack.pop()
                depth.pop()
            elif c == "(":
                depth[-1] += 1
            elif c == ")" and depth[-1] > 0:
                depth[-1] -= 1
            elif top == "A" and text.startswith("))", i):
                ctx[i + 1] = "A"
                stack.pop()
                depth.pop()
                i += 2
                continue
        elif top == "T" and text.startswith("]]", i):
            ctx[i + 1] = "T"
            stack.pop()
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


def _command_words(text: str, ctx: list[str], at: int) -> list[str]:
    """The words of the simple command that the reference at `at` belongs to, up to it (a rough split)."""
    start = at
    while start > 0 and not (text[start - 1] in "\n;&|(){" and ctx[start - 1] == "N"):
        start -= 1
    words = re.findall(r"[^\s]+", text[start:at])
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):  # leading VAR=value assignments
        words.pop(0)
    return words


@functools.lru_cache(maxsize=1024)  # the same `run:` is rewritten by validation, planning, launch and the workflow
def make_safe(run: str) -> SafeCommand:
    """Rewrite every `${{ expr }}` of a `run:` command into a quoted reference to an env variable; refuse
    (in `errors`) the places where bash would still evaluate the value as code."""
    matches = list(INTERP.finditer(run))
    if not matches:
        return SafeCommand(command=run)
    refs: dict[str, str] = {}
    warnings: list[str] = []
    errors: list[str] = []
    ctx = _contexts(run)
    parts: list[str] = []
    last = 0
    for m in matches:
        expr = m.group(1).strip()
        name = var_name(expr, refs)
        refs[name] = expr
        where = ctx[m.start()] if m.start() < len(ctx) else "N"
        shown = f"${{{{ {expr} }}}}"
        words = _command_words(run, ctx, m.start()) if where in ("N", "S", "D") else []
        ref = "${" + name + "}"
        if where in REFUSED:
            errors.append(f'{shown} is {REFUSED[where]}: use "${name}" in a plain command argument or an env: value')
        elif words and words[0] == "eval":
            errors.append(f'{shown} is an argument of eval, which runs it as shell code: use "${name}" without eval')
        elif words and words[0].rsplit("/", 1)[-1] in _SHELLS and "-c" in words[1:]:
            errors.append(
                f'{shown} is in the script of `{words[0]} -c`, which runs it as shell code: read "${name}" from the '
                "environment inside that script instead"
            )
        elif where == "N":
            ref = f'"{ref}"'
        elif where == "S":
            ref = f"'\"{ref}\"'"
            warnings.append(
                f"{shown} is inside single quotes: the quotes are closed around its value ({name}) so the value is still "
                f'inserted, which is code if those quotes hold a program (python -c, sed, awk); prefer "${name}" in '
                "double quotes, or read it from the environment inside that program"
            )
        elif where == "Q":
            warnings.append(
                f"{shown} is inside a quoted heredoc (<<'TAG'): the shell does not expand ${name} there, so the step "
                f'sees the reference, not the value; use an unquoted heredoc or "${name}"'
            )
        parts.append(run[last : m.start()] + ref)
        last = m.end()
    parts.append(run[last:])
    return SafeCommand(command="".join(parts), refs=refs, warnings=warnings, errors=errors)

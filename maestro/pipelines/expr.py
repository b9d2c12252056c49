"""A small, safe expression language for `if:` and `${{ ... }}` interpolation.

Grammar: or := and ('||' and)* ; and := not ('&&' not)* ; not := '!' not | cmp ;
cmp := primary (('=='|'!='|'<'|'<='|'>'|'>=') primary)? ;
primary := literal | path | func '(' ')' | '(' or ')'.
Paths read from a context dict: ``params.x``, ``steps.build.outputs.version``, ``matrix.python``,
``env.NAME``, ``run.env``. Functions: ``success()``, ``failure()``, ``always()``, ``cancelled()``.
No attribute access on Python objects, no calls other than those four: nothing to escape from.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|"
    r"(?P<op>==|!=|<=|>=|&&|\|\||[<>!()])|(?P<name>[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]+)*))"
)
FUNCS = {"success", "failure", "always", "cancelled"}
INTERP = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class ExprError(ValueError):
    pass


@dataclass
class Tok:
    kind: str
    value: str


def tokenize(src: str) -> list[Tok]:
    pos, out = 0, []
    src = src.strip()
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m or m.end() == pos:
            raise ExprError(f"unexpected character at {pos + 1}: {src[pos : pos + 10]!r}")
        kind = m.lastgroup or ""
        out.append(Tok(kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, toks: list[Tok], ctx: dict[str, Any], funcs: dict[str, Callable[[], bool]]) -> None:
        self.t, self.i, self.ctx, self.funcs = toks, 0, ctx, funcs
        self.used_status_func = False

    def peek(self) -> Tok | None:
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self, value: str | None = None) -> Tok:
        tok = self.peek()
        if tok is None or (value is not None and tok.value != value):
            raise ExprError(f"expected {value or 'a value'}" + (f", got {tok.value!r}" if tok else " at the end"))
        self.i += 1
        return tok

    def parse(self) -> Any:
        v = self.or_()
        if self.peek() is not None:
            raise ExprError(f"unexpected {self.peek().value!r}")  # type: ignore[union-attr]
        return v

    def or_(self) -> Any:
        v = self.and_()
        while (p := self.peek()) and p.value == "||":
            self.take()
            r = self.and_()
            v = v or r
        return v

    def and_(self) -> Any:
        v = self.not_()
        while (p := self.peek()) and p.value == "&&":
            self.take()
            r = self.not_()
            v = v and r
        return v

    def not_(self) -> Any:
        if (p := self.peek()) and p.value == "!":
            self.take()
            return not truthy(self.not_())
        return self.cmp()

    def cmp(self) -> Any:
        left = self.primary()
        p = self.peek()
        if p and p.value in {"==", "!=", "<", "<=", ">", ">="}:
            op = self.take().value
            right = self.primary()
            if op == "==":
                return _norm(left) == _norm(right)
            if op == "!=":
                return _norm(left) != _norm(right)
            try:
                a, b = float(left), float(right)
            except (TypeError, ValueError) as exc:
                raise ExprError(f"cannot compare {left!r} {op} {right!r}: numbers only") from exc
            return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
        return left

    def primary(self) -> Any:
        tok = self.take()
        if tok.kind == "num":
            return float(tok.value) if "." in tok.value else int(tok.value)
        if tok.kind == "str":
            return bytes(tok.value[1:-1], "utf-8").decode("unicode_escape")
        if tok.value == "(":
            v = self.or_()
            self.take(")")
            return v
        if tok.kind == "name":
            if tok.value in {"true", "false"}:
                return tok.value == "true"
            if tok.value == "null":
                return None
            if tok.value in FUNCS:
                self.take("(")
                self.take(")")
                self.used_status_func = True
                return self.funcs[tok.value]()
            return lookup(self.ctx, tok.value)
        raise ExprError(f"unexpected {tok.value!r}")


def _norm(v: Any) -> Any:
    return str(v).lower() if isinstance(v, bool) else str(v) if v is not None else ""


def truthy(v: Any) -> bool:
    if isinstance(v, str):
        return v not in {"", "false", "0"}
    return bool(v)


def lookup(ctx: dict[str, Any], path: str) -> Any:
    cur: Any = ctx
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            return None
    return cur


def check_syntax(src: str, *, allowed_roots: set[str]) -> list[str]:
    """Parse without evaluating; return the context roots referenced (for validation)."""
    toks = tokenize(src)
    _Parser(toks, {}, dict.fromkeys(FUNCS, lambda: True)).parse()
    roots = []
    for t in toks:
        if t.kind == "name" and t.value not in FUNCS | {"true", "false", "null"}:
            root = t.value.split(".")[0]
            if root not in allowed_roots:
                raise ExprError(f"unknown name {t.value!r}: use one of {', '.join(sorted(allowed_roots))}")
            roots.append(t.value)
    return roots


def evaluate_condition(src: str, ctx: dict[str, Any], *, needs_status: list[str]) -> bool:
    """`if:` semantics: without a status function, the step runs only when all needs succeeded."""
    ok = all(s == "succeeded" for s in needs_status)
    failed = any(s == "failed" for s in needs_status)
    cancelled = any(s == "cancelled" for s in needs_status)
    funcs = {
        "success": lambda: ok,
        "failure": lambda: failed,
        "always": lambda: True,
        "cancelled": lambda: cancelled,
    }
    p = _Parser(tokenize(src), ctx, funcs)
    v = truthy(p.parse())
    return v if p.used_status_func else (v and ok)


def evaluate(expr: str, ctx: dict[str, Any]) -> str:
    """The value of one `${{ expr }}` as the text a step receives."""
    return str(_norm(_Parser(tokenize(expr), ctx, dict.fromkeys(FUNCS, lambda: True)).parse()))


def interpolate(text: str, ctx: dict[str, Any]) -> str:
    """Fill `${{ }}` into plain text (env values, messages). Never for shell commands: see shellsafe."""
    return INTERP.sub(lambda m: evaluate(m.group(1), ctx), text)

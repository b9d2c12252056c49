"""The pipeline spec: parsing (YAML/JSON), validation naming the exact field and step, DAG planning."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable
from graphlib import CycleError, TopologicalSorter
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from maestro.pipelines.expr import INTERP, ExprError, check_syntax
from maestro.pipelines.shellsafe import make_safe

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
BUILTIN_KINDS = {"approval", "sign", "sbom", "policy"}
SBOM_FILE = "sbom.cdx.json"
NOT_STEPS = {  # kinds people try that are not pipeline steps, with where they live instead
    "rollout": "a rollout is started from a finished run: its Promote action (POST /api/runs/{id}/actions"
    ' {"action": "promote", "env": ...}) or POST /api/rollouts',
}
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
MAX_TIMEOUT_S = 24 * 3600


class SpecError(ValueError):
    """Validation problems, each with the field path (``steps[2].needs``) and a message."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def parse_duration(v: Any) -> int:
    if isinstance(v, bool):
        raise ValueError("must be seconds (a number) or a duration like 90s, 10m, 1h30m")
    if isinstance(v, int | float):
        secs = int(v)
    elif isinstance(v, str) and v and (m := _DURATION.match(v.strip())) and any(m.groups()):
        h, mi, s = (int(x or 0) for x in m.groups())
        secs = h * 3600 + mi * 60 + s
    else:
        raise ValueError(f"{v!r} is not a duration: use seconds or 90s, 10m, 1h30m")
    if not 1 <= secs <= MAX_TIMEOUT_S:
        raise ValueError(f"must be between 1 second and 24h, got {secs}s")
    return secs


def duration_schema(*, minimum: int = 1) -> Callable[[dict[str, Any]], None]:
    """JSON schema of a duration field: seconds, or a string like 90s, 10m, 1h30m (at most 24h)."""

    def patch(schema: dict[str, Any]) -> None:
        for k in ("type", "anyOf", "minimum", "maximum"):
            schema.pop(k, None)
        schema["anyOf"] = [
            {"type": "integer", "minimum": minimum, "maximum": MAX_TIMEOUT_S},
            {"type": "string", "pattern": r"^(?=\d)(\d+h)?(\d+m)?(\d+s)?$", "maxLength": 16},
        ]

    return patch


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Param(_Strict):
    type: Literal["string", "number", "boolean"] = "string"
    default: str | float | bool | None = None
    enum: list[str | float] | None = None
    description: str = ""
    required: bool = False


def _str_list(v: Any, what: str) -> list[str]:
    if not isinstance(v, list) or not v or not all(isinstance(x, str) and x for x in v):
        raise ValueError(f"{what} must be a non-empty list of strings")
    return v


def _check_with(uses: str, w: dict[str, Any]) -> None:
    allowed = {"approval": {"message"}, "sign": {"artifacts"}, "sbom": {"files", "python"}, "policy": {"env"}}[uses]
    unknown = set(w) - allowed
    if unknown:
        raise ValueError(f"`uses: {uses}` takes `with:` keys {sorted(allowed)}; unknown: {sorted(unknown)}")
    if uses == "sign":
        if "artifacts" not in w:
            raise ValueError("`uses: sign` needs `with: {artifacts: [globs]}` naming the run's artifacts to sign")
        _str_list(w["artifacts"], "`with.artifacts`")
    if uses == "policy" and not isinstance(w.get("env", ""), str):
        raise ValueError("`with.env` must be the environment to promote to (default: the run's environment)")
    if uses == "sbom":
        for f in _str_list(w.get("files", ["."]), "`with.files`"):
            if f.startswith("/") or ".." in f.split("/"):
                raise ValueError(f"`with.files` entry {f!r} must be relative to the workspace and stay inside it")
        if "python" in w and not isinstance(w["python"], str):
            raise ValueError("`with.python` must be the path of a Python interpreter")


class Source(_Strict):
    url: str = Field(description="git URL, file:// URL or local path of a git repository")
    ref: str = Field("HEAD", description="branch, tag or commit")


class Step(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str | None = None
    run: str | None = Field(None, description="shell command (bash -e)")
    uses: str | None = Field(
        None,
        description="built-in step kind: approval (with: message), sign (with: artifacts: [globs]), "
        "sbom (with: files: [requirements/lock files], python: interpreter path), "
        "policy (with: env: target environment; the promote policies judge the run's artifacts)",
    )
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    needs: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    secrets: list[str] = Field(default_factory=list)
    if_: str | None = Field(None, alias="if")
    timeout: int = Field(1800, description="seconds, or a duration like 10m (at most 24h)", json_schema_extra=duration_schema())
    retries: int = Field(0, ge=0, le=10)
    artifacts: list[str] = Field(default_factory=list)
    matrix: dict[str, list[str | int | float | bool]] = Field(default_factory=dict)
    pool: str = Field("default", pattern=ID_PATTERN)
    network: Literal["default", "none"] | None = Field(
        None, description="`none`: this step's sandbox has no network at all (default: the pipeline's `network`)"
    )

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, v: Any) -> int:
        return parse_duration(v)

    @field_validator("artifacts")
    @classmethod
    def _globs(cls, v: list[str]) -> list[str]:
        for g in v:
            if not g or g.startswith("/") or ".." in g.split("/"):
                raise ValueError(f"artifact glob {g!r} must be relative to the workspace and stay inside it")
            if g.count("[") != g.count("]"):
                raise ValueError(f"artifact glob {g!r} has unbalanced brackets")
        return v

    @model_validator(mode="after")
    def _kind(self) -> Step:
        if self.uses is None and not self.run:
            raise ValueError("a step needs `run` (a shell command) or `uses` (a built-in kind)")
        if self.uses is not None:
            if self.run:
                raise ValueError("a step has either `run` or `uses`, not both")
            if self.uses in NOT_STEPS:
                raise ValueError(f"`uses: {self.uses}` is not a pipeline step: {NOT_STEPS[self.uses]}")
            if self.uses not in BUILTIN_KINDS:
                raise ValueError(f"unknown built-in `uses: {self.uses}`; available: {', '.join(sorted(BUILTIN_KINDS))}")
            _check_with(self.uses, self.with_)
        if self.secrets:
            raise ValueError(
                "`secrets` is not supported: Maestro has no secret store; use `env` for non-secret values and keep"
                " secrets in the runner host's environment"
            )
        for k, values in self.matrix.items():
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", k):
                raise ValueError(f"matrix key {k!r} must be an identifier")
            if not values:
                raise ValueError(f"matrix {k!r} has no values")
        return self


class PipelineSpec(_Strict):
    name: str = Field(pattern=ID_PATTERN)
    description: str = ""
    params: dict[str, Param] = Field(default_factory=dict)
    source: Source | None = None
    env: dict[str, str] = Field(default_factory=dict)
    network: Literal["default", "none"] = Field(
        "default",
        description="`default`: steps reach the internet (package installs) but never the Maestro hosts' services; "
        "`none`: steps have no network at all",
    )
    keep_workspace: bool = Field(
        False,
        alias="keepWorkspace",
        description="keep the runs' workspaces on the runner after they end (default: removed, see "
        "MAESTRO_WORKSPACE_RETENTION_MINUTES)",
    )
    steps: list[Step] = Field(min_length=1)


def _loc(loc: tuple[Any, ...], spec_steps: list[Any] | None) -> str:
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
            if i >= 1 and loc[i - 1] == "steps" and spec_steps and part < len(spec_steps):
                sid = spec_steps[part].get("id") if isinstance(spec_steps[part], dict) else None
                if sid:
                    out += f"({sid})"
        else:
            out += ("." if out else "") + {"if_": "if", "with_": "with"}.get(str(part), str(part))
    return out


MAX_SPEC_DEPTH = 32  # a pipeline needs a handful of levels; YAML/JSON nested deeper is refused
MAX_SPEC_NODES = 50_000  # values after aliases are expanded (no "billion laughs")


class _TooDeep(yaml.YAMLError):
    pass


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses nesting deeper than MAX_SPEC_DEPTH while composing, before
    recursion or validation can cost anything."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_SPEC_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise _TooDeep(f"nested deeper than {MAX_SPEC_DEPTH} levels at line {mark.line + 1}")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _expanded_size_exceeds(data: Any, limit: int) -> bool:
    """Count values as a serializer would see them (aliases expanded), stopping at ``limit``."""
    stack, n = [data], 0
    while stack:
        v = stack.pop()
        n += 1
        if n > limit:
            return True
        if isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return False


def load(text: str) -> dict[str, Any]:
    """YAML or JSON text → mapping (JSON is YAML), bounded in depth and expanded size."""
    try:
        data = yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader subclass
    except _TooDeep as exc:
        raise SpecError([{"field": "spec", "message": f"{exc}; flatten the document"}]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError([{"field": "spec", "message": f"not valid YAML/JSON{where}: {getattr(exc, 'problem', exc)}"}]) from exc
    if not isinstance(data, dict):
        raise SpecError([{"field": "spec", "message": "must be a mapping with name and steps"}])
    if _expanded_size_exceeds(data, MAX_SPEC_NODES):
        raise SpecError(
            [
                {
                    "field": "spec",
                    "message": f"more than {MAX_SPEC_NODES} values once YAML aliases are expanded; write it out plainly",
                }
            ]
        )
    return data


def _friendly(e: Any) -> str:
    """pydantic's wording for the common mistakes, said the way a pipeline author thinks about them."""
    ctx = e.get("ctx") or {}
    if e["type"] == "extra_forbidden":
        return "unknown field"
    if e["type"] == "string_pattern_mismatch" and ctx.get("pattern") == ID_PATTERN:
        rule = "use lowercase letters, digits, - and _, starting with a letter or digit (at most 63)"
        return f"{e.get('input')!r} is not a valid name: {rule}"
    if e["type"] == "too_short" and tuple(e["loc"]) == ("steps",):
        return "a pipeline needs at least one step"
    if e["type"] == "too_short":
        return f"needs at least {ctx.get('min_length', 1)} item(s)"
    return str(e["msg"]).removeprefix("Value error, ")


def validate(data: dict[str, Any]) -> PipelineSpec:
    raw_steps = data.get("steps") if isinstance(data.get("steps"), list) else None
    try:
        spec = PipelineSpec.model_validate(data)
    except ValidationError as exc:
        problems: list[dict[str, str]] = []
        for e in exc.errors():
            msg = _friendly(e)
            problems.append({"field": _loc(tuple(e["loc"]), raw_steps), "message": msg})
        raise SpecError(problems) from exc
    errors: list[dict[str, str]] = []
    ids: dict[str, int] = {}
    for i, s in enumerate(spec.steps):
        if s.id in ids:
            errors.append({"field": f"steps[{i}]({s.id}).id", "message": f"duplicate step id (also steps[{ids[s.id]}])"})
        ids.setdefault(s.id, i)
    for i, s in enumerate(spec.steps):
        for n in s.needs:
            if n not in ids:
                errors.append({"field": f"steps[{i}]({s.id}).needs", "message": f"unknown step {n!r}"})
            elif n == s.id:
                errors.append({"field": f"steps[{i}]({s.id}).needs", "message": "a step cannot need itself"})
        if s.run:
            for problem in make_safe(s.run).errors:
                errors.append({"field": f"steps[{i}]({s.id}).run", "message": problem})
        roots = {"params", "steps", "matrix", "env", "run"}
        for field, text in [("if", s.if_), ("run", s.run), *[(f"env.{k}", v) for k, v in s.env.items()]]:
            if not text:
                continue
            exprs = [text] if field == "if" else INTERP.findall(text)
            for ex in exprs:
                try:
                    refs = check_syntax(ex, allowed_roots=roots)
                except ExprError as err:
                    errors.append({"field": f"steps[{i}]({s.id}).{field}", "message": f"bad expression {ex!r}: {err}"})
                    continue
                for ref in refs:
                    parts = ref.split(".")
                    if parts[0] == "params" and len(parts) > 1 and parts[1] not in spec.params:
                        errors.append({"field": f"steps[{i}]({s.id}).{field}", "message": f"unknown param {parts[1]!r}"})
                    if parts[0] == "steps" and len(parts) > 1 and parts[1] not in s.needs:
                        errors.append(
                            {"field": f"steps[{i}]({s.id}).{field}", "message": f"{ref} is read but {parts[1]!r} is not in needs"}
                        )
                    if parts[0] == "matrix" and len(parts) > 1 and parts[1] not in s.matrix:
                        errors.append({"field": f"steps[{i}]({s.id}).{field}", "message": f"unknown matrix key {parts[1]!r}"})
    if not errors:
        cycle = find_cycle({s.id: s.needs for s in spec.steps})
        if cycle:
            first = ids[cycle[0]]
            errors.append({"field": f"steps[{first}]({cycle[0]}).needs", "message": "dependency cycle: " + " → ".join(cycle)})
    for name, p in spec.params.items():
        if p.default is not None and p.enum is not None and p.default not in p.enum:
            errors.append({"field": f"params.{name}.default", "message": f"{p.default!r} is not one of {p.enum}"})
    if errors:
        raise SpecError(errors)
    return spec


def warnings(spec: PipelineSpec) -> list[dict[str, str]]:
    """Advice that does not stop a spec: ${{ }} placements whose quoting changes meaning."""
    out: list[dict[str, str]] = []
    for i, s in enumerate(spec.steps):
        if s.run:
            out += [{"field": f"steps[{i}]({s.id}).run", "message": w} for w in make_safe(s.run).warnings]
    return out


def parse(text: str) -> PipelineSpec:
    return validate(load(text))


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle as a path along ``needs`` that returns to its start (``a → b → a``), starting at the
    first step of the cycle in declaration order, or None. No recursion: a chain of thousands of
    steps is fine."""
    try:
        TopologicalSorter({n: [m for m in deps if m in graph] for n, deps in graph.items()}).prepare()
    except CycleError as exc:
        nodes: list[str] = list(exc.args[1][:-1])[::-1]  # graphlib walks predecessors: reverse to follow needs
        order = {n: i for i, n in enumerate(graph)}
        k = min(range(len(nodes)), key=lambda i: order[nodes[i]])
        ring = nodes[k:] + nodes[:k]
        return [*ring, ring[0]]
    return None


def canonical_json(spec: PipelineSpec) -> str:
    return json.dumps(spec.model_dump(mode="json", by_alias=True, exclude_defaults=True), sort_keys=True, separators=(",", ":"))


def content_hash(spec: PipelineSpec) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(spec).encode()).hexdigest()


def resolve_inputs(spec: PipelineSpec, given: dict[str, Any]) -> dict[str, Any]:
    """Typed params with defaults; unknown or wrongly typed inputs name the param."""
    errors: list[dict[str, str]] = []
    out: dict[str, Any] = {}
    for k in given:
        if k not in spec.params:
            errors.append(
                {"field": f"inputs.{k}", "message": f"unknown param; the pipeline declares {sorted(spec.params) or 'none'}"}
            )
    for name, p in spec.params.items():
        v = given.get(name, p.default)
        if v is None:
            if p.required:
                errors.append({"field": f"inputs.{name}", "message": "required"})
            continue
        try:
            if p.type == "boolean":
                if isinstance(v, str) and v.lower() in {"true", "false"}:
                    v = v.lower() == "true"
                if not isinstance(v, bool):
                    raise ValueError
            elif p.type == "number":
                v = float(v) if not isinstance(v, bool) else float("nan")
                if v != v:
                    raise ValueError
                v = int(v) if float(v).is_integer() else v
            else:
                v = str(v)
        except (TypeError, ValueError):
            errors.append({"field": f"inputs.{name}", "message": f"must be a {p.type}"})
            continue
        if p.enum is not None and v not in p.enum:
            errors.append({"field": f"inputs.{name}", "message": f"must be one of {p.enum}"})
            continue
        out[name] = v
    if errors:
        raise SpecError(errors)
    return out


class PlannedStep(BaseModel):
    """One executable node after matrix expansion."""

    key: str
    step_id: str
    name: str
    kind: Literal["run", "approval", "sign", "sbom", "policy"]
    run: str | None
    env: dict[str, str]
    secrets: list[str]
    needs: list[str]
    if_: str | None
    timeout_s: int
    retries: int
    artifacts: list[str]
    matrix: dict[str, Any]
    pool: str
    message: str = ""
    with_: dict[str, Any] = Field(default_factory=dict)
    network: bool = True
    keep_workspace: bool = False
    command: str = ""  # `run` with every ${{ }} turned into a quoted env reference (what the shell executes)


def plan(spec: PipelineSpec) -> list[PlannedStep]:
    """Expand matrices; ``needs`` of a matrix step means every one of its expansions."""
    keys_of: dict[str, list[str]] = {}
    out: list[PlannedStep] = []
    for s in spec.steps:
        combos = [dict(zip(s.matrix, vals, strict=True)) for vals in itertools.product(*s.matrix.values())] if s.matrix else [{}]
        keys_of[s.id] = []
        for combo in combos:
            key = s.id if not combo else f"{s.id}[{','.join(f'{k}={v}' for k, v in combo.items())}]"
            keys_of[s.id].append(key)
            label = s.name or s.id
            out.append(
                PlannedStep(
                    key=key,
                    step_id=s.id,
                    name=label if not combo else f"{label} ({', '.join(str(v) for v in combo.values())})",
                    kind=s.uses if s.uses in BUILTIN_KINDS else "run",  # type: ignore[arg-type]
                    run=s.run,
                    env={**spec.env, **s.env},
                    secrets=s.secrets,
                    needs=[],
                    if_=s.if_,
                    timeout_s=s.timeout,
                    retries=s.retries,
                    artifacts=[SBOM_FILE] if s.uses == "sbom" else s.artifacts,
                    matrix=combo,
                    pool=s.pool,
                    message=str(s.with_.get("message", "")) if s.uses == "approval" else "",
                    with_=s.with_,
                    network=(s.network or spec.network) != "none",
                    keep_workspace=spec.keep_workspace,
                    command=make_safe(s.run).command if s.run else "",
                )
            )
    by_id = {s.id: s for s in spec.steps}
    for p in out:
        p.needs = [k for n in by_id[p.step_id].needs for k in keys_of[n]]
    return out


def json_schema() -> dict[str, Any]:
    schema = PipelineSpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "/api/schemas/pipeline.json"
    schema["title"] = "Maestro pipeline"
    return schema

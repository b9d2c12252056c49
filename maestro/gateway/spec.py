"""What the gateway routes by: providers, classes and their candidates, pins, kill switches, aliases and
gateway keys. The API validates these (the same models), keeps them in SQL and publishes one snapshot to
Redis; every gateway replica re-reads the snapshot within one refresh interval and never waits on SQL."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from maestro.wire import ApiModel

NAME = r"^[a-z0-9][a-z0-9._-]{0,62}$"
ProviderKind = Literal["openai", "azure-openai", "anthropic"]
KillScope = Literal["provider", "model", "tenant"]
RETRYABLE = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


class Spec(ApiModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class ProviderBody(Spec):
    """A model provider endpoint. Its API key is set separately (write-only) and stored sealed."""

    kind: ProviderKind = Field(
        description="Wire format: openai (OpenAI and any compatible server: vLLM, Ollama, LM Studio, the simulator), "
        "azure-openai (deployments; api-version), anthropic (Messages API)."
    )
    base_url: str = Field(
        max_length=2000,
        description="e.g. https://api.openai.com/v1, https://api.anthropic.com, http://127.0.0.1:11434/v1; "
        "for azure-openai https://<resource>.openai.azure.com/openai",
    )
    api_version: str | None = Field(
        None, max_length=40, pattern=r"^[A-Za-z0-9._-]+$", description="azure-openai only: the api-version query value."
    )
    region: str = Field("", max_length=40, description="Where requests are processed (data residency rules match it).")
    timeout_seconds: float = Field(
        60.0, gt=0, le=600, description="Silence from the provider longer than this fails the attempt."
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://[^/\s?#@]+(/[^\s?#]*)?$", v):
            raise ValueError("must be an http(s) URL with a host, no credentials and no query, e.g. https://api.openai.com/v1")
        from maestro.proxy.upstream import Origin

        try:
            Origin.parse(v.rstrip("/"))  # what every gateway replica will parse it with
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        return v.rstrip("/")


class ProviderSpec(ProviderBody):
    name: str = Field(pattern=NAME, description="How classes and candidates name this provider.")


def key_binding(name: str, base_url: str) -> str:
    """What a provider key is sealed to: the provider's name and the origin it is sent to. A key never
    opens for another host: changing a provider's scheme, host or port needs its key entered again."""
    from urllib.parse import urlsplit

    u = urlsplit(base_url)
    return f"{name}@{u.scheme}://{u.hostname}:{u.port or (443 if u.scheme == 'https' else 80)}"


class Price(Spec):
    """USD per million tokens (the price card of one model at one provider)."""

    input: float = Field(0.0, ge=0, le=10_000)
    output: float = Field(0.0, ge=0, le=10_000)


class CandidateSpec(Spec):
    provider: str = Field(pattern=NAME)
    model: str = Field(
        min_length=1, max_length=200, pattern=r"^[^\s\x00-\x1f\x7f]+$", description="The model name the provider knows."
    )
    price: Price = Field(default_factory=Price)
    weight: int = Field(0, ge=0, le=100, description="A/B split share in percent (all 0: no split, best score wins).")

    @property
    def key(self) -> str:
        return f"{self.provider}/{self.model}"


class MatchSpec(Spec):
    """Which requests a class takes; every given criterion must hold (empty: any)."""

    models: list[str] = Field(default_factory=list, description="Model names/aliases the client sends ('*' suffix: prefix).")
    paths: list[str] = Field(default_factory=list, description="e.g. /v1/chat/completions, /v1/messages, /v1/embeddings")
    tenants: list[str] = Field(default_factory=list)
    headers: dict[str, str] = Field(default_factory=dict, description="Request header → exact value.")
    metadata: dict[str, str] = Field(default_factory=dict, description="Body `metadata` key → exact value.")


class ScoreWeights(Spec):
    latency: float = Field(1.0, ge=0, le=100)
    cost: float = Field(1.0, ge=0, le=100)
    reliability: float = Field(2.0, ge=0, le=100)
    policy: float = Field(1.0, ge=0, le=100)


class FailoverSpec(Spec):
    max_attempts: int = Field(3, ge=1, le=10, description="Candidates tried for one request (retryable errors only).")
    backoff_ms: int = Field(25, ge=0, le=10_000, description="Wait before the second attempt; doubles each attempt.")
    backoff_max_ms: int = Field(1000, ge=0, le=60_000)
    cooldown_after: int = Field(3, ge=1, le=1000, description="Consecutive failures that put a candidate in cooldown.")
    cooldown_seconds: int = Field(30, ge=1, le=3600)


class PolicySpec(Spec):
    """Allowed providers/models/regions; a candidate outside them gets policy grade 0 and is never chosen."""

    providers: list[str] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list, description="Data residency: the provider's region must be one of these.")


DEFAULT_REDACT = [
    r"[\w.+-]+@[\w-]+\.[\w.-]+",  # e-mail addresses
    r"\b(?:sk|pk|rk|mk|mgw|mst)[-_][A-Za-z0-9_-]{12,}",  # API keys and tokens
    r"\b(?:\d[ -]?){13,19}\b",  # card and account numbers
]


class CaptureSpec(Spec):
    """Sampled request capture (prompts and answers) for evals: off unless a class opts in."""

    enabled: bool = False
    sample_rate: float = Field(0.1, ge=0, le=1, description="Share of the class's requests captured.")
    redact: list[str] = Field(
        default_factory=lambda: list(DEFAULT_REDACT),
        max_length=50,
        description="Regular expressions replaced by [REDACTED] in captured bodies, before they leave the gateway.",
    )
    retention_days: int = Field(7, ge=1, le=365, description="Captures older than this are deleted.")

    @field_validator("redact")
    @classmethod
    def _patterns(cls, v: list[str]) -> list[str]:
        for i, pat in enumerate(v):
            try:
                re.compile(pat)
            except re.error as exc:
                raise ValueError(f"redact[{i}] is not a regular expression: {exc}") from None
        return v


class ClassBody(Spec):
    description: str = Field("", max_length=500)
    priority: int = Field(100, ge=0, le=10_000, description="Lower matches first.")
    match: MatchSpec = Field(default_factory=MatchSpec)
    candidates: list[CandidateSpec] = Field(min_length=1, max_length=20, description="Listed order breaks score ties.")
    weights: ScoreWeights = Field(default_factory=ScoreWeights)
    failover: FailoverSpec = Field(default_factory=FailoverSpec)
    policy: PolicySpec = Field(default_factory=PolicySpec)
    rego: str | None = Field(
        None,
        max_length=20_000,
        description="Rego policy (rego.v1): `deny contains msg if …` over input {candidate: {provider, model, region, "
        "kind}, tenant, env, project}. Evaluated when the configuration changes, for each candidate and each gateway "
        "key's scope (tenant, env, project), never per request; a denied candidate is never chosen for that scope.",
    )
    sticky: str | None = Field(None, max_length=100, description="A/B: header whose value keeps a user on one side.")
    capture: CaptureSpec = Field(default_factory=CaptureSpec)
    downgrade_to: str | None = Field(
        None, max_length=300, description="provider/model of a cheaper candidate taken while the class is downgraded."
    )

    @model_validator(mode="after")
    def _check(self) -> ClassBody:
        keys = [c.key for c in self.candidates]
        if len(set(keys)) != len(keys):
            raise ValueError("candidates: each provider/model may appear once")
        total = sum(c.weight for c in self.candidates)
        if total not in (0, 100):
            raise ValueError(f"candidates: A/B weights must add up to 100 (or all be 0); they add up to {total}")
        if self.downgrade_to is not None and self.downgrade_to not in keys:
            raise ValueError(f"downgradeTo: {self.downgrade_to!r} is not one of the candidates {keys}")
        return self


class ClassSpec(ClassBody):
    name: str = Field(pattern=NAME)


class PinSpec(Spec):
    class_name: str = Field(alias="class", pattern=NAME)
    provider: str = Field(pattern=NAME)
    model: str = Field(min_length=1, max_length=200)
    expires_at: float | None = Field(None, description="Unix time; None: until unpinned.")
    reason: str = Field("", max_length=500)
    by: str = ""


class KillSwitchSpec(Spec):
    scope: KillScope
    value: str = Field(min_length=1, max_length=200, description="provider name, provider/model, or tenant id")
    reason: str = Field("", max_length=500)
    by: str = ""
    at: float = 0.0


class GatewayKeySpec(Spec):
    """A gateway key as the data plane sees it: only the hash of its secret."""

    id: str
    prefix: str
    hash: str
    tenant: str
    project: str | None = None
    env: str | None = None
    rpm: int | None = Field(None, ge=1)
    tpm: int | None = Field(None, ge=1)
    classes: list[str] = Field(default_factory=list, description="Allowed classes (empty: all of its tenant's).")
    expires_at: float | None = Field(None, description="Unix time after which the key is refused (None: never).")


class SealedKey(Spec):
    provider: str
    sealed: str


class BudgetGate(Spec):
    """A frozen or slowed-down budget the gateway enforces: requests whose tenant (and the key's project and
    env, and the candidate's provider and model) fall in its scope are refused (frozen, 429) or limited to
    ``rpm`` per minute (slowed down)."""

    id: str
    name: str
    tenant: str
    project: str = ""
    env: str = ""
    provider: str = ""
    model: str = ""
    frozen: bool = False
    reason: str = ""
    rpm: int | None = None

    def covers_request(self, tenant: str, project: str, env: str) -> bool:
        return self.tenant == tenant and self.project in ("", project) and self.env in ("", env)

    def covers_candidate(self, provider: str, model: str) -> bool:
        return self.provider in ("", provider) and self.model in ("", model)


class Snapshot(Spec):
    """Everything a gateway replica routes by, published as one JSON document with a version."""

    version: int = 0
    providers: list[ProviderSpec] = Field(default_factory=list)
    provider_keys: list[SealedKey] = Field(default_factory=list)
    classes: list[ClassSpec] = Field(default_factory=list)
    pins: list[PinSpec] = Field(default_factory=list)
    kills: list[KillSwitchSpec] = Field(default_factory=list)
    keys: list[GatewayKeySpec] = Field(default_factory=list)
    aliases: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="tenant ('*' for all) → alias → model name the classes match."
    )
    downgraded: list[str] = Field(default_factory=list, description="Classes switched to their downgrade candidate.")
    denied: dict[str, dict[str, dict[str, str]]] = Field(
        default_factory=dict, description="class → candidate → 'tenant|env|project' → why its Rego policy denies it there."
    )
    limits: dict[str, int] = Field(
        default_factory=dict, description="'tenant:<id>:rpm', 'model:<name>:tpm', …: shared limits beyond the keys' own."
    )
    budgets: list[BudgetGate] = Field(default_factory=list, description="Frozen and slowed-down budgets with a gateway scope.")

"""Budgets as users write them (scope, period, caps, thresholds, actions, tiers) and the pure rules the
BudgetWorkflow applies: calendar periods, which spend a budget covers, what is due at a utilisation."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

SCOPE_DIMS = ("project", "env", "pipeline", "provider", "model")
Period = Literal["monthly", "quarterly"]
ActionKind = Literal["freeze", "slowdown", "downgrade", "notify"]
NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"


class _Spec(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class BudgetScope(_Spec):
    """Which spend a budget covers: the budget's tenant, narrowed by every dimension set here."""

    project: str = Field("", max_length=63)
    env: str = Field("", max_length=63)
    pipeline: str = Field("", max_length=63)
    provider: str = Field("", max_length=63)
    model: str = Field("", max_length=200)

    def dims(self) -> dict[str, str]:
        return {d: v for d in SCOPE_DIMS if (v := getattr(self, d))}

    def describe(self) -> str:
        d = self.dims()
        return ", ".join(f"{k} {v}" for k, v in d.items()) or "the whole tenant"


class BudgetAction(_Spec):
    """What happens when utilisation reaches ``atPercent`` of the cap."""

    kind: ActionKind
    at_percent: int = Field(100, ge=1, le=1000)
    # slowdown: new runs in scope start at this rate (permits granted by the BudgetWorkflow), and
    # gateway requests in scope are limited to this many per minute
    permits_per_minute: int = Field(6, ge=1, le=6000)
    gateway_rpm: int = Field(60, ge=1, le=1_000_000)
    # downgrade: these routing classes switch to their cheaper path
    classes: list[str] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _classes_for_downgrade(self) -> BudgetAction:
        if self.kind == "downgrade" and not self.classes:
            raise ValueError("a downgrade action names the routing classes it downgrades (classes)")
        return self


@dataclass(frozen=True)
class Tier:
    cap_usd: float
    cap_tokens: int
    thresholds: tuple[int, ...]
    actions: tuple[dict[str, Any], ...]
    forecast_downgrade: bool = False


# Documented in docs/finops.md; a budget that gives caps, thresholds or actions overrides its tier's.
TIERS: dict[str, Tier] = {
    "bronze": Tier(
        cap_usd=100.0,
        cap_tokens=5_000_000,
        thresholds=(50, 80, 100),
        actions=({"kind": "notify", "atPercent": 80}, {"kind": "freeze", "atPercent": 100}),
    ),
    "silver": Tier(
        cap_usd=1_000.0,
        cap_tokens=50_000_000,
        thresholds=(50, 80, 100),
        actions=({"kind": "notify", "atPercent": 80}, {"kind": "slowdown", "atPercent": 100, "permitsPerMinute": 6}),
    ),
    "gold": Tier(
        cap_usd=10_000.0,
        cap_tokens=500_000_000,
        thresholds=(50, 80, 90, 100),
        actions=({"kind": "notify", "atPercent": 90}, {"kind": "slowdown", "atPercent": 120, "permitsPerMinute": 30}),
    ),
}


class BudgetCreate(_Spec):
    """A new budget. A tier fills in caps, thresholds and actions that are not given."""

    name: str = Field(pattern=NAME_PATTERN, max_length=63)
    description: str = Field("", max_length=500)
    tier: Literal["bronze", "silver", "gold", "custom"] = "custom"
    scope: BudgetScope = Field(default_factory=BudgetScope)
    period: Period = "monthly"
    cap_usd: float | None = Field(None, ge=0.000001, le=1e12, allow_inf_nan=False)
    cap_tokens: int | None = Field(None, gt=0, le=10**15)
    thresholds: list[int] | None = Field(None, max_length=10)
    actions: list[BudgetAction] | None = Field(None, max_length=10)
    forecast_downgrade: bool | None = None

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, v: list[int] | None) -> list[int] | None:
        if v is None:
            return v
        if any(t < 1 or t > 1000 for t in v):
            raise ValueError("thresholds are percents of the cap between 1 and 1000")
        return sorted(set(v))

    @model_validator(mode="after")
    def _complete(self) -> BudgetCreate:
        tier = TIERS.get(self.tier)
        if tier is not None:
            if self.cap_usd is None and self.cap_tokens is None:
                self.cap_usd, self.cap_tokens = tier.cap_usd, tier.cap_tokens
            if self.thresholds is None:
                self.thresholds = list(tier.thresholds)
            if self.actions is None:
                self.actions = [BudgetAction.model_validate(a) for a in tier.actions]
            if self.forecast_downgrade is None:
                self.forecast_downgrade = tier.forecast_downgrade
        if self.cap_usd is None and self.cap_tokens is None:
            raise ValueError("a budget needs a cap: capUsd, capTokens or both (or a tier: bronze, silver, gold)")
        if self.thresholds is None:
            self.thresholds = [50, 80, 100]
        if self.actions is None:
            self.actions = [BudgetAction(kind="freeze", at_percent=100)]
        if self.forecast_downgrade is None:
            self.forecast_downgrade = False
        if self.forecast_downgrade and not any(a.kind == "downgrade" for a in self.actions):
            raise ValueError("forecastDowngrade needs a downgrade action (it names the classes to downgrade)")
        return self


def period_bounds(period: str, now: datetime) -> tuple[datetime, datetime]:
    """The calendar period (UTC) holding ``now``: a month, or a quarter starting Jan/Apr/Jul/Oct."""
    now = now.astimezone(UTC)
    first = now.month if period == "monthly" else ((now.month - 1) // 3) * 3 + 1
    start = datetime(now.year, first, 1, tzinfo=UTC)
    months = 1 if period == "monthly" else 3
    m = first - 1 + months
    end = datetime(now.year + m // 12, m % 12 + 1, 1, tzinfo=UTC)
    return start, end


def covers(scope: dict[str, str], dims: dict[str, str]) -> bool:
    """True when spend with these dimensions counts against a budget with this scope: every dimension the
    scope sets must be equal (a run has no provider or model, so a model budget never covers a run)."""
    return all(not want or dims.get(d, "") == want for d, want in scope.items() if d in SCOPE_DIMS)


def utilisation(*, cap_usd: float | None, cap_tokens: int | None, usd: float, tokens: int) -> float:
    """Percent of the tighter cap used (bounded: a finite number whatever the caps)."""
    pcts = [0.0]
    if cap_usd:
        pcts.append(usd / cap_usd * 100)
    if cap_tokens:
        pcts.append(tokens / cap_tokens * 100)
    pct = max(pcts)
    return pct if math.isfinite(pct) and pct < 1e12 else 1e12


@dataclass
class Due:
    thresholds: list[int] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)  # indices into the budget's actions


def due(*, pct: float, thresholds: list[int], actions: list[dict[str, Any]], fired: list[int], applied: list[int]) -> Due:
    """What a utilisation makes due that has not fired/applied yet this period."""
    out = Due()
    out.thresholds = [t for t in thresholds if pct >= t and t not in fired]
    out.actions = [i for i, a in enumerate(actions) if pct >= int(a.get("atPercent", 100)) and i not in applied]
    return out


def rearm(*, pct: float, thresholds: list[int], actions: list[dict[str, Any]], fired: list[int], applied: list[int]) -> Due:
    """After a cap is raised: what is no longer reached (fired again if the spend reaches it again)."""
    out = Due()
    out.thresholds = [t for t in fired if t in thresholds and pct < t]
    out.actions = [i for i in applied if i < len(actions) and pct < int(actions[i].get("atPercent", 100))]
    return out

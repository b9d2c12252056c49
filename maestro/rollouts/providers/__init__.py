"""Traffic providers: what moves a service's traffic between its stable and canary versions.

A service names its provider (`Service.provider`) and that provider's settings (`Service.provider_config`,
checked by the provider's `config_model`). RolloutWorkflow never talks to a provider itself: its
activities write the desired route to Redis (the routing state the built-in edge reads, and what the
API shows) and hand it to the provider, which makes it so. Every provider module in this package
defines `PROVIDER`, a `ProviderSpec`; they are found at import time, so adding a provider touches
no other file.

A provider's contract:
- `apply(route)` sets the weights absolutely (a retried or replayed call changes nothing twice) and
  raises `ProviderUnavailable` while the provider cannot be reached (the activity retries);
- `window(version, seconds)` is that version's traffic over the last `seconds` (requests, errors,
  latency buckets) for the built-in `error_rate`/`latency_p95_ms` analyses, or raises
  `ProviderUnavailable`; a provider with no traffic counters of its own (`measures_traffic=False`)
  only runs Prometheus analyses, which the API checks when a rollout starts;
- `sync(route)` is called periodically by the control worker for routes it carries: re-apply what a
  provider forgets (HAProxy forgets runtime weights on reload), sample counters.
"""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError
from redis import Redis

from maestro.config import Settings
from maestro.edge import routes as edge
from maestro.wire import ApiModel


class ProviderUnavailable(Exception):
    """The provider did not answer (or answered with an error): transient, retried."""


class ProviderConfigError(ValueError):
    """A service's provider settings are not usable (raised at registration)."""


class ProviderConfig(ApiModel):
    """Base of a provider's settings (camelCase on the wire, unknown fields refused)."""

    model_config = ApiModel.model_config | {"extra": "forbid"}

    def targets(self) -> dict[str, str]:
        """What these settings make the control worker drive, {wire field: target}, e.g.
        {"backend": "haproxy:/run/haproxy/admin.sock/shop"}: each must match an entry of
        MAESTRO_PROVIDER_RESOURCES, and no two services may drive the same target."""
        return {}

    def refused_field(self, field: str, patterns: list[str]) -> str:
        """Which setting to name when `field`'s target is not allowed (the most specific wrong one)."""
        return field


class ResourceNotAllowed(ValueError):
    """A provider setting names a target the operator did not list in MAESTRO_PROVIDER_RESOURCES."""

    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"{value} is not among the targets traffic providers may drive (MAESTRO_PROVIDER_RESOURCES)")
        self.field = field
        self.target = value


class TrafficProvider(Protocol):
    def apply(self, route: edge.Route) -> None: ...

    def window(self, version: str, seconds: float) -> edge.Window: ...

    def sync(self, route: edge.Route) -> None: ...


@dataclass(frozen=True)
class ProviderContext:
    service: str
    config: BaseModel
    redis: Redis
    settings: Settings


@dataclass(frozen=True)
class ProviderSpec:
    name: str  # as services name it: "edge", "haproxy", "gateway-api"
    title: str
    description: str  # one line for the register-service dialog and GET /api/services/providers
    config_model: type[BaseModel]
    factory: Callable[[ProviderContext], TrafficProvider]
    measures_traffic: bool = True  # built-in error_rate / latency analyses work (else Prometheus only)
    docs: str = "docs/rollouts.md"
    # raises ValueError (the message says what to write) for an upstream URL the provider cannot route
    # to, e.g. Gateway API backends are Kubernetes Services: http://<service>.<namespace>:<port>
    check_upstream: Callable[[str, BaseModel], None] | None = None


def _discover() -> dict[str, ProviderSpec]:
    found: dict[str, ProviderSpec] = {}
    for m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        spec = getattr(importlib.import_module(f"{__name__}.{m.name}"), "PROVIDER", None)
        if isinstance(spec, ProviderSpec):
            found[spec.name] = spec
    return found


PROVIDERS: dict[str, ProviderSpec] = _discover()


def spec_for(name: str) -> ProviderSpec:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise ProviderConfigError(f"unknown traffic provider {name!r}; known: {', '.join(sorted(PROVIDERS))}") from None


def check_config(name: str, config: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The provider's settings as stored (aliases, defaults filled in); ValidationError names the field,
    ResourceNotAllowed the socket or file the operator did not allow."""
    model = spec_for(name).config_model.model_validate(config)
    _allowed(model, settings)
    return model.model_dump(mode="json", by_alias=True)


def _allowed(model: BaseModel, settings: Settings) -> None:
    if isinstance(model, ProviderConfig):
        for field, target in model.targets().items():
            if not any(fnmatch.fnmatchcase(target, pattern) for pattern in settings.provider_resources):
                raise ResourceNotAllowed(model.refused_field(field, settings.provider_resources), target)


def targets(name: str, config: dict[str, Any]) -> dict[str, str]:
    """The targets of stored settings ({} for a provider or settings that no longer validate)."""
    spec = PROVIDERS.get(name)
    if spec is None:
        return {}
    try:
        model = spec.config_model.model_validate(config)
    except ValidationError:
        return {}
    return model.targets() if isinstance(model, ProviderConfig) else {}


def check_upstream(name: str, config: dict[str, Any], url: str) -> None:
    """ValueError when the service's provider cannot route to `url` (stable or canary upstream)."""
    spec = spec_for(name)
    if url.startswith("model://") and name != "gateway":
        raise ValueError(f"model://… versions are for model canaries (provider gateway); {name} routes http(s) upstreams")
    if spec.check_upstream is not None:
        spec.check_upstream(url, spec.config_model.model_validate(config))


def provider_for(route: edge.Route, *, redis: Redis, settings: Settings) -> TrafficProvider:
    spec = spec_for(route.provider)
    try:
        config = spec.config_model.model_validate(route.provider_config)
    except ValidationError as exc:
        raise ProviderConfigError(f"{route.service}: {route.provider} settings: {exc}") from exc
    try:
        _allowed(config, settings)  # the operator may have withdrawn it since the service was registered
    except ResourceNotAllowed as exc:
        raise ProviderConfigError(f"{route.service}: {exc}") from exc
    return spec.factory(ProviderContext(service=route.service, config=config, redis=redis, settings=settings))

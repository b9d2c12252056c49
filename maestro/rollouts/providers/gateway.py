"""The model gateway as a traffic provider: a model canary. The service's stable and canary "upstreams"
are candidates of a routing class, written `model://<provider>/<model>`; the gateway replicas read the
route from Redis on their tick, send the canary its weight of the class's requests, and count each
version's requests, errors and latency under the keys the built-in analyses read (as the edge does).
So a model canary is the same durable RolloutWorkflow as a service canary: steps, analyses, automatic
rollback, audited controls."""

from __future__ import annotations

import re

from pydantic import Field

from maestro.edge import routes as edge
from maestro.rollouts.providers import ProviderConfig, ProviderContext, ProviderSpec, TrafficProvider
from maestro.rollouts.providers.edge import EdgeProvider

MODEL_URL = re.compile(r"^model://([a-z0-9][a-z0-9._-]{0,62})/(\S{1,200})$")


class GatewayClassConfig(ProviderConfig):
    route_class: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$", description="The routing class whose requests move")


def candidate_of(url: str) -> str | None:
    """`model://prov/model` → "prov/model" (None for anything else)."""
    m = MODEL_URL.match(url)
    return f"{m.group(1)}/{m.group(2)}" if m else None


def _check(url: str, config: object) -> None:
    if candidate_of(url) is None:
        raise ValueError("a model canary's versions are candidates of the class: model://<provider>/<model>")


class GatewayProvider(EdgeProvider):
    """Counters where the edge keeps them (the gateway writes them so); the route needs no applying:
    gateway replicas read the route the activity wrote to Redis themselves, within one refresh."""

    def apply(self, route: edge.Route) -> None:
        """Nothing to tell: the route in Redis is what the gateways read."""


def _factory(ctx: ProviderContext) -> TrafficProvider:
    return GatewayProvider(ctx)


PROVIDER = ProviderSpec(
    name="gateway",
    title="Maestro model gateway (model canary)",
    description="Moves a routing class's requests from one model to another: versions are model://<provider>/<model>.",
    config_model=GatewayClassConfig,
    factory=_factory,
    docs="docs/routing.md",
    check_upstream=_check,
)

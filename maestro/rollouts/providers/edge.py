"""The built-in edge router (`maestro edge`): the embedded default. Routes and per-version traffic
counters live in Redis; every edge process reads the routes and writes the counters itself."""

from __future__ import annotations

from redis import Redis

from maestro.edge import routes as edge
from maestro.rollouts.providers import ProviderConfig, ProviderContext, ProviderSpec, ProviderUnavailable, TrafficProvider


class EdgeConfig(ProviderConfig):
    """The built-in edge needs no settings: it routes /<service>/… by the route in Redis."""


class EdgeProvider:
    def __init__(self, ctx: ProviderContext) -> None:
        self.service = ctx.service
        self.redis: Redis = ctx.redis

    def apply(self, route: edge.Route) -> None:
        try:
            edge.put(self.redis, route)
        except Exception as exc:  # redis-py raises its own ConnectionError/TimeoutError family
            raise ProviderUnavailable(f"Redis (the edge's routing state): {exc}") from exc

    def window(self, version: str, seconds: float) -> edge.Window:
        try:
            return edge.window(self.redis, self.service, version, seconds)
        except Exception as exc:
            raise ProviderUnavailable(f"Redis (the edge's traffic counters): {exc}") from exc

    def sync(self, route: edge.Route) -> None:
        """Edge routers re-read routes themselves."""


def _factory(ctx: ProviderContext) -> TrafficProvider:
    return EdgeProvider(ctx)


PROVIDER = ProviderSpec(
    name="edge",
    title="Maestro edge router",
    description="The built-in weighted reverse proxy (`maestro edge`): /<service>/… on the edge port.",
    config_model=EdgeConfig,
    factory=_factory,
)

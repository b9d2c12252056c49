"""The gateway's Prometheus metrics, counted in plain dicts on the request path (a tuple lookup and an
add) and turned into metric families only when /_gateway/metrics is scraped."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

BUCKETS_MS = (0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)


class Histogram:
    __slots__ = ("counts", "sum")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS_MS) + 1)
        self.sum = 0.0

    def observe(self, ms: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS_MS, ms)] += 1
        self.sum += ms


class GatewayMetrics:
    def __init__(self) -> None:
        self.requests: defaultdict[tuple[str, str, str, str], int] = defaultdict(int)
        self.latency: defaultdict[tuple[str, str], Histogram] = defaultdict(Histogram)  # (kind, class)
        self.tokens: defaultdict[tuple[str, str, str, str], int] = defaultdict(int)  # provider, model, kind, estimated
        self.spend: defaultdict[tuple[str, str], float] = defaultdict(float)
        self.failovers: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.refused: defaultdict[tuple[str, str], int] = defaultdict(int)  # reason, tenant
        self.health: dict[tuple[str, str], tuple[float, float, int]] = {}  # provider, model → (error rate, latency, cooling)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)  # type: ignore[arg-type]

    def collect(self) -> Iterator[Metric]:
        c = CounterMetricFamily(
            "maestro_gateway_requests",
            "Gateway requests by class, provider, model and status",
            labels=["class", "provider", "model", "status"],
        )
        for (cls, prov, model, status), n in list(self.requests.items()):
            c.add_metric([cls, prov, model, status], n)
        yield c
        h = HistogramMetricFamily(
            "maestro_gateway_latency_ms",
            "Latency in ms: kind=added (the gateway's own time), upstream (the provider's), ttft_added (streams)",
            labels=["kind", "class"],
        )
        for (kind, cls), hist in list(self.latency.items()):
            acc, buckets = 0, []
            for le, n in zip((*BUCKETS_MS, float("inf")), hist.counts, strict=True):
                acc += n
                buckets.append((floatToGoString(le), acc))  # type: ignore[no-untyped-call]
            h.add_metric([kind, cls], buckets, hist.sum)
        yield h
        t = CounterMetricFamily(
            "maestro_provider_tokens",
            "Tokens by provider, model and kind (estimated=true: no usage reported)",
            labels=["provider", "model", "kind", "estimated"],
        )
        for tl, n in list(self.tokens.items()):
            t.add_metric(list(tl), n)
        yield t
        s = CounterMetricFamily(
            "maestro_provider_spend_usd", "Spend in USD from the class's price card", labels=["provider", "model"]
        )
        for sl, usd in list(self.spend.items()):
            s.add_metric(list(sl), usd)
        yield s
        f = CounterMetricFamily(
            "maestro_gateway_failovers", "Attempts abandoned for the next candidate", labels=["class", "from"]
        )
        for fl, n in list(self.failovers.items()):
            f.add_metric(list(fl), n)
        yield f
        r = CounterMetricFamily(
            "maestro_gateway_refused", "Requests refused before any provider (reason)", labels=["reason", "tenant"]
        )
        for rl, n in list(self.refused.items()):
            r.add_metric(list(rl), n)
        yield r
        g = GaugeMetricFamily(
            "maestro_provider_error_rate", "EWMA of failed attempts per candidate (this replica)", labels=["provider", "model"]
        )
        lat = GaugeMetricFamily(
            "maestro_provider_latency_ms", "EWMA of the provider's latency (this replica)", labels=["provider", "model"]
        )
        cool = GaugeMetricFamily("maestro_provider_cooling", "1 while the candidate is in cooldown", labels=["provider", "model"])
        for (prov, model), (err, ms, cooling) in list(self.health.items()):
            g.add_metric([prov, model], err)
            lat.add_metric([prov, model], ms)
            cool.add_metric([prov, model], cooling)
        yield g
        yield lat
        yield cool

"""A lean HTTP/1.1 reverse-proxy core on asyncio (uvloop) protocols: a strict keep-alive server side,
pooled upstream connections per (host, port), bodies streamed both ways, limits on everything a
client sends. The edge router uses it; the model gateway builds on the same core."""

from maestro.proxy.server import App, ClientConnection, Exchange, Forward, ProxyServer, Request
from maestro.proxy.upstream import Origin, UpstreamPool
from maestro.proxy.wire import Limits, Reply, problem

__all__ = [
    "App",
    "ClientConnection",
    "Exchange",
    "Forward",
    "Limits",
    "Origin",
    "ProxyServer",
    "Reply",
    "Request",
    "UpstreamPool",
    "problem",
]

"""Kubernetes Gateway API: a service's traffic is split by the `backendRefs` weights of one rule of an
`HTTPRoute` (gateway.networking.k8s.io/v1), written through the Kubernetes API. The gateway (Envoy
Gateway, Istio, Cilium, …) does the routing; Maestro only sets the weights, so it has no per-version
counters of its own: rollouts of such a service measure with Prometheus analyses.

The stable and canary upstream URLs name Kubernetes Services (`http://<service>.<namespace>:<port>`),
which become the rule's backend references. See docs/providers/gateway-api.md.
"""

from __future__ import annotations

import ipaddress
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError
from redis import Redis

from maestro.edge import routes as edge
from maestro.rollouts.providers import ProviderConfig, ProviderContext, ProviderSpec, ProviderUnavailable, TrafficProvider

if TYPE_CHECKING:  # the client is imported when a route is first applied: every API and CLI process imports this module
    from kubernetes import client as k8s

GROUP, VERSION, PLURAL = "gateway.networking.k8s.io", "v1", "httproutes"
DOCS = "docs/providers/gateway-api.md"
FIELD_MANAGER = "maestro"
CONFLICT_RETRIES = 5  # re-read and write again when someone else changed the route in between
SYNC_EVERY_S = 30.0  # sync(): at most one read of the route per service in this period
TIMEOUT_S = (5.0, 15.0)  # connect, read: the activity retries, a hung API server must not hold it

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")  # namespaces
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")  # object names
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")  # Service names

SERVICE_URL_FORMS = (
    "http://<service>.<namespace>:<port>, http://<service>.<namespace>.svc:<port>, "
    "http://<service>.<namespace>.svc.cluster.local:<port> or http://<service>:<port> (the route's namespace)"
)


def _label(v: str, what: str) -> str:
    if len(v) > 63 or not DNS1123_LABEL.match(v):
        raise PydanticCustomError(
            "dns1123_label",
            "{what} must be a DNS-1123 label: lowercase letters, digits and '-', 1 to 63 characters, "
            "starting and ending with a letter or digit (e.g. shop-prod)",
            {"what": what},
        )
    return v


class GatewayApiConfig(ProviderConfig):
    """Which HTTPRoute rule carries the service, and how the worker reaches the Kubernetes API."""

    namespace: str = Field(description="Namespace of the HTTPRoute (and of Services named without one)")
    http_route: str = Field(description="Name of the HTTPRoute whose rule's backendRefs Maestro weights")
    rule_index: int = Field(0, ge=0, le=15, description="Index of that rule in spec.rules (0 = the first)")
    kubeconfig: str | None = Field(
        None,
        max_length=4096,
        description="Path of a kubeconfig file on the worker; unset: in-cluster service account, else ~/.kube/config",
    )
    context: str | None = Field(None, min_length=1, max_length=253, description="kubeconfig context (unset: its current one)")

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, v: str) -> str:
        return _label(v, "a namespace")

    @field_validator("http_route")
    @classmethod
    def _route(cls, v: str) -> str:
        if len(v) > 253 or not DNS1123_SUBDOMAIN.match(v):
            raise PydanticCustomError(
                "dns1123_subdomain",
                "an HTTPRoute name must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', "
                "at most 253 characters, starting and ending with a letter or digit (e.g. shop)",
            )
        return v

    def targets(self) -> dict[str, str]:
        # the worker's own credentials (in-cluster, ~/.kube/config) need listing like any kubeconfig
        source = self.kubeconfig or "in-cluster"
        return {"httpRoute": f"gateway-api:{source}/{self.namespace}/{self.http_route}"}

    @field_validator("kubeconfig")
    @classmethod
    def _kubeconfig(cls, v: str | None) -> str | None:
        if v is not None and not (v.startswith("/") or v.startswith("~/")):
            raise PydanticCustomError(
                "kubeconfig_path",
                "must be an absolute path on the worker's machine (or start with ~/), e.g. /etc/maestro/kubeconfig",
            )
        return v

    @field_validator("context")
    @classmethod
    def _context(cls, v: str | None) -> str | None:
        if v is not None and (v != v.strip() or any(ord(c) < 32 for c in v)):
            raise PydanticCustomError(
                "kubeconfig_context", "must be a context name from the kubeconfig, without spaces around it"
            )
        return v


@dataclass(frozen=True)
class Backend:
    """A Kubernetes Service port: one backendRef of the rule."""

    name: str
    namespace: str
    port: int

    def ref(self, route_namespace: str, weight: int) -> dict[str, Any]:
        ref: dict[str, Any] = {"group": "", "kind": "Service", "name": self.name}
        if self.namespace != route_namespace:  # a ReferenceGrant in that namespace must allow it
            ref["namespace"] = self.namespace
        ref["port"] = self.port
        ref["weight"] = weight
        return ref


def backend_for(url: str, route_namespace: str) -> Backend:
    """The Service an upstream URL names; ValueError saying which forms are understood."""
    expected = f"expected a Kubernetes Service URL: {SERVICE_URL_FORMS}"
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise ValueError(f"{url!r} is not an http(s) URL; {expected}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{url!r} has an invalid port; {expected}") from None
    host = parts.hostname or ""
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{url!r} carries credentials, which a backendRef cannot; {expected}")
    if parts.path not in {"", "/"} or parts.query or parts.fragment:
        raise ValueError(f"{url!r} has a path or query, which a backendRef cannot carry (use an HTTPRoute filter); {expected}")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise ValueError(f"{url!r} is an IP address, not a Service; {expected}")
    labels = host.split(".")
    if len(labels) == 1:
        name, namespace = labels[0], route_namespace
    elif len(labels) == 2 or (len(labels) == 3 and labels[2] == "svc") or (labels[2:] == ["svc", "cluster", "local"]):
        name, namespace = labels[0], labels[1]
    else:
        raise ValueError(f"{url!r} does not name a Service in the cluster; {expected}")
    if len(name) > 63 or not DNS1035_LABEL.match(name):
        raise ValueError(f"{name!r} is not a Service name (a DNS-1035 label: a-z, 0-9, '-', starting with a letter); {expected}")
    if len(namespace) > 63 or not DNS1123_LABEL.match(namespace):
        raise ValueError(f"{namespace!r} is not a namespace name (a DNS-1123 label); {expected}")
    return Backend(name=name, namespace=namespace, port=port or (443 if parts.scheme == "https" else 80))


def check_upstream(url: str, config: Any) -> None:
    assert isinstance(config, GatewayApiConfig)
    backend_for(url, config.namespace)


def desired_refs(route: edge.Route, namespace: str) -> list[dict[str, Any]]:
    """The rule's backendRefs for a route: stable 100−w and canary w, or the stable alone at 100."""
    stable = backend_for(route.stable, namespace)
    if not route.canary:
        return [stable.ref(namespace, 100)]
    weight = max(0, min(100, route.weight))
    return [stable.ref(namespace, 100 - weight), backend_for(route.canary, namespace).ref(namespace, weight)]


def _key(ref: dict[str, Any], namespace: str) -> tuple[str, str, str, str, Any]:
    return (
        ref.get("group") or "",
        ref.get("kind") or "Service",
        ref.get("namespace") or namespace,
        ref.get("name", ""),
        ref["port"] if isinstance(ref.get("port"), int) else -1,  # sortable: other kinds may have none
    )


def _routing(refs: list[dict[str, Any]], namespace: str) -> list[tuple[Any, ...]]:
    """What a rule's backendRefs route to, and how much (weight defaults to 1), in no particular order."""

    def weight(r: dict[str, Any]) -> int:
        w = r.get("weight", 1)  # the API's default
        return w if isinstance(w, int) else 1

    return sorted((*_key(r, namespace), weight(r)) for r in refs)


def with_weights(obj: dict[str, Any], rule_index: int, refs: list[dict[str, Any]], namespace: str) -> dict[str, Any] | None:
    """The HTTPRoute with rules[rule_index].backendRefs replaced by `refs` (a ref to a Service the rule
    already had keeps its other fields, e.g. its filters), or None when it already routes that way.
    Everything else (other rules, matches, filters, parentRefs, metadata) is left as read."""
    rules = (obj.get("spec") or {}).get("rules") or []
    rule = rules[rule_index]
    current = rule.get("backendRefs") or []
    if _routing(current, namespace) == _routing(refs, namespace):
        return None
    before = {_key(r, namespace): r for r in current}
    merged = [{**before.get(_key(r, namespace), {}), **r} for r in refs]
    new_rules = [*rules[:rule_index], {**rule, "backendRefs": merged}, *rules[rule_index + 1 :]]
    return {**obj, "spec": {**obj["spec"], "rules": new_rules}}


_clients: dict[tuple[str | None, float, str | None], k8s.ApiClient] = {}
_clients_lock = threading.Lock()
_synced: dict[tuple[str, str, str], float] = {}


def _api_client(cfg: GatewayApiConfig) -> k8s.ApiClient:
    """One client per kubeconfig (re-read when the file changes) and context."""
    from kubernetes import client as k8s
    from kubernetes import config as kubeconfig
    from kubernetes.config.config_exception import ConfigException

    path = str(Path(cfg.kubeconfig).expanduser()) if cfg.kubeconfig else None
    try:
        mtime = Path(path).stat().st_mtime if path else 0.0
    except OSError as exc:
        raise ProviderUnavailable(f"kubeconfig {path} cannot be read on this worker: {exc}") from exc
    key = (path, mtime, cfg.context)
    with _clients_lock:
        if key in _clients:
            return _clients[key]
        conf = k8s.Configuration()
        try:
            if path:
                kubeconfig.load_kube_config(  # type: ignore[no-untyped-call]
                    config_file=path, context=cfg.context, client_configuration=conf, persist_config=False
                )
            else:
                try:
                    kubeconfig.load_incluster_config(client_configuration=conf)  # type: ignore[no-untyped-call]
                except ConfigException:  # not in a pod: the usual kubeconfig
                    kubeconfig.load_kube_config(  # type: ignore[no-untyped-call]
                        context=cfg.context, client_configuration=conf, persist_config=False
                    )
        except Exception as exc:  # ConfigException, OSError, a YAML error: which file, never what it holds
            where = path or f"the in-cluster service account or {kubeconfig.KUBE_CONFIG_DEFAULT_LOCATION}"
            why = str(exc) if isinstance(exc, ConfigException) else type(exc).__name__
            if "\n" in why or len(why) > 300:  # a parser quoting the file (a token, a key): not repeated
                why = type(exc).__name__
            raise ProviderUnavailable(f"no usable Kubernetes credentials from {where}: {why} (see {DOCS})") from exc
        conf.retries = 1  # the activity's retry policy retries; urllib3 should not multiply it
        _clients[key] = api = k8s.ApiClient(conf)
        return api


class GatewayApiProvider:
    def __init__(self, ctx: ProviderContext) -> None:
        assert isinstance(ctx.config, GatewayApiConfig)
        self.service = ctx.service
        self.cfg: GatewayApiConfig = ctx.config
        self.redis: Redis = ctx.redis

    @property
    def _where(self) -> str:
        return f"HTTPRoute {self.cfg.namespace}/{self.cfg.http_route}"

    def _api(self) -> k8s.CustomObjectsApi:
        from kubernetes import client as k8s

        return k8s.CustomObjectsApi(_api_client(self.cfg))

    def _unavailable(self, exc: Exception, doing: str) -> ProviderUnavailable:
        from kubernetes.client.exceptions import ApiException

        if not isinstance(exc, ApiException):  # connection refused, TLS, timeout, …
            return ProviderUnavailable(f"the Kubernetes API could not be reached to {doing} {self._where}: {exc}")
        reason = f"{exc.status} {exc.reason}".strip()
        if exc.status == 404:
            return ProviderUnavailable(
                f"{self._where} does not exist (Kubernetes answered {reason}): create it, or fix providerConfig.namespace/"
                f"httpRoute of service {self.service} (see {DOCS})"
            )
        if exc.status in (401, 403):
            return ProviderUnavailable(
                f"the Kubernetes API refused to {doing} {self._where} ({reason}): the worker's credentials need "
                f"get and update on httproutes.{GROUP} in namespace {self.cfg.namespace} (see the Role in {DOCS})"
            )
        body = (exc.body or "")[:300] if isinstance(exc.body, str) else ""
        return ProviderUnavailable(f"the Kubernetes API failed to {doing} {self._where}: {reason} {body}".strip())

    def apply(self, route: edge.Route) -> None:
        """Set the rule's backend weights; writes only when they differ, with the resourceVersion it read."""
        self._apply(route, still_wanted=lambda: True)

    def _apply(self, route: edge.Route, *, still_wanted: Callable[[], bool]) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            refs = desired_refs(route, self.cfg.namespace)
        except ValueError as exc:  # a route stored before its URLs were checked
            raise ProviderUnavailable(f"service {self.service}: {exc}") from exc
        api = self._api()
        for _ in range(CONFLICT_RETRIES):
            try:
                obj = api.get_namespaced_custom_object(
                    GROUP, VERSION, self.cfg.namespace, PLURAL, self.cfg.http_route, _request_timeout=TIMEOUT_S
                )
            except Exception as exc:
                raise self._unavailable(exc, "read") from exc
            if not isinstance(obj, dict):
                raise ProviderUnavailable(f"the Kubernetes API answered something that is not an object for {self._where}")
            rules = (obj.get("spec") or {}).get("rules") or []
            if self.cfg.rule_index >= len(rules):
                raise ProviderUnavailable(
                    f"{self._where} has {len(rules)} rule(s) but service {self.service} names rule "
                    f"{self.cfg.rule_index} (providerConfig.ruleIndex counts from 0; see {DOCS})"
                )
            new = with_weights(obj, self.cfg.rule_index, refs, self.cfg.namespace)
            if new is None or not still_wanted():
                return
            try:  # metadata.resourceVersion is the one read: a concurrent change answers 409
                api.replace_namespaced_custom_object(
                    GROUP,
                    VERSION,
                    self.cfg.namespace,
                    PLURAL,
                    self.cfg.http_route,
                    new,
                    field_manager=FIELD_MANAGER,
                    _request_timeout=TIMEOUT_S,
                )
                return
            except ApiException as exc:
                if exc.status == 409:
                    continue
                raise self._unavailable(exc, "update") from exc
            except Exception as exc:
                raise self._unavailable(exc, "update") from exc
        raise ProviderUnavailable(f"{self._where} kept changing while Maestro wrote its weights ({CONFLICT_RETRIES} conflicts)")

    def window(self, version: str, seconds: float) -> edge.Window:
        raise ProviderUnavailable(
            f"gateway-api has no traffic counters of its own: measure {self.service} with Prometheus analyses "
            f'({{"provider": "prometheus", "metric": "promql", "query": "…"}}; see {DOCS})'
        )

    def sync(self, route: edge.Route) -> None:
        """Re-apply when someone edited the route's weights: at most one read per service every 30 s.

        The route was read from Redis before this call: when a rollout step changed it since (its
        activity writes Redis first, then the HTTPRoute), the write is skipped, so a stale route never
        undoes a step. The check runs before every write attempt, and a write that lost the race to
        the activity's is refused by resourceVersion (409) and re-checked."""
        key = (self.service, self.cfg.namespace, self.cfg.http_route)
        now = time.monotonic()
        with _clients_lock:
            if now - _synced.get(key, -SYNC_EVERY_S) < SYNC_EVERY_S:
                return
            _synced[key] = now

        def still_wanted() -> bool:
            current = edge.get(self.redis, route.service)
            return current is not None and current.revision == route.revision and current.provider == route.provider

        self._apply(route, still_wanted=still_wanted)


def _factory(ctx: ProviderContext) -> TrafficProvider:
    return GatewayApiProvider(ctx)


PROVIDER = ProviderSpec(
    name="gateway-api",
    title="Kubernetes Gateway API",
    description="Weights of an HTTPRoute rule's backendRefs (gateway.networking.k8s.io/v1); analyses use Prometheus.",
    config_model=GatewayApiConfig,
    factory=_factory,
    measures_traffic=False,
    docs=DOCS,
    check_upstream=check_upstream,
)

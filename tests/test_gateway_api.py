"""The Gateway API traffic provider: HTTPRoute backendRefs weights written through the Kubernetes API.

No cluster runs here. What stands in for one:
- the HTTPRoute CRD's OpenAPI v3 schema (Gateway API v1.0.0, standard channel) from the npm registry
  (scripts/npm_schemas.py): every object the provider writes must validate against it;
- a small HTTP server answering like the Kubernetes API server for HTTPRoutes (GET and PUT, optimistic
  concurrency on resourceVersion, 404/409/403/503 with the Status bodies in tests/data/gateway-api/),
  which the official client reaches through a kubeconfig written by the test.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from fastapi.testclient import TestClient
from redis import Redis
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from maestro.config import Settings
from maestro.edge import routes as edge
from maestro.rollouts import providers
from maestro.rollouts.providers import ProviderUnavailable, gateway_api
from tests.factories import Caller, login
from tests.services import free_port, wait_for

DATA = Path(__file__).parent / "data" / "gateway-api"
ROOT = Path(__file__).parent.parent
ROUTE_PATH = "/apis/gateway.networking.k8s.io/v1/namespaces/{ns}/httproutes/{name}"
SHOP = ROUTE_PATH.format(ns="prod", name="shop")
TOKEN = "maestro-test-token"  # what the kubeconfig hands the client; the stand-in server requires it


def recorded(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())  # type: ignore[no-any-return]


def ref(name: str, port: int, weight: int, **extra: Any) -> dict[str, Any]:
    return {"group": "", "kind": "Service", "name": name, **extra, "port": port, "weight": weight}


# ---- the HTTPRoute CRD schema -------------------------------------------------------------------


def _closed(schema: Any) -> Any:
    """The schema with `additionalProperties: false` wherever it lists properties: the API server
    prunes (or, with fieldValidation=Strict, refuses) fields the CRD does not know, so a misspelled
    field would silently vanish on a real cluster; here it fails."""
    if isinstance(schema, list):
        return [_closed(x) for x in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _closed(v) for k, v in schema.items()}
    if "properties" in schema and "additionalProperties" not in schema:
        out["additionalProperties"] = False
    return out


@pytest.fixture(scope="session")
def crd_schemas() -> dict[str, jsonschema.Draft4Validator]:
    """Validators by schema id (gateway.networking.k8s.io.v1.HTTPRoute, ….v1beta1.ReferenceGrant)."""
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "npm_schemas.py")], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"fetching the Gateway API schema failed: {out.stderr}"
    folder = Path(out.stdout.strip())
    schemas = {p.stem: _closed(json.loads(p.read_text())) for p in folder.glob("*.json")}
    registry: Registry[Any] = Registry().with_resources(
        (ident, Resource.from_contents(s, default_specification=DRAFT4)) for ident, s in schemas.items()
    )
    return {ident: jsonschema.Draft4Validator(s, registry=registry) for ident, s in schemas.items()}


@pytest.fixture(scope="session")
def httproute_schema(crd_schemas: dict[str, jsonschema.Draft4Validator]) -> jsonschema.Draft4Validator:
    return crd_schemas["gateway.networking.k8s.io.v1.HTTPRoute"]


def schema_errors(validator: jsonschema.Draft4Validator, obj: dict[str, Any]) -> list[str]:
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]
    # The CRD's CEL rule on backendRefs (x-kubernetes-validations, which the schema package leaves
    # out): a reference to a core Service must name its port.
    for i, rule in enumerate(obj.get("spec", {}).get("rules", [])):
        for j, r in enumerate(rule.get("backendRefs", [])):
            if r.get("group", "") == "" and r.get("kind", "Service") == "Service" and "port" not in r:
                errors.append(f"spec/rules/{i}/backendRefs/{j}: Must have port for Service reference")
    return errors


def test_the_recorded_route_and_every_route_the_provider_renders_fit_the_crd_schema(
    httproute_schema: jsonschema.Draft4Validator,
) -> None:
    shop = recorded("httproute-shop.json")
    assert schema_errors(httproute_schema, shop) == []
    routes = [
        edge.Route(service="shop", stable="http://shop-v1:8080", canary="http://shop-v2:8080", weight=10),
        edge.Route(service="shop", stable="http://shop-v1:8080", canary="http://shop-v2.prod.svc:8080", weight=0),
        edge.Route(service="shop", stable="http://shop-v1.prod.svc.cluster.local:8080", canary="https://shop-v2", weight=100),
        edge.Route(service="shop", stable="http://shop-v2:8080"),  # after promotion
        edge.Route(service="shop", stable="http://shop-v1:8080", canary="http://shop-v2.canaries:8080", weight=50),
    ]
    rendered = [gateway_api.with_weights(shop, 0, gateway_api.desired_refs(route, "prod"), "prod") for route in routes]
    for route, obj in zip(routes, rendered, strict=True):
        assert obj is not None and schema_errors(httproute_schema, obj) == [], route
    new = rendered[-1]
    assert new is not None
    # the cross-namespace backend names its namespace (a ReferenceGrant there must allow it)
    assert new["spec"]["rules"][0]["backendRefs"][1] == ref("shop-v2", 8080, 50, namespace="canaries")
    # the validator is not vacuous: what the CRD refuses, it refuses
    bad = copy.deepcopy(new)
    bad["spec"]["rules"][0]["backendRefs"][0]["weight"] = 1_000_001
    bad["spec"]["rules"][0]["backendRefs"][1]["weigth"] = 3
    del bad["spec"]["rules"][1]["backendRefs"][0]["port"]
    bad["metadata"]["name"] = 7
    errors = schema_errors(httproute_schema, bad)
    assert sorted(e for e in errors if not e.startswith("metadata")) == [
        "spec/rules/0/backendRefs/0/weight: 1000001 is greater than the maximum of 1000000",
        "spec/rules/0/backendRefs/1: Additional properties are not allowed ('weigth' was unexpected)",
        "spec/rules/1/backendRefs/0: Must have port for Service reference",
    ]
    assert any(e.startswith("metadata: ") for e in errors), errors  # ObjectMeta, through its $ref


def test_the_documented_gateway_api_objects_fit_their_crd_schemas(crd_schemas: dict[str, jsonschema.Draft4Validator]) -> None:
    doc = (ROOT / "docs" / "providers" / "gateway-api.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", doc, re.S)
    objects = [o for b in blocks for o in yaml.safe_load_all(b) if o]
    checked = []
    for o in objects:
        if o["apiVersion"].startswith("gateway.networking.k8s.io/"):
            ident = f"gateway.networking.k8s.io.{o['apiVersion'].split('/')[1]}.{o['kind']}"
            assert schema_errors(crd_schemas[ident], o) == [], o
            checked.append(o["kind"])
    assert sorted(checked) == ["HTTPRoute", "ReferenceGrant"]
    role = next(o for o in objects if o["kind"] == "Role")  # exactly what the provider calls, nothing more
    assert role["rules"] == [
        {
            "apiGroups": ["gateway.networking.k8s.io"],
            "resources": ["httproutes"],
            "resourceNames": ["shop"],
            "verbs": ["get", "update"],
        }
    ]


# ---- a stand-in Kubernetes API server -------------------------------------------------------------


class FakeKube:
    """Answers GET and PUT of namespaced HTTPRoutes like the API server: PUT must carry the current
    metadata.resourceVersion (409 otherwise), bumps it and the generation, keeps status (a subresource),
    and refuses (422) a body the CRD schema refuses. Every request is recorded."""

    def __init__(self, validator: jsonschema.Draft4Validator) -> None:
        self.validator = validator
        self.objects: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self.fail: list[int] = []  # statuses to answer the next requests with
        self.before_put: list[Any] = []  # callables run before the next PUTs (a concurrent editor)
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.handle(self, "GET")

            def do_PUT(self) -> None:
                outer.handle(self, "PUT")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def put_object(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self.objects[ROUTE_PATH.format(ns=meta["namespace"], name=meta["name"])] = copy.deepcopy(obj)

    def edit(self, path: str, change: Any) -> None:
        """Someone else changes the route (kubectl edit, a GitOps sync): a new resourceVersion."""
        with self.lock:
            obj = self.objects[path]
            change(obj)
            obj["metadata"]["resourceVersion"] = str(int(obj["metadata"]["resourceVersion"]) + 1)

    def writes(self) -> list[tuple[str, str, Any]]:
        return [r for r in self.requests if r[0] == "PUT"]

    def handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        body = json.loads(h.rfile.read(int(h.headers.get("content-length") or 0)) or b"null")
        path = h.path.split("?")[0]
        parts = path.split("/")
        name, ns = parts[-1], parts[-3] if len(parts) > 3 else ""
        with self.lock:
            self.requests.append((method, h.path, body))
            if h.headers.get("authorization") != f"Bearer {TOKEN}":
                return self.send(h, 401, {"kind": "Status", "code": 401, "reason": "Unauthorized"})
            if method == "PUT" and self.before_put:
                self.lock.release()
                try:
                    self.before_put.pop(0)()
                finally:
                    self.lock.acquire()
            if self.fail:
                code = self.fail.pop(0)
                status = json.loads((DATA / f"status-{code}.json").read_text().replace("{name}", name))
                status["message"] = status["message"].replace("{namespace}", ns).replace("{verb}", method.lower())
                return self.send(h, code, status)
            current = self.objects.get(path)
            if current is None:
                return self.send(h, 404, json.loads((DATA / "status-404.json").read_text().replace("{name}", name)))
            if method == "GET":
                return self.send(h, 200, current)
            if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
                return self.send(h, 409, json.loads((DATA / "status-409.json").read_text().replace("{name}", name)))
            errors = schema_errors(self.validator, body)
            if errors:
                return self.send(h, 422, {"kind": "Status", "code": 422, "reason": "Invalid", "message": "; ".join(errors)})
            stored = copy.deepcopy(body)
            stored["status"] = current.get("status")  # status is a subresource: a PUT of the object keeps it
            stored["metadata"]["resourceVersion"] = str(int(current["metadata"]["resourceVersion"]) + 1)
            if stored["spec"] != current["spec"]:
                stored["metadata"]["generation"] = current["metadata"]["generation"] + 1
            self.objects[path] = stored
            return self.send(h, 200, stored)

    @staticmethod
    def send(h: BaseHTTPRequestHandler, code: int, obj: Any) -> None:
        data = json.dumps(obj).encode()
        h.send_response(code)
        h.send_header("content-type", "application/json")
        h.send_header("content-length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def kube(httproute_schema: jsonschema.Draft4Validator) -> Iterator[FakeKube]:
    k = FakeKube(httproute_schema)
    k.put_object(recorded("httproute-shop.json"))
    yield k
    k.close()


def write_kubeconfig(path: Path, server: str) -> Path:
    """A kubeconfig whose current context is not the one the test names (`context` must pick it)."""
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "stand-in", "cluster": {"server": server}},
                    {"name": "elsewhere", "cluster": {"server": "http://127.0.0.1:9"}},
                ],
                "users": [{"name": "maestro", "user": {"token": TOKEN}}],
                "contexts": [
                    {"name": "stand-in", "context": {"cluster": "stand-in", "user": "maestro"}},
                    {"name": "elsewhere", "context": {"cluster": "elsewhere", "user": "maestro"}},
                ],
                "current-context": "elsewhere",
            }
        )
    )
    return path


@pytest.fixture
def kubeconfig(tmp_path: Path, kube: FakeKube) -> Path:
    return write_kubeconfig(tmp_path / "kubeconfig", kube.url)


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    # the routes reached through the kubeconfig files these tests write, listed by the operator
    allowed = [f"gateway-api:{tmp_path}/*", "gateway-api:in-cluster/prod/*"]
    return settings.model_copy(update={"provider_resources": allowed})


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    r = Redis.from_url(redis_url)
    yield r
    r.close()


def route(kubeconfig: Path, stable: str, canary: str | None = None, weight: int = 0, **config: Any) -> edge.Route:
    """A route as rollout_apply builds it, with the service's providerConfig as stored (camelCase)."""
    cfg = {"namespace": "prod", "httpRoute": "shop", "kubeconfig": str(kubeconfig), "context": "stand-in", **config}
    return edge.Route(service="shop", stable=stable, canary=canary, weight=weight, provider="gateway-api", provider_config=cfg)


def apply(r: edge.Route, redis: Redis, settings: Settings) -> None:
    providers.provider_for(r, redis=redis, settings=settings).apply(r)


def test_weights_then_promotion_written_with_the_resource_version_read(
    kube: FakeKube, kubeconfig: Path, redis: Redis, settings: Settings
) -> None:
    before = recorded("httproute-shop.json")
    apply(route(kubeconfig, "http://shop-v1:8080", "http://shop-v2.prod.svc.cluster.local:8080", 10), redis, settings)
    expected = copy.deepcopy(before)
    expected["spec"]["rules"][0]["backendRefs"] = [ref("shop-v1", 8080, 90), ref("shop-v2", 8080, 10)]
    assert kube.requests == [("GET", SHOP, None), ("PUT", f"{SHOP}?fieldManager=maestro", expected)]
    # everything but that rule's backendRefs went back as read: the other rule (its matches and
    # filters), parentRefs, hostnames, metadata with the resourceVersion read (optimistic concurrency)
    assert expected["metadata"]["resourceVersion"] == "48213"
    assert expected["spec"]["rules"][1] == before["spec"]["rules"][1]

    # the same weights again (a retried or replayed activity): read, nothing written
    kube.requests.clear()
    apply(route(kubeconfig, "http://shop-v1:8080", "http://shop-v2.prod.svc.cluster.local:8080", 10), redis, settings)
    assert kube.requests == [("GET", SHOP, None)]

    # promotion: the former canary's Service alone, at 100
    kube.requests.clear()
    apply(route(kubeconfig, "http://shop-v2.prod.svc.cluster.local:8080"), redis, settings)
    assert [m for m, _, _ in kube.requests] == ["GET", "PUT"]
    written = kube.requests[1][2]
    assert written["metadata"]["resourceVersion"] == "48214"
    assert written["spec"]["rules"][0]["backendRefs"] == [ref("shop-v2", 8080, 100)]
    assert written["spec"]["rules"][0]["matches"] == before["spec"]["rules"][0]["matches"]
    assert written["spec"]["rules"][1] == before["spec"]["rules"][1]
    stored = kube.objects[SHOP]
    assert stored["metadata"]["generation"] == 3 and stored["status"] == before["status"]


def test_a_concurrent_edit_is_re_read_and_kept(kube: FakeKube, kubeconfig: Path, redis: Redis, settings: Settings) -> None:
    """Someone labels the route between Maestro's read and write: 409, re-read, write again on top."""
    kube.before_put.append(lambda: kube.edit(SHOP, lambda o: o["metadata"]["labels"].update({"team": "payments"})))
    apply(route(kubeconfig, "http://shop-v1:8080", "http://shop-v2:8080", 25), redis, settings)
    assert [(m, p) for m, p, _ in kube.requests] == [
        ("GET", SHOP),
        ("PUT", f"{SHOP}?fieldManager=maestro"),  # answered 409: resourceVersion 48213 is stale
        ("GET", SHOP),
        ("PUT", f"{SHOP}?fieldManager=maestro"),
    ]
    assert kube.requests[1][2]["metadata"]["resourceVersion"] == "48213"
    assert kube.requests[3][2]["metadata"]["resourceVersion"] == "48214"
    stored = kube.objects[SHOP]
    assert stored["metadata"]["labels"] == {"app.kubernetes.io/name": "shop", "team": "payments"}  # not lost
    assert stored["spec"]["rules"][0]["backendRefs"] == [ref("shop-v1", 8080, 75), ref("shop-v2", 8080, 25)]


def test_a_route_that_keeps_changing_gives_up_after_a_few_conflicts(
    kube: FakeKube, kubeconfig: Path, redis: Redis, settings: Settings
) -> None:
    for i in range(10):
        kube.before_put.append(lambda i=i: kube.edit(SHOP, lambda o: o["metadata"]["labels"].update({"n": str(i)})))
    with pytest.raises(ProviderUnavailable, match="kept changing"):
        apply(route(kubeconfig, "http://shop-v1:8080", "http://shop-v2:8080", 25), redis, settings)
    assert [m for m, _, _ in kube.requests] == ["GET", "PUT"] * gateway_api.CONFLICT_RETRIES


def test_a_backend_ref_keeps_its_own_filters(kube: FakeKube, kubeconfig: Path, redis: Redis, settings: Settings) -> None:
    header = [{"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [{"name": "X-Version", "value": "v1"}]}}]
    kube.edit(SHOP, lambda o: o["spec"]["rules"][0]["backendRefs"][0].update({"filters": header}))
    apply(route(kubeconfig, "http://shop-v1:8080", "http://shop-v2:8080", 10), redis, settings)
    assert kube.objects[SHOP]["spec"]["rules"][0]["backendRefs"] == [
        ref("shop-v1", 8080, 90, filters=header),
        ref("shop-v2", 8080, 10),
    ]


def test_a_rule_pointing_elsewhere_is_taken_over(kube: FakeKube, kubeconfig: Path, redis: Redis, settings: Settings) -> None:
    """A rule whose backends are not Services (an implementation's own kind, without a port) or have no
    weight: replaced by the Services the route names."""
    odd = [{"group": "gateway.envoyproxy.io", "kind": "Backend", "name": "legacy"}, {"name": "shop-v0", "port": 80}]
    kube.edit(SHOP, lambda o: o["spec"]["rules"][0].update({"backendRefs": odd}))
    apply(route(kubeconfig, "http://shop-v1:8080"), redis, settings)
    assert kube.objects[SHOP]["spec"]["rules"][0]["backendRefs"] == [ref("shop-v1", 8080, 100)]


def test_missing_route_rule_and_api_failures_are_unavailable_with_what_to_fix(
    kube: FakeKube, kubeconfig: Path, redis: Redis, settings: Settings
) -> None:
    stable, canary = "http://shop-v1:8080", "http://shop-v2:8080"
    with pytest.raises(ProviderUnavailable, match=r"HTTPRoute prod/missing does not exist .*providerConfig"):
        apply(route(kubeconfig, stable, canary, 10, httpRoute="missing"), redis, settings)
    with pytest.raises(ProviderUnavailable, match=r"HTTPRoute prod/shop has 2 rule\(s\) but service shop names rule 2"):
        apply(route(kubeconfig, stable, canary, 10, ruleIndex=2), redis, settings)
    kube.fail.append(503)
    with pytest.raises(ProviderUnavailable, match="503"):
        apply(route(kubeconfig, stable, canary, 10), redis, settings)
    kube.fail.append(403)
    with pytest.raises(
        ProviderUnavailable, match=re.escape("get and update on httproutes.gateway.networking.k8s.io in namespace prod")
    ):
        apply(route(kubeconfig, stable, canary, 10), redis, settings)
    assert kube.writes() == []
    # the read works, the write fails: nothing half-done, the activity retries
    kube.before_put.append(lambda: kube.fail.append(503))
    with pytest.raises(ProviderUnavailable, match="failed to update HTTPRoute prod/shop: 503"):
        apply(route(kubeconfig, stable, canary, 10), redis, settings)
    assert kube.objects[SHOP]["spec"] == recorded("httproute-shop.json")["spec"]
    # then the API answers again: the retry sets the weights
    apply(route(kubeconfig, stable, canary, 10), redis, settings)
    assert kube.objects[SHOP]["spec"]["rules"][0]["backendRefs"] == [ref("shop-v1", 8080, 90), ref("shop-v2", 8080, 10)]


def test_an_unreachable_api_server_or_no_credentials_is_unavailable(tmp_path: Path, redis: Redis, settings: Settings) -> None:
    closed = write_kubeconfig(tmp_path / "closed", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ProviderUnavailable, match="could not be reached to read HTTPRoute prod/shop"):
        apply(route(closed, "http://shop-v1:8080", "http://shop-v2:8080", 10), redis, settings)
    with pytest.raises(ProviderUnavailable, match="cannot be read on this worker"):
        apply(route(tmp_path / "absent", "http://shop-v1:8080"), redis, settings)
    with pytest.raises(ProviderUnavailable, match="no usable Kubernetes credentials"):
        apply(route(closed, "http://shop-v1:8080", context="no-such-context"), redis, settings)


def test_window_points_at_prometheus(kubeconfig: Path, redis: Redis, settings: Settings) -> None:
    r = route(kubeconfig, "http://shop-v1:8080")
    with pytest.raises(ProviderUnavailable, match="Prometheus analyses"):
        providers.provider_for(r, redis=redis, settings=settings).window("canary", 10)


def test_sync_repairs_a_drifted_route_and_reads_at_most_once_a_period(
    kube: FakeKube, kubeconfig: Path, redis: Redis, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway_api, "_synced", {})
    r = route(kubeconfig, "http://shop-v1:8080", "http://shop-v2:8080", 10)
    r.revision = 4
    edge.put(redis, r)  # the desired state, as rollout_apply leaves it in Redis
    provider = providers.provider_for(r, redis=redis, settings=settings)
    provider.sync(r)
    assert [m for m, _, _ in kube.requests] == ["GET", "PUT"]
    # someone puts the weights back by hand: within the period sync asks nothing
    kube.edit(SHOP, lambda o: o["spec"]["rules"][0].update({"backendRefs": [ref("shop-v1", 8080, 1)]}))
    for _ in range(20):
        provider.sync(r)
    assert len(kube.requests) == 2
    # a shorter period (30 s in production) to see the repair without waiting for it
    monkeypatch.setattr(gateway_api, "SYNC_EVERY_S", 0.3)

    def repaired() -> bool:
        provider.sync(r)
        return bool(kube.objects[SHOP]["spec"]["rules"][0]["backendRefs"][-1]["weight"] == 10)

    wait_for(repaired, 10, 0.02)
    methods = [m for m, _, _ in kube.requests]
    assert methods[-2:] == ["GET", "PUT"] and methods.count("GET") <= 3, kube.requests


def test_sync_of_a_route_a_rollout_step_has_since_changed_writes_nothing(
    kube: FakeKube, kubeconfig: Path, redis: Redis, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sync loop read the route at 10 %; the next step then set 25 % (Redis first, then the
    HTTPRoute): the late sync must not put 10 % back."""
    monkeypatch.setattr(gateway_api, "_synced", {})
    stale = route(kubeconfig, "http://shop-v1:8080", "http://shop-v2:8080", 10)
    stale.revision = 4
    step = route(kubeconfig, "http://shop-v1:8080", "http://shop-v2:8080", 25)
    step.revision = 5
    edge.put(redis, step)
    apply(step, redis, settings)
    kube.requests.clear()
    providers.provider_for(stale, redis=redis, settings=settings).sync(stale)
    assert [m for m, _, _ in kube.requests] == ["GET"]
    assert kube.objects[SHOP]["spec"]["rules"][0]["backendRefs"] == [ref("shop-v1", 8080, 75), ref("shop-v2", 8080, 25)]


# ---- upstream URLs -----------------------------------------------------------------------------------

CONFIG = gateway_api.GatewayApiConfig(namespace="prod", http_route="shop")


@pytest.mark.parametrize(
    ("url", "name", "namespace", "port"),
    [
        ("http://shop-v2:8080", "shop-v2", "prod", 8080),
        ("http://shop-v2.prod:8080", "shop-v2", "prod", 8080),
        ("http://shop-v2.canaries.svc:8080", "shop-v2", "canaries", 8080),
        ("http://shop-v2.canaries.svc.cluster.local:9000", "shop-v2", "canaries", 9000),
        ("http://shop-v2.prod", "shop-v2", "prod", 80),
        ("https://shop-v2.prod/", "shop-v2", "prod", 443),
    ],
)
def test_service_urls_name_their_backend(url: str, name: str, namespace: str, port: int) -> None:
    gateway_api.check_upstream(url, CONFIG)
    assert gateway_api.backend_for(url, "prod") == gateway_api.Backend(name=name, namespace=namespace, port=port)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://10.0.0.5:8080", "is an IP address"),
        ("http://[fd00::5]:8080", "is an IP address"),
        ("http://shop.example.com:8080", "does not name a Service"),
        ("http://api.shop.example.com", "does not name a Service"),
        ("http://shop-v2.prod:8080/api", "has a path"),
        ("http://shop-v2.prod:8080?x=1", "has a path or query"),
        ("http://user:pw@shop-v2.prod:8080", "carries credentials"),
        ("http://2shop.prod:8080", "is not a Service name"),
        ("http://shop.Prod_1:8080", "is not a namespace name"),
        ("http://shop.prod:99999", "invalid port"),
        ("ftp://shop.prod", "not an http(s) URL"),
    ],
)
def test_other_urls_are_refused_with_the_expected_form(url: str, why: str) -> None:
    with pytest.raises(
        ValueError, match=re.escape("expected a Kubernetes Service URL: http://<service>.<namespace>:<port>")
    ) as err:
        gateway_api.check_upstream(url, CONFIG)
    assert why in str(err.value)


# ---- through the API ---------------------------------------------------------------------------------


@pytest.fixture
def caller(client: TestClient) -> Caller:
    return login(client)


def register(caller: Caller, name: str, config: dict[str, Any], stable: str = "http://shop-v1:8080") -> Any:
    return caller.post(
        "/api/services",
        json={"name": name, "env": "dev", "stableUrl": stable, "provider": "gateway-api", "providerConfig": config},
    )


def test_the_api_checks_gateway_api_settings_analyses_and_urls(caller: Caller) -> None:
    listed = {p["name"]: p for p in caller.get("/api/services/providers").json()["items"]}
    gw = listed["gateway-api"]
    assert gw["measuresTraffic"] is False and gw["docs"] == "docs/providers/gateway-api.md"
    assert set(gw["configSchema"]["properties"]) == {"namespace", "httpRoute", "ruleIndex", "kubeconfig", "context"}

    bad = register(caller, "shop", {"namespace": "Prod_1", "httpRoute": "shop", "ruleIndex": -1, "kubeconfig": "kube.yaml"})
    assert bad.status_code == 422, bad.text
    fields = {e["field"]: e["message"] for e in bad.json()["errors"]}
    assert set(fields) == {"providerConfig.namespace", "providerConfig.ruleIndex", "providerConfig.kubeconfig"}
    assert fields["providerConfig.namespace"].startswith("a namespace must be a DNS-1123 label")
    missing = register(caller, "shop", {"namespace": "prod", "color": "blue"})
    assert {e["field"] for e in missing.json()["errors"]} >= {"providerConfig.httpRoute", "providerConfig.color"}
    not_service = register(caller, "shop", {"namespace": "prod", "httpRoute": "shop"}, stable="http://10.0.0.5:8080")
    assert not_service.status_code == 422 and not_service.json()["errors"][0]["field"] == "stableUrl", not_service.text
    assert "http://<service>.<namespace>:<port>" in not_service.json()["errors"][0]["message"]

    # the worker's own credentials reach only the routes the operator listed
    unlisted = register(caller, "shop", {"namespace": "kube-system", "httpRoute": "shop"}, stable="http://shop-v1.kube-system:80")
    assert unlisted.status_code == 422, unlisted.text
    [error] = unlisted.json()["errors"]
    assert error["field"] == "providerConfig.httpRoute" and "MAESTRO_PROVIDER_RESOURCES" in error["message"]
    assert "gateway-api:in-cluster/kube-system/shop" in unlisted.json()["remediation"]
    ok = register(caller, "shop", {"namespace": "prod", "httpRoute": "shop"})
    assert ok.status_code == 201, ok.text
    # a second service on the same HTTPRoute would fight over its weights
    twice = register(caller, "shop-again", {"namespace": "prod", "httpRoute": "shop", "ruleIndex": 1})
    assert twice.status_code == 409, twice.text
    assert twice.json()["errors"] == [{"field": "providerConfig.httpRoute", "message": "already used by another service"}]
    assert ok.json()["providerConfig"] == {
        "namespace": "prod",
        "httpRoute": "shop",
        "ruleIndex": 0,
        "kubeconfig": None,
        "context": None,
    }

    edge_analysis = caller.post(
        "/api/rollouts",
        json={"service": "shop", "canaryUrl": "http://shop-v2:8080", "steps": [{"setWeight": 10}, {"analysis": {}}]},
    )
    assert edge_analysis.status_code == 422, edge_analysis.text
    assert [e["field"] for e in edge_analysis.json()["errors"]] == ["steps.1.analysis.provider"]
    assert "prometheus" in edge_analysis.json()["remediation"]

    for url in ("http://10.0.0.7:8080", "http://shop-v2.example.com:8080", "http://shop-v2:8080/v2"):
        r = caller.post("/api/rollouts", json={"service": "shop", "canaryUrl": url, "steps": [{"setWeight": 10}]})
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "canaryUrl"
        assert "http://<service>.<namespace>:<port>" in r.json()["errors"][0]["message"]
    assert caller.get("/api/rollouts").json()["items"] == []


def test_a_rollout_walks_the_httproute_weights(client: TestClient, workers: Settings, kube: FakeKube, kubeconfig: Path) -> None:
    """End to end: the API starts RolloutWorkflow, whose activities write the HTTPRoute through the
    provider with the service's stored settings."""
    caller = login(client)
    config = {"namespace": "prod", "httpRoute": "shop", "kubeconfig": str(kubeconfig), "context": "stand-in"}
    assert register(caller, "shop", config).status_code == 201
    steps = [{"setWeight": 10}, {"pause": 0}, {"setWeight": 100}]
    r = caller.post("/api/rollouts", json={"service": "shop", "canaryUrl": "http://shop-v2:8080", "steps": steps})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]

    def weights() -> list[list[tuple[str, int]]]:
        return [[(b["name"], b["weight"]) for b in body["spec"]["rules"][0]["backendRefs"]] for _, _, body in kube.writes()]

    wait_for(lambda: caller.get(f"/api/rollouts/{rid}").json()["status"] == "paused", 30, 0.1)
    assert weights() == [[("shop-v1", 100), ("shop-v2", 0)], [("shop-v1", 90), ("shop-v2", 10)]]
    done = caller.post(f"/api/rollouts/{rid}/actions", json={"action": "promote", "full": True, "reason": "ship"})
    assert done.status_code == 200, done.text
    wait_for(lambda: caller.get(f"/api/rollouts/{rid}").json()["status"] == "succeeded", 30, 0.1)
    assert weights()[2:] == [[("shop-v1", 0), ("shop-v2", 100)], [("shop-v2", 100)]]
    assert kube.objects[SHOP]["spec"]["rules"][1] == recorded("httproute-shop.json")["spec"]["rules"][1]

"""Every error is application/problem+json with traceId and remediation, naming the field."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.factories import login


def assert_problem(r, status: int) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status
    for k in ("type", "title", "detail", "traceId", "remediation"):
        assert body[k], f"{k} missing in {body}"
    assert len(body["traceId"]) == 32
    assert body["traceId"] == r.headers["x-trace-id"]
    return body  # type: ignore[no-any-return]


def test_malformed_json_is_400_problem(client: TestClient) -> None:
    r = client.post("/api/auth/login", content=b'{"username": "admin", ', headers={"content-type": "application/json"})
    body = assert_problem(r, 400)
    assert "JSON" in body["detail"]


def test_wrong_type_names_the_field(client: TestClient) -> None:
    caller = login(client)
    r = caller.post("/api/tokens", json={"name": "ci", "scopes": ["runs:read"], "expiresInDays": "soon"})
    body = assert_problem(r, 422)
    assert [e["field"] for e in body["errors"]] == ["expiresInDays"]
    assert "expiresInDays" in body["detail"]


def test_unknown_field_on_create_is_refused_and_nothing_is_written(client: TestClient) -> None:
    caller = login(client)
    before = caller.get("/api/tokens").json()["items"]
    r = caller.post("/api/tokens", json={"name": "ci", "scopes": ["runs:read"], "admin": True})
    body = assert_problem(r, 422)
    assert body["errors"][0]["field"] == "admin"
    assert "unknown field" in body["errors"][0]["message"]
    assert caller.get("/api/tokens").json()["items"] == before


def test_missing_field(client: TestClient) -> None:
    body = assert_problem(client.post("/api/auth/login", json={"username": "admin"}), 422)
    assert body["errors"] == [{"field": "password", "message": "field required"}]


def test_oversized_body_is_413(client: TestClient, migrated) -> None:  # type: ignore[no-untyped-def]
    big = b'{"username":"' + b"a" * (migrated.max_body_bytes + 10) + b'"}'
    body = assert_problem(client.post("/api/auth/login", content=big, headers={"content-type": "application/json"}), 413)
    assert str(migrated.max_body_bytes) in body["detail"]


def test_404_and_405(client: TestClient) -> None:
    assert_problem(client.get("/api/no-such-thing"), 404)
    assert_problem(client.post("/api/no-such-thing"), 404)
    body = assert_problem(client.delete("/api/health"), 405)
    assert "method" in body["detail"]


def test_unhandled_exception_hides_stack_trace(app, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    @app.get("/api/test-boom")
    def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    r = client.get("/api/test-boom")
    body = assert_problem(r, 500)
    assert "secret internals" not in r.text and "Traceback" not in r.text
    assert "traceId" in body["remediation"]


def test_bad_cursor_is_400_naming_cursor(client: TestClient) -> None:
    caller = login(client)
    for bad in ("not-base64!!", "eyJrIjoidXNlcnMiLCJ2IjpbXX0"):  # garbage; a cursor of another list
        body = assert_problem(caller.get(f"/api/audit?cursor={bad}"), 400)
        assert body["errors"][0]["field"] == "query.cursor"


def test_limit_out_of_range(client: TestClient) -> None:
    caller = login(client)
    body = assert_problem(caller.get("/api/audit?limit=0"), 422)
    assert body["errors"][0]["field"] == "query.limit"


@pytest.mark.parametrize("path", ["/api/health", "/api/no-such-thing", "/api/docs", "/", "/admin/tokens"])
def test_security_headers_everywhere(client: TestClient, path: str) -> None:
    r1, r2 = client.get(path), client.get(path)
    for r in (r1, r2):
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self' 'nonce-" in csp
        assert "'unsafe-inline'" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert r.headers["strict-transport-security"].startswith("max-age=")
    nonce = lambda r: r.headers["content-security-policy"].split("'nonce-")[1].split("'")[0]  # noqa: E731
    assert nonce(r1) != nonce(r2)


def test_docs_page_uses_the_nonce_and_local_assets(client: TestClient) -> None:
    r = client.get("/api/docs")
    nonce = r.headers["content-security-policy"].split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in r.text
    assert "http" not in r.text.split("<body>")[1]  # no CDN
    assert client.get("/api/docs/static/swagger-ui-bundle.js").status_code == 200


def test_openapi_31_with_readable_operation_ids(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    ops = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {"auth-login", "tokens-create", "tokens-revoke", "audit-list", "audit-verify", "ready-get"} <= ops


# Five-hundreds a fuzzer found (issue 12): each is now a 4xx problem naming what to fix.


def test_a_filter_repeated_past_the_cap_is_422_not_a_slow_500(client: TestClient) -> None:
    caller = login(client)
    assert caller.get("/api/runs", params=[("label", f"k{i}=v") for i in range(20)]).status_code == 200
    r = caller.get("/api/runs", params=[("label", f"k{i}=v") for i in range(1000)])
    body = assert_problem(r, 422)
    assert body["errors"] == [{"field": "query.label", "message": "at most 20 values"}]


@pytest.mark.parametrize("kind", ["yaml", "json-in-spec", "json-body"])
def test_deeply_nested_documents_are_refused_before_parsing(client: TestClient, kind: str) -> None:
    caller = login(client)
    deep = "[" * 20_000 + "]" * 20_000
    if kind == "json-body":  # the request body itself
        r = caller.post("/api/pipelines/validate", content=f'{{"spec": {deep}}}', headers={"content-type": "application/json"})
        body = assert_problem(r, 422)
        assert body["errors"] == [{"field": "body", "message": "nesting deeper than 64"}]
        return
    spec = f"name: deep\nsteps: {deep}\n" if kind == "yaml" else f'{{"name": "deep", "steps": {deep}}}'
    for url in ("/api/pipelines/validate", "/api/pipelines"):
        r = caller.post(url, json={"spec": spec})
        # validate may answer 200 listing the errors; create refuses with a problem
        ok = url.endswith("validate") and r.status_code == 200
        errors = r.json()["errors"] if ok else assert_problem(r, 422)["errors"]
        assert errors[0]["field"] == "spec" and "nested deeper than 32 levels" in errors[0]["message"], errors
    assert caller.get("/api/pipelines", params={"q": "deep"}).json()["items"] == []


def test_yaml_aliases_cannot_expand_into_a_billion_laughs(client: TestClient) -> None:
    caller = login(client)
    lines = ["name: laughs", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    lines.append("steps: [{id: s, run: 'true'}]")
    r = caller.post("/api/pipelines", json={"spec": "\n".join(lines)})
    body = assert_problem(r, 422)
    assert "aliases are expanded" in body["errors"][0]["message"]


@pytest.mark.parametrize("field", ["isActive", "email", "displayName"])
def test_null_is_refused_where_a_field_cannot_be_empty(client: TestClient, field: str) -> None:
    caller = login(client)
    me = caller.get("/api/auth/me").json()["user"]
    r = caller.patch(f"/api/users/{me['id']}", json={field: None})
    body = assert_problem(r, 422)
    assert [e["field"] for e in body["errors"]] == [field]
    assert caller.get(f"/api/users/{me['id']}").json()["isActive"] is True  # nothing half-written
    assert caller.patch(f"/api/users/{me['id']}", json={"displayName": "Ada"}).json()["displayName"] == "Ada"


def test_integers_beyond_64_bits_are_422_naming_the_parameter(client: TestClient) -> None:
    caller = login(client)
    r = caller.get("/api/pipelines/whatever/diff", params={"from": "36893488147419103233", "to": "1"})
    body = assert_problem(r, 422)
    assert [e["field"] for e in body["errors"]] == ["query.from"]
    assert_problem(caller.get("/api/audit", params={"until_seq": str(2**70)}), 422)


def test_a_chunked_body_over_the_limit_is_413_like_a_sized_one(client: TestClient, migrated) -> None:  # type: ignore[no-untyped-def]
    caller = login(client)
    limit = migrated.max_body_bytes

    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"spec": "'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    r = caller.post("/api/pipelines/validate", content=chunks(), headers={"content-type": "application/json"})
    body = assert_problem(r, 413)
    assert str(limit) in body["detail"]


def test_head_answers_like_get_without_a_body(client: TestClient) -> None:
    for path in ("/api/health", "/"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code and head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
    assert client.head("/api/runs").status_code == 401  # the same rules as GET


def test_405_allow_lists_every_method_of_the_path(client: TestClient) -> None:
    r = client.delete("/api/pipelines")
    assert_problem(r, 405)
    assert r.headers["allow"] == "GET, HEAD, POST"
    r = client.put("/api/slo/x0")
    assert_problem(r, 405)
    assert r.headers["allow"] == "DELETE"


def test_a_trailing_slash_never_redirects_to_the_callers_host(client: TestClient) -> None:
    caller = login(client)
    r = caller.get("/api/runs/", headers={"Host": "evil.example"}, follow_redirects=False)
    body = assert_problem(r, 404)
    assert "location" not in r.headers
    assert body["remediation"] == "Drop the trailing slash: /api/runs"


def test_json_depth_is_checked_whatever_the_content_type_says(client: TestClient) -> None:
    caller = login(client)
    deep = '{"spec": ' + "[" * 400 + "]" * 400 + "}"
    r = caller.post("/api/pipelines/validate", content=deep, headers={"content-type": "text/plain"})
    assert_problem(r, 422)
    two = [("content-type", "application/json"), ("content-type", "text/plain"), ("x-csrf-token", caller.csrf)]
    r = client.request("POST", "/api/pipelines/validate", content=deep, headers=two)
    assert "more than one Content-Type" in assert_problem(r, 400)["detail"]


def test_an_unterminated_escaped_string_costs_linear_time(client: TestClient) -> None:
    """A body of 500,000 `\\"` pairs with no closing quote once took minutes of CPU in the depth check."""
    body = b'{"a": "' + b'\\"' * 400_000
    r = client.post("/api/auth/login", content=body, headers={"content-type": "application/json"})
    assert_problem(r, 400)  # malformed JSON, answered (a quadratic scan would time this test out)


def test_head_is_not_offered_on_streams(client: TestClient) -> None:
    r = client.head("/api/streams/audit")
    assert r.status_code == 405 and r.headers["allow"] == "GET"


def test_a_long_chain_of_steps_validates_without_recursion(client: TestClient) -> None:
    caller = login(client)
    steps = [{"id": f"s{i}", "run": "true", "needs": [f"s{i - 1}"] if i else []} for i in range(3000)]
    r = caller.post("/api/pipelines/validate", json={"spec": json.dumps({"name": "chain", "steps": steps})})
    assert r.status_code == 200 and r.json()["valid"] is True, r.text[:500]
    steps[0]["needs"] = ["s2999"]  # now the chain is a 3000-step cycle
    r = caller.post("/api/pipelines/validate", json={"spec": json.dumps({"name": "chain", "steps": steps})})
    assert r.status_code == 200 and "dependency cycle: s0 → s2999 → s2998" in r.text

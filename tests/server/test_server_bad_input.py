"""Bad input: provider-shaped 4xx for every malformed request, never a 5xx, no count lost."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quotalab.wire import HttpRequest
from server.builders import AUDIENCE, asgi_exchange, basic
from server.conftest import MakeProvider

JSON = ("content-type", "application/json")


@pytest.mark.parametrize(
    ("headers", "body", "status", "description"),
    [
        ((JSON,), b"{not json", 400, "Invalid JSON body"),
        ((JSON,), b"[1,2]", 400, "Request body must be a JSON object"),
        ((JSON,), b'{"client_id": 5}', 400, "Invalid type for parameter: client_id"),
        ((("content-type", "text/plain"),), b"hello", 400, "Unsupported content type: text/plain"),
        (
            (("content-type", "application/x-www-form-urlencoded"),),
            b"grant_type=client_credentials&client_id=demo-client&client_id=other",
            400,
            "Invalid type for parameter: client_id",
        ),
        ((), b"grant_type=client_credentials", 400, "Unsupported content type: none"),
        ((JSON,), b"{}", 400, "Missing required parameter: grant_type"),
        (
            (JSON,),
            b'{"grant_type":"client_credentials"}',
            400,
            "Missing required parameter: client_id",
        ),
    ],
)
def test_malformed_token_requests_get_invalid_request(
    make_provider: MakeProvider,
    headers: tuple[tuple[str, str], ...],
    body: bytes,
    status: int,
    description: str,
) -> None:
    response = make_provider().handle(HttpRequest("POST", "/oauth/token", headers, body))
    assert response.status == status
    assert response.json()["error"] == "invalid_request"
    assert response.json()["error_description"].startswith(description)
    assert "x-ratelimit-remaining" in response.headers


def test_missing_audience_without_default(make_provider: MakeProvider) -> None:
    body = json.dumps(
        {
            "grant_type": "client_credentials",
            "client_id": "demo-client",
            "client_secret": "demo-secret",
        }
    ).encode()
    response = make_provider().handle(HttpRequest("POST", "/oauth/token", (JSON,), body))
    assert response.status == 403
    assert response.json()["error"] == "access_denied"


@pytest.mark.parametrize(
    "authorization",
    ["Basic", "Basic %%%", "Basic " + base64.b64encode(b"no-colon").decode(), "Bearer x", "\x00"],
)
def test_garbage_authorization_headers(make_provider: MakeProvider, authorization: str) -> None:
    auth0 = make_provider()
    request = HttpRequest(
        "POST",
        "/oauth/token",
        (("authorization", authorization), JSON),
        b'{"grant_type":"client_credentials"}',
    )
    assert auth0.handle(request).status == 400
    api = auth0.handle(HttpRequest("GET", "/api/data", (("authorization", authorization),)))
    assert api.status == 401
    twitter = make_provider("twitter")
    response = twitter.handle(
        HttpRequest("POST", "/oauth2/token", (("authorization", authorization),), b"")
    )
    assert response.status == 403
    assert b'"code":99' in response.body


def test_unknown_paths_and_methods_are_provider_404s(make_provider: MakeProvider) -> None:
    auth0 = make_provider()
    for method, path in (("GET", "/nope"), ("GET", "/oauth/token"), ("DELETE", "/api/data")):
        response = auth0.handle(HttpRequest(method, path))
        assert response.status == 404
        assert response.body == b'{"statusCode":404,"error":"Not Found","message":"Not Found"}'
    twitter = make_provider("twitter")
    response = twitter.handle(HttpRequest("GET", "/oauth2/token"))
    assert response.status == 404
    assert response.body == b'{"errors":[{"message":"Sorry, that page does not exist","code":34}]}'


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
_header_names = st.sampled_from(["content-type", "authorization", "host", "x-junk", "accept"])
_content_types = st.sampled_from(
    [
        "application/json",
        "application/x-www-form-urlencoded",
        "text/plain",
        "",
        "application/json; charset=utf-8",
    ]
)
_bodies = st.one_of(
    st.binary(max_size=300),
    _text.map(str.encode),
    st.dictionaries(
        st.sampled_from(["grant_type", "client_id", "client_secret", "audience", "scope"]),
        st.one_of(
            _text,
            st.sampled_from(["client_credentials", "demo-client", "demo-secret", AUDIENCE]),
            st.integers(),
            st.none(),
            st.lists(st.integers(), max_size=2),
        ),
    ).map(lambda d: json.dumps(d).encode()),
)
_paths = st.sampled_from(
    [
        "/oauth/token",
        "/oauth2/token",
        "/oauth2/invalidate_token",
        "/api/data",
        "/api/v2/clients",
        "/2/tweets/search/recent",
        "/1.1/search/tweets.json",
        "/.well-known/jwks.json",
        "/_admin/faults",
        "/_admin/stats",
        "/%00",
        "http://h/oauth/token?x=1",
    ]
)


@pytest.mark.parametrize("profile", ["auth0", "twitter"])
# make_provider builds a fresh provider per call, so sharing the fixture is safe.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    requests=st.lists(
        st.tuples(
            st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
            _paths,
            st.lists(st.tuples(_header_names, _text), max_size=3),
            _content_types,
            _bodies,
            st.booleans(),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_no_input_reaches_a_5xx_and_token_requests_are_all_counted(
    make_provider: MakeProvider,
    profile: str,
    requests: list[tuple[str, str, list[tuple[str, str]], str, bytes, bool]],
) -> None:
    provider = make_provider(profile)
    token_path = provider.config.endpoints[0].path
    sent_to_token = 0
    for method, path, headers, content_type, body, with_basic in requests:
        all_headers = [*headers, ("content-type", content_type)]
        if with_basic:
            all_headers.append(
                basic("demo-client" if profile == "auth0" else "demo-key", "demo-secret")
            )
        response = provider.handle(HttpRequest(method, path, tuple(all_headers), body))
        assert 200 <= response.status < 500, (method, path, response)
        if method == "POST" and path.split("?")[0].endswith(token_path) and path != "/%00":
            sent_to_token += 1
    counted = sum(c.get("token_requests", 0) for c in provider.stats()["clients"].values())
    assert counted == sent_to_token


_raw_headers = st.lists(
    st.tuples(
        st.sampled_from([b"content-type", b"authorization", b"host", b"x-any"]),
        st.binary(max_size=60),
    ),
    max_size=4,
)


# make_provider builds a fresh provider per call, so sharing the fixture is safe.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "HEAD"]),
    path=_paths.filter(lambda p: p.startswith("/")),
    headers=_raw_headers,
    chunks=st.lists(st.binary(max_size=200), max_size=4),
)
def test_the_asgi_adapter_answers_any_bytes_exactly_once_without_5xx(
    make_provider: MakeProvider,
    method: str,
    path: str,
    headers: list[tuple[bytes, bytes]],
    chunks: list[bytes],
) -> None:
    import asyncio

    from quotalab.server.asgi import create_app

    app = create_app(make_provider(toml="[provider]\nmax_body_bytes = 256\n"))
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ] or [{"type": "http.request", "body": b"", "more_body": False}]
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": b"",
        "headers": headers,
    }
    sent = asyncio.run(asgi_exchange(app, scope, messages))
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1
    assert 200 <= int(starts[0]["status"]) < 500  # type: ignore[call-overload]


def test_an_announced_body_over_the_cap_is_413_without_reading_it(
    make_provider: MakeProvider,
) -> None:
    import asyncio

    from quotalab.server.asgi import create_app

    provider = make_provider(toml="[provider]\nmax_body_bytes = 256\n")
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        raise AssertionError("the body of an oversized request was awaited")

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/oauth/token",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"99999999")],
    }
    asyncio.run(create_app(provider)(scope, receive, send))
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [413]
    in_core = provider.handle(
        HttpRequest("POST", "/oauth/token", (JSON, ("content-length", "99999999")), b"{}")
    )
    assert in_core.status == 413
    assert provider.stats()["clients"]["anonymous"]["token_requests"] == 2

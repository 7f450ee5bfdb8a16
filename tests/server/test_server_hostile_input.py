"""Text the server cannot encode, and bodies that are huge, truncated or full of NULs.

Every such request gets a provider-shaped 4xx; nothing it sends can break the
counters, ``/_admin/stats`` or ``/metrics`` afterwards.
"""

from __future__ import annotations

import asyncio
import json

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quotalab.server.asgi import ProviderApp, create_app
from quotalab.wire import HttpRequest
from server.builders import AUDIENCE, asgi_exchange
from server.conftest import MakeProvider

JSON = ("content-type", "application/json")
LONE_SURROGATE = "\\ud800"  # as written inside a JSON document


def _token_body(**fields: str) -> bytes:
    document = {
        "client_id": "demo-client",
        "client_secret": "demo-secret",
        "grant_type": "client_credentials",
        "audience": AUDIENCE,
    }
    document.update(fields)
    # json.dumps would escape our escape: splice the raw JSON escape in by hand.
    return json.dumps(document).replace("SURROGATE", LONE_SURROGATE).encode()


@pytest.mark.parametrize(
    "field", ["client_id", "client_secret", "audience", "grant_type", "scope", "SURROGATE"]
)
def test_a_lone_surrogate_in_any_json_field_is_invalid_request(
    make_provider: MakeProvider, field: str
) -> None:
    provider = make_provider()
    body = (
        _token_body(SURROGATE="x") if field == "SURROGATE" else _token_body(**{field: "SURROGATE"})
    )
    response = provider.handle(HttpRequest("POST", "/oauth/token", (JSON,), body))
    assert response.status == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "Invalid JSON body: text must be valid Unicode (no lone surrogates)",
    }
    app = create_app(provider)
    assert b"quotalab_client_events" in app.metrics.render()
    assert json.dumps(provider.stats(), ensure_ascii=False).encode("utf-8")


SERVICE_NOT_FOUND = """
[responses.service_not_found]
status = 403
headers = { "content-type" = "application/json", "x-audience" = "${audience}" }
body = '{"error":"access_denied","error_description":"Service not found: ${audience}"}'
"""


@pytest.mark.parametrize(
    ("audience", "on_the_wire"),
    [
        ("中", b"%E4%B8%AD"),  # once a 500: not Latin-1
        ("é", b"%C3%A9"),  # once the raw byte 0xE9
        (" a\r\nb\t100%\x7f ", b"a%0D%0Ab%09100%25%7F"),
        ("read:data write:data", b"read:data write:data"),
    ],
)
def test_request_text_in_a_config_header_is_percent_encoded_for_the_wire(
    make_provider: MakeProvider, audience: str, on_the_wire: bytes
) -> None:
    app = create_app(make_provider(toml=SERVICE_NOT_FOUND))
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/oauth/token",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    request = {"type": "http.request", "body": _token_body(audience=audience), "more_body": False}
    start, body = asyncio.run(asgi_exchange(app, scope, [request]))
    assert start["status"] == 403
    headers: list[tuple[bytes, bytes]] = start["headers"]  # type: ignore[assignment]
    assert dict(headers)[b"x-audience"] == on_the_wire
    h11.Response(status_code=403, headers=headers)  # h11 would send it
    assert json.loads(body["body"]) == {  # type: ignore[arg-type]
        "error": "access_denied",
        "error_description": f"Service not found: {audience}",
    }


async def _call(
    app: ProviderApp,
    method: str,
    path: str,
    headers: list[tuple[bytes, bytes]],
    chunks: list[bytes],
    truncated: bool,
) -> int:
    """One request straight through ASGI; ``truncated`` disconnects before the last chunk."""
    messages: list[dict[str, object]] = [
        {"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks[:-1]
    ]
    if truncated:
        messages.append({"type": "http.disconnect"})
    else:
        messages.append({"type": "http.request", "body": chunks[-1], "more_body": False})
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent = await asgi_exchange(app, scope, messages)
    starts = [m for m in sent if m["type"] == "http.response.start"]
    return int(starts[0]["status"]) if starts else 0  # type: ignore[call-overload]


_fields = st.sampled_from(["client_id", "client_secret", "audience", "grant_type", "scope"])
_nasty_text = st.sampled_from(
    ["\\ud800", "\\udfff", "a\\u0000b", "\\u0000", "\\ud83d\\ude00", "\\\\", "\\"]
)
_json_bodies = st.dictionaries(_fields, _nasty_text, max_size=5).map(
    lambda d: ("{" + ",".join(f'"{k}":"{v}"' for k, v in d.items()) + "}").encode()
)
_bodies = st.one_of(
    _json_bodies,
    _json_bodies,
    _json_bodies,
    st.binary(max_size=200),
    st.just(b"\x00" * 100),
    st.just(b"grant_type=client_credentials&client_id=%00%ff%ed%a0%80"),
    st.integers(1, 3).map(lambda n: b"x" * (70_000 * n)),  # over the body cap
)
ENDPOINTS = (
    ("POST", "/oauth/token"),
    ("POST", "/oauth2/token"),
    ("POST", "/oauth2/invalidate_token"),
    ("GET", "/api/data"),
    ("GET", "/2/tweets/search/recent"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/_admin/stats"),
    ("POST", "/_admin/reset"),
    ("PUT", "/_admin/faults"),
    ("GET", "/metrics"),
    ("GET", "/nope\x00"),
)
_content_types = st.sampled_from(
    [b"application/json", b"application/json", b"application/x-www-form-urlencoded", b"\x00"]
)


@pytest.mark.parametrize("profile", ["auth0", "twitter"])
@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    requests=st.lists(
        st.tuples(_content_types, _bodies, st.booleans(), st.booleans()),
        min_size=1,
        max_size=4,
    )
)
def test_fuzzed_requests_never_get_a_5xx_and_never_break_stats_or_metrics(
    make_provider: MakeProvider,
    profile: str,
    method: str,
    path: str,
    requests: list[tuple[bytes, bytes, bool, bool]],
) -> None:
    app = create_app(make_provider(profile))

    async def play() -> None:
        for content_type, body, truncated, lie_about_length in requests:
            headers = [(b"content-type", content_type)]
            if lie_about_length:  # announce more than is sent
                headers.append((b"content-length", str(len(body) + 10).encode()))
            chunks = [body[: len(body) // 2], body[len(body) // 2 :]]
            status = await _call(app, method, path, headers, chunks, truncated)
            assert status == 0 or 200 <= status < 500, (method, path, body[:80], status)
        for read in ("/metrics", "/_admin/stats"):
            assert await _call(app, "GET", read, [], [b""], False) == 200

    asyncio.run(play())


@pytest.mark.parametrize(
    ("template", "on_the_wire"),
    [
        ("id\\t${audience}", b"id"),
        ("${audience}\\tid", b"id"),
        ("a\\t${audience}\\tb", b"a\t  \tb"),
    ],
)
def test_a_profiles_tab_beside_a_value_filled_in_empty_leaves_no_edge_tab(
    make_provider: MakeProvider, template: str, on_the_wire: bytes
) -> None:
    """A config's own tab next to a value that fills in as spaces left a tab at the
    value's edge, which h11 refuses: the answer was a dropped connection."""
    toml = SERVICE_NOT_FOUND.replace('"x-audience" = "${audience}"', f'"x-audience" = "{template}"')
    provider = make_provider(toml=toml)
    body = json.dumps({**json.loads(_token_body()), "audience": "  "}).encode()
    answer = provider.handle(
        HttpRequest("POST", "/oauth/token", (("content-type", "application/json"),), body)
    )
    assert answer.status == 403
    value = answer.headers["x-audience"].encode()
    assert value == on_the_wire
    h11.Response(status_code=403, headers=[(b"x-audience", value)])  # h11 would send it

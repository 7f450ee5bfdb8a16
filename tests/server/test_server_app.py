"""The ASGI adapter, the in-process runner and concurrency at the bucket."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import jwt
import pytest

from quotalab.server import MockProvider
from quotalab.server.asgi import create_app
from quotalab.server.runner import serve_in_thread
from server.builders import AUDIENCE, auth0_token_request
from server.conftest import MakeProvider

TOKEN_BODY = {
    "grant_type": "client_credentials",
    "client_id": "demo-client",
    "client_secret": "demo-secret",
    "audience": AUDIENCE,
}


def client_for(provider: MockProvider) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(provider))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000")


@pytest.mark.anyio
async def test_429_over_asgi_is_byte_exact_with_every_header(make_provider: MakeProvider) -> None:
    provider = make_provider(toml="[limits.oauth_token]\nburst = 1\nrefill_rate = 1\n")
    async with client_for(provider) as client:
        ok = await client.post("/oauth/token", json=TOKEN_BODY)
        assert ok.status_code == 200
        throttled = await client.post("/oauth/token", json=TOKEN_BODY)
    assert throttled.status_code == 429
    body = (
        b'{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached"}'
    )
    assert throttled.content == body
    assert list(throttled.headers.keys()) == [
        "content-type",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "content-length",
    ]
    assert throttled.headers["content-length"] == str(len(body))


@pytest.mark.anyio
async def test_oversized_body_gets_413_and_counts_survive(make_provider: MakeProvider) -> None:
    provider = make_provider(toml="[provider]\nmax_body_bytes = 1024\n")
    async with client_for(provider) as client:
        await client.post("/oauth/token", json=TOKEN_BODY)
        huge = await client.post(
            "/oauth/token", content=b"x" * 5000, headers={"content-type": "application/json"}
        )
        stats = (await client.get("/_admin/stats")).json()
    assert huge.status_code == 413
    assert huge.json()["statusCode"] == 413
    assert stats["clients"]["demo-client"]["tokens_issued"] == 1


@pytest.mark.anyio
async def test_metrics_are_prometheus_text_from_the_counters(make_provider: MakeProvider) -> None:
    provider = make_provider()
    async with client_for(provider) as client:
        await client.post("/oauth/token", json=TOKEN_BODY)
        await client.get("/nowhere")
        metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    text = metrics.text
    assert 'quotalab_client_events_total{client="demo-client",event="tokens_issued"} 1.0' in text
    assert 'quotalab_http_responses_total{status="404"} 1.0' in text
    assert 'quotalab_limit_remaining{key="oauth_token:quotalab"} 29.0' in text


@pytest.mark.anyio
async def test_simultaneous_requests_never_over_admit(make_provider: MakeProvider) -> None:
    provider = make_provider()
    burst = provider.config.limits["oauth_token"].algorithm.burst  # type: ignore[union-attr]
    async with client_for(provider) as client:
        responses = await asyncio.gather(
            *(client.post("/oauth/token", json=TOKEN_BODY) for _ in range(200))
        )
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == burst
    assert statuses.count(429) == 200 - burst
    counts = provider.stats()["clients"]["demo-client"]
    assert counts["token_requests"] == 200
    assert counts["throttled_429"] == 200 - burst


def test_threads_hammering_the_core_never_over_admit(make_provider: MakeProvider) -> None:
    provider = make_provider(toml='[provider]\ntoken_signing = "HS256"\n')
    burst = provider.config.limits["oauth_token"].algorithm.burst  # type: ignore[union-attr]
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(
            pool.map(lambda _: provider.handle(auth0_token_request()).status, range(400))
        )
    assert statuses.count(200) == burst
    counts = provider.stats()["clients"]["demo-client"]
    assert counts["token_requests"] == 400
    assert counts["tokens_issued"] == burst


@pytest.mark.live
def test_serve_in_thread_answers_on_loopback_with_its_own_issuer(
    make_provider: MakeProvider,
) -> None:
    provider = make_provider()
    provider.base_url = ""
    with serve_in_thread(provider) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        response = httpx.post(f"{base_url}/oauth/token", json=TOKEN_BODY, timeout=10)
        assert response.status_code == 200
        assert "server" not in response.headers
        token = response.json()["access_token"]
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["iss"] == f"{base_url}/"
        api = httpx.get(
            f"{base_url}/api/data", headers={"authorization": f"Bearer {token}"}, timeout=10
        )
        assert api.status_code == 200
        assert json.loads(api.content)["client_id"] == "demo-client"
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base_url}/_admin/stats", timeout=2)


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_paths_are_routed_as_sent_not_decoded(make_provider: MakeProvider, http: str) -> None:
    """A percent-encoded ``?`` or ``/`` is part of the path, as at a provider: such a
    request is a 404, never the endpoint its decoded form names (a client's URL-building
    bug must show)."""
    pytest.importorskip(http)
    provider = make_provider()
    provider.base_url = ""
    with serve_in_thread(provider, http=http) as base_url:
        token = httpx.post(f"{base_url}/oauth/token%3Fx=1", json=TOKEN_BODY, timeout=10)
        keys = httpx.get(f"{base_url}/.well-known%2Fjwks.json", timeout=10)
        assert (token.status_code, keys.status_code) == (404, 404)
        assert httpx.get(f"{base_url}/.well-known/jwks.json", timeout=10).status_code == 200
        assert httpx.post(f"{base_url}/oauth/token?x=1", json=TOKEN_BODY, timeout=10).is_success
    assert "tokens_issued" in provider.stats()["clients"]["demo-client"]


@pytest.mark.anyio
async def test_injected_latency_is_awaited_by_the_adapter_not_the_core(
    make_provider: MakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    waited: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr("quotalab.server.asgi.asyncio.sleep", fake_sleep)
    provider = make_provider(toml="[faults.token]\nlatency_ms = 1500\n")
    async with client_for(provider) as client:
        response = await client.post("/oauth/token", json=TOKEN_BODY)
        await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert waited == [1.5]


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_head_is_answered_as_get_without_the_body(make_provider: MakeProvider, http: str) -> None:
    """Keys, discovery, the API and /metrics answer HEAD as a provider does: GET's status
    and headers (its content-length too), no body; a POST-only endpoint stays a 404."""
    pytest.importorskip(http)
    provider = make_provider()
    provider.base_url = ""
    with serve_in_thread(provider, http=http) as base_url:
        for path in ("/.well-known/jwks.json", "/.well-known/openid-configuration", "/metrics"):
            got, head = httpx.get(base_url + path, timeout=10), httpx.head(base_url + path)
            assert (head.status_code, head.content) == (200, b""), path
            assert head.headers["content-type"] == got.headers["content-type"], path
            if path != "/metrics":  # the metrics change between the two requests
                assert head.headers["content-length"] == str(len(got.content)), path
        api = httpx.head(f"{base_url}/api/data", timeout=10)
        assert (api.status_code, api.content) == (401, b"")  # no token: the API's own 401
        assert int(api.headers["content-length"]) > 0
        assert httpx.head(f"{base_url}/oauth/token", timeout=10).status_code == 404

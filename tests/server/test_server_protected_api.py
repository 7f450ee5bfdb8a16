"""The JWT-protected APIs: signature, iss, aud, exp, nbf, scope; bearer and Management shapes."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from quotalab.clock import VirtualClock
from quotalab.server import MockProvider
from quotalab.wire import HttpRequest, HttpResponse
from server.builders import AUDIENCE, BASE_URL, auth0_token_request, bearer
from server.conftest import MakeProvider


def call(provider: MockProvider, token: str | None, path: str = "/api/data") -> HttpResponse:
    headers = () if token is None else (bearer(token),)
    return provider.handle(HttpRequest("GET", f"{BASE_URL}{path}", headers))


def forged(provider: MockProvider, clock: VirtualClock, **changes: Any) -> str:
    """A token signed with the provider's key but with chosen claims."""
    now = int(clock.now())
    claims = {
        "iss": f"{BASE_URL}/",
        "sub": "demo-client@clients",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 3600,
        "scope": "read:data",
        "gty": "client-credentials",
        "azp": "demo-client",
    }
    claims.update(changes)
    return provider.keys.sign({k: v for k, v in claims.items() if v is not None})


def www_invalid(description: str) -> str:
    return f'Bearer realm="api", error="invalid_token", error_description="{description}"'


def test_a_fresh_token_reads_data_with_its_own_bucket_headers(make_provider: MakeProvider) -> None:
    provider = make_provider()
    token = provider.handle(auth0_token_request()).json()["access_token"]
    response = call(provider, token)
    assert response.status == 200
    assert response.headers["x-ratelimit-limit"] == "50"
    assert response.headers["x-ratelimit-remaining"] == "49"
    counts = provider.stats()["clients"]["demo-client"]
    assert counts["api_calls"] == 1 and counts["api_ok"] == 1


def test_expiry_honours_the_leeway(make_provider: MakeProvider, clock: VirtualClock) -> None:
    provider = make_provider(toml="[provider]\nvalidation_leeway_s = 30\ntoken_lifetime_s = 60\n")
    token = provider.handle(auth0_token_request()).json()["access_token"]
    clock.advance(60 + 30)
    assert call(provider, token).status == 200
    clock.advance(1)
    expired = call(provider, token)
    assert expired.status == 401
    assert expired.headers["www-authenticate"] == www_invalid("jwt expired")
    assert provider.stats()["clients"]["demo-client"]["api_401"] == 1


@pytest.mark.parametrize(
    ("changes", "description"),
    [
        ({"aud": "https://other/"}, "jwt audience invalid"),
        ({"iss": "https://evil/"}, "jwt issuer invalid"),
        ({"exp": 1}, "jwt expired"),
    ],
)
def test_claim_failures_give_the_www_authenticate_forms(
    make_provider: MakeProvider, clock: VirtualClock, changes: dict[str, Any], description: str
) -> None:
    provider = make_provider()
    response = call(provider, forged(provider, clock, **changes))
    assert response.status == 401
    assert response.headers["www-authenticate"] == www_invalid(description)


def test_nbf_in_the_future_is_not_active(make_provider: MakeProvider, clock: VirtualClock) -> None:
    provider = make_provider()
    leeway = provider.settings.validation_leeway_s
    token = forged(provider, clock, nbf=int(clock.now() + leeway + 10))
    response = call(provider, token)
    assert response.headers["www-authenticate"] == www_invalid("jwt not active")
    clock.advance(10)
    assert call(provider, token).status == 200


def test_foreign_signature_and_garbage(make_provider: MakeProvider, clock: VirtualClock) -> None:
    provider = make_provider()
    foreign = jwt.encode({"azp": "demo-client"}, b"x" * 32, algorithm="HS256")
    assert call(provider, foreign).headers["www-authenticate"] == www_invalid("invalid algorithm")
    header, payload, _ = forged(provider, clock).split(".")
    tampered = f"{header}.{payload}.{'A' * 342}"
    assert call(provider, tampered).headers["www-authenticate"] == www_invalid("invalid signature")
    assert call(provider, "not-a-jwt").headers["www-authenticate"] == www_invalid("jwt malformed")
    missing = call(provider, None)
    assert missing.status == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="api"'


def test_missing_scope_is_403_insufficient_scope(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    provider = make_provider()
    response = call(provider, forged(provider, clock, scope="write:data"))
    assert response.status == 403
    assert response.headers["www-authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="Insufficient scope", scope="read:data"'
    )
    assert provider.stats()["clients"]["demo-client"]["api_403"] == 1


def test_management_api_bodies(make_provider: MakeProvider, clock: VirtualClock) -> None:
    provider = make_provider()
    denied = call(provider, forged(provider, clock), "/api/v2/clients")
    assert denied.status == 403
    assert denied.body == (
        b'{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, '
        b'expected any of: read:clients","errorCode":"insufficient_scope"}'
    )
    expired = call(provider, forged(provider, clock, exp=1), "/api/v2/clients")
    assert expired.status == 401
    assert expired.body == (
        b'{"statusCode":401,"error":"Unauthorized","message":"Expired token received for JSON Web '
        b'Token validation","attributes":{"error":"Expired token received for JSON Web Token '
        b'validation"}}'
    )


def test_management_bucket_throttles_with_the_error_code_body(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    provider = make_provider()
    token = forged(provider, clock, scope="read:clients")
    burst = provider.config.limits["management"].algorithm.burst  # type: ignore[union-attr]
    assert all(call(provider, token, "/api/v2/clients").status == 200 for _ in range(burst))
    throttled = call(provider, token, "/api/v2/clients")
    assert throttled.status == 429
    assert throttled.body.endswith(b',"errorCode":"too_many_requests"}')
    assert throttled.headers["x-ratelimit-remaining"] == "0"
    assert provider.stats()["clients"]["demo-client"]["api_429"] == 1

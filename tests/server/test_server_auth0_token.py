"""Auth0 ``/oauth/token``: tokens, JWKS, discovery, errors and throttling, byte for byte."""

from __future__ import annotations

import json

import jwt
import pytest

from quotalab.clock import VirtualClock
from quotalab.wire import HttpRequest
from server.builders import AUDIENCE, BASE_URL, auth0_token_request, basic, jwt_header_json
from server.conftest import MakeProvider

SEED_429 = (
    b'{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached"}'
)
RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def test_json_token_is_an_rs256_jwt_with_the_documented_claims(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    provider = make_provider()
    response = provider.handle(auth0_token_request(scope="read:data"))
    assert response.status == 200
    body = response.json()
    assert list(body) == ["access_token", "scope", "expires_in", "token_type"]
    assert body["scope"] == "read:data"
    assert body["expires_in"] == 86400
    assert body["token_type"] == "Bearer"
    token = body["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    assert header["typ"] == "JWT"
    jwks = provider.handle(HttpRequest("GET", "/.well-known/jwks.json")).json()
    (key,) = jwks["keys"]
    assert key["kid"] == header["kid"]
    # The reference's key order, which PyJWT's sorted header (alg, kid, typ) was not.
    assert jwt_header_json(token) == f'{{"alg":"RS256","typ":"JWT","kid":"{key["kid"]}"}}'.encode()
    public = jwt.PyJWK(key).key
    claims = jwt.decode(
        token,
        public,
        algorithms=["RS256"],
        audience=AUDIENCE,
        issuer=f"{BASE_URL}/",
        options={"verify_exp": False, "verify_iat": False},
    )
    now = int(clock.now())
    assert claims == {
        "iss": f"{BASE_URL}/",
        "sub": "demo-client@clients",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 86400,
        "scope": "read:data",
        "gty": "client-credentials",
        "azp": "demo-client",
    }


def test_form_body_and_basic_auth_are_accepted(make_provider: MakeProvider) -> None:
    provider = make_provider()
    form = HttpRequest(
        "POST",
        "/oauth/token",
        (("content-type", "application/x-www-form-urlencoded"),),
        b"grant_type=client_credentials&client_id=demo-client&client_secret=demo-secret"
        b"&audience=https%3A%2F%2Fapi.quotalab.test%2F",
    )
    assert provider.handle(form).status == 200
    with_basic = HttpRequest(
        "POST",
        "/oauth/token",
        (basic("demo-client", "demo-secret"), ("content-type", "application/json")),
        json.dumps({"grant_type": "client_credentials", "audience": AUDIENCE}).encode(),
    )
    response = provider.handle(with_basic)
    assert response.status == 200
    assert response.json()["scope"] == "read:data read:clients"


def test_issuer_is_configurable_and_discovery_points_at_this_server(
    make_provider: MakeProvider,
) -> None:
    provider = make_provider(toml='[provider]\nissuer = "https://tenant.example/"\n')
    token = provider.handle(auth0_token_request()).json()["access_token"]
    assert (
        jwt.decode(token, options={"verify_signature": False})["iss"] == "https://tenant.example/"
    )
    document = provider.handle(HttpRequest("GET", "/.well-known/openid-configuration")).json()
    assert document["issuer"] == "https://tenant.example/"
    # The endpoints stay this server's: a client following discovery never reaches the
    # real tenant the issuer names (and never spends its quota).
    assert document["token_endpoint"] == BASE_URL + "/oauth/token"
    assert document["jwks_uri"] == BASE_URL + "/.well-known/jwks.json"


@pytest.mark.parametrize(
    ("request_", "status", "body"),
    [
        (
            auth0_token_request(secret="wrong"),
            401,
            b'{"error":"access_denied","error_description":"Unauthorized"}',
        ),
        (
            auth0_token_request(client_id="nobody"),
            401,
            b'{"error":"access_denied","error_description":"Unauthorized"}',
        ),
        (
            auth0_token_request(audience="https://elsewhere/"),
            403,
            b'{"error":"access_denied","error_description":"Service not found: https://elsewhere/"}',
        ),
        (
            auth0_token_request(grant_type="password"),
            403,
            b'{"error":"unauthorized_client","error_description":'
            b"\"Grant type 'password' not allowed for the client.\"}",
        ),
        (
            auth0_token_request(grant_type="magic"),
            403,
            b'{"error":"unsupported_grant_type","error_description":'
            b'"Unsupported grant type: magic"}',
        ),
        (
            auth0_token_request(grant_type=""),
            400,
            b'{"error":"invalid_request","error_description":'
            b'"Missing required parameter: grant_type"}',
        ),
    ],
)
def test_token_endpoint_errors_match_the_reference(
    make_provider: MakeProvider, request_: HttpRequest, status: int, body: bytes
) -> None:
    response = make_provider().handle(request_)
    assert response.status == status
    assert response.body == body
    assert response.headers["content-type"] == "application/json"
    assert all(name in response.headers for name in RATE_HEADERS)


def test_unauthorized_client_when_the_grant_is_not_enabled(make_provider: MakeProvider) -> None:
    toml = '[clients.web]\nsecret = "s"\ngrant_types = ["authorization_code"]\n'
    response = make_provider(toml=toml).handle(auth0_token_request("web", "s"))
    assert response.status == 403
    assert response.body == (
        b'{"error":"unauthorized_client","error_description":'
        b"\"Grant type 'client_credentials' not allowed for the client.\"}"
    )


def test_burst_of_30_then_the_seed_429_with_headers(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    provider = make_provider()
    remaining = [
        int(provider.handle(auth0_token_request()).headers["x-ratelimit-remaining"])
        for _ in range(30)
    ]
    assert remaining == list(range(29, -1, -1))
    throttled = provider.handle(auth0_token_request())
    assert throttled.status == 429
    assert throttled.body == SEED_429
    assert throttled.headers["x-ratelimit-limit"] == "30"
    assert throttled.headers["x-ratelimit-remaining"] == "0"
    assert int(throttled.headers["x-ratelimit-reset"]) > clock.now()
    assert "retry-after" not in throttled.headers
    clock.advance(1.5 / 30)  # one token back (float epochs lose ~1e-7 s)
    assert provider.handle(auth0_token_request()).status == 200
    assert provider.handle(auth0_token_request()).status == 429
    clock.advance(1.0)
    assert provider.handle(auth0_token_request()).status == 200
    counts = provider.stats()["clients"]["demo-client"]
    assert counts["token_requests"] == 34
    assert counts["throttled_429"] == 2
    assert counts["tokens_issued"] == 32


@pytest.mark.parametrize(
    ("reject", "body", "extra_headers"),
    [
        (
            "global_limit_error_code",
            b'{"statusCode":429,"error":"Too Many Requests",'
            b'"message":"Global limit has been reached",'
            b'"errorCode":"too_many_requests"}',
            {},
        ),
        (
            "token_access_denied",
            b'{"error":"access_denied","error_description":"Global limit has been reached"}',
            {},
        ),
        (
            "per_client",
            b'{"error":"too_many_requests","error_description":"Rate limit exceeded."}',
            {"retry-after": "1", "auth0-ratelimit": "client;q=2;t=2;r=0"},
        ),
    ],
)
def test_429_variants_are_selectable_per_rule(
    make_provider: MakeProvider, reject: str, body: bytes, extra_headers: dict[str, str]
) -> None:
    toml = f'[limits.oauth_token]\nburst = 2\nrefill_rate = 1\nreject = "{reject}"\n'
    provider = make_provider(toml=toml)
    provider.handle(auth0_token_request())
    provider.handle(auth0_token_request())
    throttled = provider.handle(auth0_token_request())
    assert throttled.status == 429
    assert throttled.body == body
    for name, value in extra_headers.items():
        assert throttled.headers[name] == value


def test_monthly_quota_is_counted_and_can_be_enforced(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    counted = make_provider(toml="[limits.m2m_quota]\nlimit = 2\n")
    for _ in range(3):
        assert counted.handle(auth0_token_request()).status == 200
    assert counted.stats()["limits"]["m2m_quota:quotalab"]["remaining"] == 0
    enforced = make_provider(
        toml='[limits.m2m_quota]\nlimit = 2\nenforce = true\nperiod = "hour"\n'
    )
    assert enforced.handle(auth0_token_request()).status == 200
    assert enforced.handle(auth0_token_request()).status == 200
    refused = enforced.handle(auth0_token_request())
    assert refused.status == 429
    assert refused.body == (
        b'{"error":"too_many_requests","error_description":"Client quota exceeded"}'
    )
    hour_left = int(3600 - clock.now() % 3600)
    assert refused.headers["retry-after"] == str(hour_left)
    assert refused.headers["auth0-client-quota-limit"] == f"b=per_hour;q=2;r=0;t={hour_left}"
    assert enforced.stats()["clients"]["demo-client"]["tokens_issued"] == 2


def test_bad_credentials_still_spend_the_bucket(make_provider: MakeProvider) -> None:
    provider = make_provider(toml="[limits.oauth_token]\nburst = 1\nrefill_rate = 1\n")
    assert provider.handle(auth0_token_request(secret="wrong")).status == 401
    assert provider.handle(auth0_token_request()).status == 429


def test_no_limits_turns_throttling_off(make_provider: MakeProvider) -> None:
    provider = make_provider(toml="[provider]\nlimits_enabled = false\n")
    responses = [provider.handle(auth0_token_request()) for _ in range(40)]
    assert {r.status for r in responses} == {200}
    assert "x-ratelimit-limit" not in responses[-1].headers


def test_hs256_signing_for_cheap_simulation(make_provider: MakeProvider) -> None:
    provider = make_provider(toml='[provider]\ntoken_signing = "HS256"\n')
    token = provider.handle(auth0_token_request()).json()["access_token"]
    kid = provider.keys.kid
    assert jwt_header_json(token) == f'{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}'.encode()
    assert provider.handle(HttpRequest("GET", "/.well-known/jwks.json")).json() == {"keys": []}


def test_refused_credentials_are_counted_for_the_client_presenting_them(
    make_provider: MakeProvider,
) -> None:
    toml = '[clients.web]\nsecret = "s"\ngrant_types = ["authorization_code"]\n'
    provider = make_provider(toml=toml)
    assert provider.handle(auth0_token_request(secret="wrong")).status == 401
    assert provider.handle(auth0_token_request("web", "s")).status == 403
    clients = provider.stats()["clients"]
    assert clients["demo-client"]["token_401"] == 1
    assert clients["web"]["token_403"] == 1


def test_audiences_refused_with_403_are_counted_as_token_403(make_provider: MakeProvider) -> None:
    """Auth0's 403 access_denied for a missing, unknown or ungranted audience: a client
    misconfigured so shows in the report's 401/403 failures, not as nothing at all."""
    toml = '[clients.narrow]\nsecret = "s"\naudiences = ["https://other.quotalab.test/"]\n'
    toml += '[audiences."https://other.quotalab.test/"]\nscopes = []\n'
    provider = make_provider(toml=toml)
    refused = [
        auth0_token_request(audience=None),
        auth0_token_request(audience="https://elsewhere/"),
        auth0_token_request("narrow", "s"),  # the demo audience, not granted to it
    ]
    assert [provider.handle(request).status for request in refused] == [403, 403, 403]
    clients = provider.stats()["clients"]
    assert clients["demo-client"]["token_403"] == 2
    assert clients["narrow"]["token_403"] == 1

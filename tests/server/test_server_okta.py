"""The Okta profile: token answers, the E0000047 429, rate-limit headers, keys, metadata, API."""

from __future__ import annotations

import json
import math
import re
from urllib.parse import urlencode

import jwt

from quotalab.clock import VirtualClock
from quotalab.wire import HttpRequest, HttpResponse
from server.builders import BASE_URL, basic
from server.conftest import MakeProvider

TOKEN_URL = BASE_URL + "/oauth2/default/v1/token"
FORM = ("content-type", "application/x-www-form-urlencoded")


def token_request(secret: str = "demo-secret", scope: str = "quotalab.read") -> HttpRequest:
    body = urlencode({"grant_type": "client_credentials", "scope": scope}).encode()
    return HttpRequest("POST", TOKEN_URL, (FORM, basic("demo-client", secret)), body)


def rate_headers(response: HttpResponse) -> tuple[str, str, str]:
    h = response.headers
    return h["x-rate-limit-limit"], h["x-rate-limit-remaining"], h["x-rate-limit-reset"]


def test_token_answer_and_okta_access_token_claims(make_provider: MakeProvider) -> None:
    provider = make_provider("okta")
    response = provider.handle(token_request())
    assert response.status == 200
    token = json.loads(response.body)["access_token"]
    assert response.body == (
        b'{"token_type":"Bearer","expires_in":3600,"access_token":"'
        + token.encode()
        + b'","scope":"quotalab.read"}'
    )
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == BASE_URL + "/oauth2/default"
    assert (claims["aud"], claims["cid"], claims["sub"]) == ("api://default",) + (
        "demo-client",
    ) * 2
    assert claims["scp"] == ["quotalab.read"] and claims["ver"] == 1
    assert re.fullmatch(r"AT\.[A-Za-z0-9]{43}", claims["jti"])


def test_client_secret_post_works_too(make_provider: MakeProvider) -> None:
    provider = make_provider("okta")
    body = urlencode(
        {
            "grant_type": "client_credentials",
            "scope": "quotalab.read",
            "client_id": "demo-client",
            "client_secret": "demo-secret",
        }
    ).encode()
    assert provider.handle(HttpRequest("POST", TOKEN_URL, (FORM,), body)).status == 200


def test_every_answer_carries_the_rate_limit_headers_and_429_is_e0000047(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    provider = make_provider("okta", "[limits.authorization_servers]\nlimit = 3\n")
    reset = str(math.ceil((math.floor(clock.now() / 60) + 1) * 60))  # the next minute, epoch s
    ok = provider.handle(token_request())
    assert rate_headers(ok) == ("3", "2", reset)
    refused = provider.handle(token_request(secret="wrong"))
    assert refused.status == 401
    assert refused.body == (
        b'{"error":"invalid_client","error_description":"Client authentication failed. '
        b'Either the client or the client credentials are invalid."}'
    )
    assert rate_headers(refused) == ("3", "1", reset)
    bad_scope = provider.handle(token_request(scope="quotalab.admin"))
    assert json.loads(bad_scope.body)["error"] == "invalid_scope"
    throttled = provider.handle(token_request())
    assert throttled.status == 429
    assert rate_headers(throttled) == ("3", "0", reset)
    error_id = json.loads(throttled.body)["errorId"]
    assert re.fullmatch(r"oae[A-Za-z0-9]{22}", error_id)
    assert throttled.body == (
        b'{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many '
        b'requests.","errorLink":"E0000047","errorId":"'
        + error_id.encode()
        + b'","errorCauses":[]}'
    )
    assert "retry-after" not in throttled.headers  # Okta says when through x-rate-limit-reset
    clock.advance(float(reset) - clock.now())
    assert provider.handle(token_request()).status == 200


def test_keys_and_authorization_server_metadata(make_provider: MakeProvider) -> None:
    provider = make_provider("okta")
    metadata = json.loads(
        provider.handle(
            HttpRequest("GET", BASE_URL + "/oauth2/default/.well-known/oauth-authorization-server")
        ).body
    )
    assert metadata["issuer"] == BASE_URL + "/oauth2/default"
    assert metadata["token_endpoint"] == TOKEN_URL
    assert metadata["jwks_uri"] == BASE_URL + "/oauth2/default/v1/keys"
    keys = json.loads(provider.handle(HttpRequest("GET", metadata["jwks_uri"])).body)
    assert keys["keys"][0]["kty"] == "RSA"


def test_the_api_reads_scp_and_cid(make_provider: MakeProvider) -> None:
    provider = make_provider("okta")
    token = json.loads(provider.handle(token_request()).body)["access_token"]
    api = provider.handle(
        HttpRequest("GET", BASE_URL + "/api/data", (("authorization", f"Bearer {token}"),))
    )
    assert api.status == 200
    assert provider.counters.snapshot()["demo-client"]["api_ok"] == 1
    claims = jwt.decode(token, options={"verify_signature": False})
    narrow = provider.keys.sign({**claims, "scp": ["quotalab.write"]})
    forbidden = provider.handle(
        HttpRequest("GET", BASE_URL + "/api/data", (("authorization", f"Bearer {narrow}"),))
    )
    assert forbidden.status == 403

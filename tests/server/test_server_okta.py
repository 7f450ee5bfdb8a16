"""The Okta profile: token answers, the E0000047 429, rate-limit headers, keys, metadata, API."""

from __future__ import annotations

import json
import math
import re
from urllib.parse import urlencode

import jwt

from quotalab.clock import VirtualClock
from quotalab.wire import HttpRequest, HttpResponse
from server.builders import BASE_URL, basic, jwt_header_json
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
    kid = provider.keys.kid  # the reference gives no order of Okta's own: Auth0's
    assert jwt_header_json(token) == f'{{"alg":"RS256","typ":"JWT","kid":"{kid}"}}'.encode()
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
        b'{"error":"invalid_client","error_description":'
        b'"The client secret supplied for a confidential client is invalid."}'
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


def test_an_issuer_naming_the_real_tenant_leaves_the_endpoints_on_this_server(
    make_provider: MakeProvider,
) -> None:
    issuer = "https://dev-123.okta.com/oauth2/default"
    provider = make_provider("okta", toml=f'[provider]\nissuer = "{issuer}"\n')
    for path in ("oauth-authorization-server", "openid-configuration"):
        metadata = json.loads(
            provider.handle(
                HttpRequest("GET", BASE_URL + "/oauth2/default/.well-known/" + path)
            ).body
        )
        assert metadata["issuer"] == issuer
        assert metadata["token_endpoint"] == TOKEN_URL
        assert metadata["jwks_uri"] == BASE_URL + "/oauth2/default/v1/keys"
        urls = [value for value in metadata.values() if isinstance(value, str) and "://" in value]
        assert all(url.startswith(BASE_URL) for url in urls if url != issuer), urls
    token = provider.handle(token_request()).json()["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["iss"] == issuer


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


def test_unreadable_token_bodies_get_a_filled_invalid_request(make_provider: MakeProvider) -> None:
    provider = make_provider("okta")
    auth = basic("demo-client", "demo-secret")
    bodies = [
        (("content-type", "application/json"), b'{"grant_type":"client_credentials"}'),
        (("content-type", "text/plain"), b"grant_type=client_credentials"),
        (FORM, b"grant_type=client_credentials&grant_type=client_credentials"),
        (FORM, b"grant_type=client_credentials&scope=\xff"),
        (FORM, b"grant_type=client_credentials&scope=%ED%A0%80"),
    ]
    for content_type, body in bodies:
        answer = provider.handle(HttpRequest("POST", TOKEN_URL, (content_type, auth), body))
        assert answer.status == 400, body
        assert "${" not in answer.body.decode(), body
        assert json.loads(answer.body)["error"] == "invalid_request"
    repeated = provider.handle(
        HttpRequest("POST", TOKEN_URL, (FORM, auth), b"scope=a&grant_type=x&scope=b")
    )
    assert "'scope'" in json.loads(repeated.body)["error_description"]


def test_invalid_client_answers_as_okta_documents_them(make_provider: MakeProvider) -> None:
    provider = make_provider("okta")
    unknown = provider.handle(
        HttpRequest(
            "POST", TOKEN_URL, (FORM, basic("nobody", "x")), b"grant_type=client_credentials"
        )
    )
    document = json.loads(unknown.body)
    assert unknown.status == 401
    assert (document["errorCode"], document["errorSummary"]) == (
        "invalid_client",
        "Invalid value for 'client_id' parameter.",
    )
    assert re.fullmatch(r"oae[A-Za-z0-9]{22}", document["errorId"])


def test_two_client_authentication_methods_are_refused(make_provider: MakeProvider) -> None:
    provider = make_provider("okta")
    body = urlencode(
        {
            "grant_type": "client_credentials",
            "scope": "quotalab.read",
            "client_secret": "demo-secret",
        }
    ).encode()
    answer = provider.handle(
        HttpRequest("POST", TOKEN_URL, (FORM, basic("demo-client", "demo-secret")), body)
    )
    assert answer.status == 400
    assert json.loads(answer.body)["error_description"].startswith(
        "Cannot supply multiple client credentials."
    )


def test_unknown_paths_are_404_e0000007_and_wrong_methods_405_e0000022(
    make_provider: MakeProvider,
) -> None:
    provider = make_provider("okta", "[provider]\nmax_body_bytes = 64\n")
    missing = provider.handle(HttpRequest("GET", BASE_URL + "/oauth2/default/v1/nothing", (), b""))
    assert missing.status == 404 and json.loads(missing.body)["errorCode"] == "E0000007"
    wrong = provider.handle(HttpRequest("GET", TOKEN_URL, (), b""))
    assert wrong.status == 405 and json.loads(wrong.body)["errorCode"] == "E0000022"
    big = provider.handle(HttpRequest("POST", TOKEN_URL, (FORM,), b"x" * 65))
    assert big.status == 400 and json.loads(big.body)["errorCode"] == "E0000003"


def test_openid_configuration_is_valid_oidc_metadata_and_carries_rate_headers(
    make_provider: MakeProvider,
) -> None:
    from authlib.oidc.discovery import OpenIDProviderMetadata

    provider = make_provider("okta", "[limits.authorization_servers]\nlimit = 5\n")
    answer = provider.handle(
        HttpRequest("GET", BASE_URL + "/oauth2/default/.well-known/openid-configuration")
    )
    document = json.loads(answer.body)
    OpenIDProviderMetadata(document).validate()  # raises on a missing required field
    assert document["userinfo_endpoint"] == BASE_URL + "/oauth2/default/v1/userinfo"
    assert rate_headers(answer)[:2] == ("5", "4")
    keys = provider.handle(HttpRequest("GET", BASE_URL + "/oauth2/default/v1/keys"))
    metadata = provider.handle(
        HttpRequest("GET", BASE_URL + "/oauth2/default/.well-known/oauth-authorization-server")
    )
    assert rate_headers(keys)[:2] == ("5", "3")
    assert rate_headers(metadata)[:2] == ("5", "2")

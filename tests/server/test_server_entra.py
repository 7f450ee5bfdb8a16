"""The Entra ID profile: token answers, AADSTS errors, throttling and loop detection, the API.

Bodies are checked byte for byte against the documents cited in entra.toml;
only the per-answer ids (trace, correlation, timestamp) vary, and they are
read back out of the answer and checked for their documented shape.
"""

from __future__ import annotations

import json
import random
import re
from urllib.parse import urlencode

import jwt

from quotalab.clock import VirtualClock
from quotalab.server.request_ids import generated_values
from quotalab.wire import HttpRequest, HttpResponse
from server.builders import BASE_URL, basic, jwt_header_json
from server.conftest import MakeProvider

TOKEN_PATH = "/demo-tenant/oauth2/v2.0/token"
SCOPE = "https://api.quotalab.test/.default"
FORM = ("content-type", "application/x-www-form-urlencoded")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def token_request(
    client_id: str = "demo-client", secret: str = "demo-secret", scope: str = SCOPE, **extra: str
) -> HttpRequest:
    fields = {"client_id": client_id, "client_secret": secret, "grant_type": "client_credentials"}
    fields.update(scope=scope, **extra)
    body = urlencode({k: v for k, v in fields.items() if v}).encode()
    return HttpRequest("POST", BASE_URL + TOKEN_PATH, (FORM,), body)


def entra_error(response: HttpResponse, error: str, code: int, message: str) -> None:
    """``response`` is Entra's documented error document for ``code``, to the byte."""
    document = json.loads(response.body)
    trace, correlation, stamp = (
        document["trace_id"],
        document["correlation_id"],
        document["timestamp"],
    )
    assert re.fullmatch(UUID, trace) and re.fullmatch(UUID, correlation)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", stamp)
    description = (
        f"AADSTS{code}: {message}\\r\\nTrace ID: {trace}\\r\\n"
        f"Correlation ID: {correlation}\\r\\nTimestamp: {stamp}"
    )
    expected = (
        f'{{"error":"{error}","error_description":"{description}","error_codes":[{code}],'
        f'"timestamp":"{stamp}","trace_id":"{trace}","correlation_id":"{correlation}",'
        f'"error_uri":"https://login.microsoftonline.com/error?code={code}"}}'
    )
    assert response.body == expected.encode()
    assert response.headers["content-type"] == "application/json; charset=utf-8"


def test_token_answer_is_entras_compact_body_and_a_v2_app_token(
    make_provider: MakeProvider,
) -> None:
    provider = make_provider("entra")
    response = provider.handle(token_request())
    assert response.status == 200
    token = json.loads(response.body)["access_token"]
    assert response.body == (
        b'{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"'
        + token.encode()
        + b'"}'
    )
    assert response.headers["cache-control"] == "no-store, no-cache"
    assert response.headers["expires"] == "-1"
    kid = provider.keys.kid  # the reference gives no order of Entra's own: Auth0's
    assert jwt_header_json(token) == f'{{"alg":"RS256","typ":"JWT","kid":"{kid}"}}'.encode()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == "https://api.quotalab.test"
    assert claims["iss"] == BASE_URL + "/demo-tenant/v2.0"
    assert claims["roles"] == ["Data.Read"]
    assert (claims["azp"], claims["tid"], claims["ver"]) == ("demo-client", "demo-tenant", "2.0")
    assert claims["exp"] - claims["iat"] == 3599


def test_basic_client_authentication_is_accepted(make_provider: MakeProvider) -> None:
    provider = make_provider("entra")
    body = urlencode({"grant_type": "client_credentials", "scope": SCOPE}).encode()
    request = HttpRequest(
        "POST", BASE_URL + TOKEN_PATH, (FORM, basic("demo-client", "demo-secret")), body
    )
    assert provider.handle(request).status == 200


def test_errors_carry_their_aadsts_codes(make_provider: MakeProvider) -> None:
    provider = make_provider("entra", "[limits.token_throttle]\nlimit = 100\n")
    wrong_secret = provider.handle(token_request(secret="nope"))
    assert wrong_secret.status == 401
    entra_error(
        wrong_secret,
        "invalid_client",
        7000215,
        "Invalid client secret provided. Ensure the secret being sent in the request is the "
        "client secret value, not the client secret ID, for a secret added to app "
        "'demo-client'.",
    )
    unknown = provider.handle(token_request(client_id="ghost"))
    assert unknown.status == 400
    assert json.loads(unknown.body)["error_codes"] == [700016]
    no_scope = provider.handle(token_request(scope=""))
    entra_error(
        no_scope,
        "invalid_request",
        900144,
        "The request body must contain the following parameter: 'scope'.",
    )
    not_default = provider.handle(token_request(scope="https://api.quotalab.test/Data.Read"))
    assert json.loads(not_default.body)["error_codes"] == [1002012]
    no_resource = provider.handle(token_request(scope="https://elsewhere.test/.default"))
    assert json.loads(no_resource.body)["error"] == "invalid_resource"
    grant = provider.handle(token_request(grant_type="password"))
    assert json.loads(grant.body)["error_codes"] == [70003]


def test_throttled_requests_get_429_with_retry_after_60_then_recover(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    provider = make_provider("entra")
    answers = [provider.handle(token_request()) for _ in range(21)]
    assert [a.status for a in answers[:20]] == [200] * 20
    throttled = answers[20]
    assert throttled.status == 429
    assert throttled.headers["retry-after"] == "60"  # MSAL guidance: "Retry-After: 60"
    assert throttled.body == b"Too Many Requests"  # the one recorded body (MSAL.NET #2855)
    assert throttled.headers["content-type"].startswith("text/plain")
    clock.advance(60)
    assert provider.handle(token_request()).status == 200


def test_a_client_that_keeps_asking_for_the_same_token_is_told_it_loops(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    provider = make_provider("entra")
    statuses = [provider.handle(token_request()).status for _ in range(31)]
    assert statuses.count(429) == 10  # ignoring the 429s ...
    looped = provider.handle(token_request())  # ... until the loop detector answers
    assert looped.status == 400
    entra_error(
        looped,
        "invalid_grant",
        50196,
        "The server terminated an operation because it encountered a loop "
        "while processing a request.",
    )
    # Another token (another scope) is another request: not the loop, still throttled.
    other = provider.handle(token_request(scope="https://elsewhere.test/.default"))
    assert other.status == 429
    counts = provider.counters.snapshot()["demo-client"]
    assert counts["throttled_4xx"] == 2 and counts["throttled_429"] == 11


def test_the_guessed_json_429_is_selectable(make_provider: MakeProvider) -> None:
    provider = make_provider("entra", '[limits.token_throttle]\nlimit = 1\nreject = "throttled"\n')
    provider.handle(token_request())
    throttled = provider.handle(token_request())
    assert throttled.status == 429 and throttled.headers["retry-after"] == "60"
    entra_error(
        throttled,
        "temporarily_unavailable",
        90055,
        "TenantThrottlingError - There are too many incoming requests. "
        "This exception is thrown for blocked tenants.",
    )


def test_discovery_and_keys_at_the_tenants_v2_paths(make_provider: MakeProvider) -> None:
    provider = make_provider("entra")
    document = json.loads(
        provider.handle(
            HttpRequest("GET", BASE_URL + "/demo-tenant/v2.0/.well-known/openid-configuration")
        ).body
    )
    assert document["token_endpoint"] == BASE_URL + TOKEN_PATH
    assert document["issuer"] == BASE_URL + "/demo-tenant/v2.0"
    assert document["authorization_endpoint"].startswith(BASE_URL + "/demo-tenant/")
    keys = provider.handle(HttpRequest("GET", document["jwks_uri"]))
    token = json.loads(provider.handle(token_request()).body)["access_token"]
    assert json.loads(keys.body)["keys"][0]["kid"] == jwt.get_unverified_header(token)["kid"]


def test_the_api_checks_audience_roles_and_expiry(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    provider = make_provider("entra")
    token = json.loads(provider.handle(token_request()).body)["access_token"]

    def call(bearer: str) -> HttpResponse:
        return provider.handle(
            HttpRequest("GET", BASE_URL + "/api/data", (("authorization", f"Bearer {bearer}"),))
        )

    assert call(token).status == 200
    no_roles = provider.keys.sign(
        {**jwt.decode(token, options={"verify_signature": False}), "roles": []}
    )
    assert call(no_roles).status == 403
    other_audience = provider.keys.sign(
        {**jwt.decode(token, options={"verify_signature": False}), "aud": "api://other"}
    )
    assert 'error="invalid_token"' in call(other_audience).headers["www-authenticate"]
    delegated = {**jwt.decode(token, options={"verify_signature": False}), "scp": "Data.Read"}
    del delegated["roles"]
    assert call(provider.keys.sign(delegated)).status == 200  # scp works as well as roles
    clock.advance(3599 + 6)
    expired = call(token)
    assert expired.status == 401
    assert 'error_description="jwt expired"' in expired.headers["www-authenticate"]


def test_a_repeated_parameter_is_named_and_bad_bytes_are_malformed(
    make_provider: MakeProvider,
) -> None:
    provider = make_provider("entra")
    repeated = provider.handle(
        HttpRequest(
            "POST",
            BASE_URL + TOKEN_PATH,
            (FORM,),
            b"grant_type=client_credentials&client_id=a&client_id=b",
        )
    )
    entra_error(
        repeated,
        "invalid_request",
        9002313,
        "Invalid request. Request is malformed or invalid. "
        "The parameter 'client_id' is included more than once.",
    )
    lone = provider.handle(
        HttpRequest(
            "POST",
            BASE_URL + TOKEN_PATH,
            (FORM,),
            b"grant_type=client_credentials&client_secret=x&client_id=%ED%A0%80",
        )
    )
    assert lone.status == 400 and json.loads(lone.body)["error"] == "invalid_request"
    assert "\ufffd" not in lone.body.decode()


def test_basic_and_a_body_secret_together_are_refused(make_provider: MakeProvider) -> None:
    provider = make_provider("entra")
    body = urlencode(
        {"grant_type": "client_credentials", "scope": SCOPE, "client_secret": "demo-secret"}
    ).encode()
    answer = provider.handle(
        HttpRequest(
            "POST", BASE_URL + TOKEN_PATH, (FORM, basic("demo-client", "demo-secret")), body
        )
    )
    assert answer.status == 400
    assert json.loads(answer.body)["error_codes"] == [9002313]


def test_generated_ids_follow_the_seed_not_the_order_names_come_in() -> None:
    """Template names are a set, whose order changes from process to process:
    the same seed must give each name the same value whatever that order."""
    names = ("trace_id", "correlation_id", "timestamp")
    forward = generated_values(names, random.Random(7), 1_800_000_000.0)
    backward = generated_values(tuple(reversed(names)), random.Random(7), 1_800_000_000.0)
    assert forward == backward
    assert forward["trace_id"] != forward["correlation_id"]

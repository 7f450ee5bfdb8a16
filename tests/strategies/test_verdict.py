"""Reading server hints and classifying answers."""

from __future__ import annotations

import json

import pytest

from quotalab.strategies import AnswerKind, classify, server_wait_s
from quotalab.strategies.client_settings import parse_token
from quotalab.wire import HttpResponse, TransportError

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({}, None),
        ({"retry-after": "12"}, 12.0),
        ({"retry-after": "Fri, 15 Jan 2027 08:01:00 GMT"}, 60.0),
        ({"retry-after": "Fri, 15 Jan 2027 07:59:00 GMT"}, 0.0),  # in the past: go now
        ({"retry-after": "soon"}, None),
        ({"ratelimit": '"default";r=0;t=30'}, 30.0),
        ({"auth0-ratelimit": "client;q=10;t=1;r=9"}, 1.0),
        ({"x-ratelimit-reset": str(int(NOW) + 8)}, 8.0),
        ({"x-rate-limit-reset": str(int(NOW) + 900)}, 900.0),
        ({"x-ratelimit-reset": str(int(NOW) - 5)}, 0.0),
        ({"retry-after": "3", "ratelimit": '"d";r=0;t=30'}, 3.0),
        ({"ratelimit": '"d";r=0;t=30', "auth0-ratelimit": "c;q=1;t=2;r=0"}, 30.0),
        ({"auth0-ratelimit": "c;q=1;t=2;r=0", "x-ratelimit-reset": str(int(NOW) + 9)}, 2.0),
        ({"retry-after": "garbage", "x-ratelimit-reset": str(int(NOW) + 9)}, 9.0),
        ({"retry-after": "-5", "x-ratelimit-reset": str(int(NOW) + 9)}, 9.0),
        ({"retry-after": "-5"}, None),
    ],
)
def test_server_wait_precedence(headers: dict[str, str], wait: float | None) -> None:
    assert server_wait_s(HttpResponse(429, headers), NOW) == wait


@pytest.mark.parametrize(
    ("reply", "api", "outcome"),
    [
        (HttpResponse(200), True, AnswerKind.OK),
        (HttpResponse(429), False, AnswerKind.THROTTLED),
        (HttpResponse(503), True, AnswerKind.UNAVAILABLE),
        (TransportError("reset"), False, AnswerKind.UNAVAILABLE),
        (
            HttpResponse(403, body=b'{"errors":[{"code":99,"message":"x"}]}'),
            False,
            AnswerKind.COOLDOWN,
        ),
        (
            HttpResponse(401, body=b'{"errors":[{"code":89,"message":"x"}]}'),
            True,
            AnswerKind.INVALID_TOKEN,
        ),
        (
            HttpResponse(401, {"www-authenticate": 'Bearer error="invalid_token"'}),
            True,
            AnswerKind.INVALID_TOKEN,
        ),
        (HttpResponse(401, body=b'{"error":"access_denied"}'), False, AnswerKind.DEFINITE),
        (HttpResponse(403, body=b'{"error":"insufficient_scope"}'), True, AnswerKind.DEFINITE),
        (HttpResponse(400), False, AnswerKind.DEFINITE),
    ],
)
def test_classify(reply: HttpResponse | TransportError, api: bool, outcome: AnswerKind) -> None:
    assert classify(reply, NOW, api=api).outcome is outcome


@pytest.mark.parametrize(
    "date",
    [
        "Friday, 15-Jan-27 08:01:00 GMT",  # RFC 850, obsolete but RFC 9110 says accept it
        "Fri Jan 15 08:01:00 2027",  # asctime: no zone written, always GMT
    ],
)
def test_retry_after_obsolete_http_dates(date: str) -> None:
    # RFC 9110 5.6.7: a recipient MUST accept all three HTTP-date formats.
    assert server_wait_s(HttpResponse(429, {"retry-after": date}), NOW) == 60.0


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "Infinity"])
def test_retry_after_not_a_number_of_seconds_is_ignored(value: str) -> None:
    # Not delay-seconds: fall through to the next hint instead of waiting 0 or forever.
    headers = {"retry-after": value, "x-ratelimit-reset": str(int(NOW) + 9)}
    assert server_wait_s(HttpResponse(429, headers), NOW) == 9.0


@pytest.mark.parametrize("value", ["inf", "nan"])
def test_reset_epoch_not_a_number_is_no_hint(value: str) -> None:
    assert server_wait_s(HttpResponse(429, {"x-ratelimit-reset": value}), NOW) is None


@pytest.mark.parametrize(
    ("value", "wait"),
    [
        ('"burst";r=5;t=1, "day";r=0;t=3600', 3600.0),  # the spent policy decides
        ('"burst";r=0;t=2, "day";r=0;t=60', 60.0),  # both spent: wait for both
        ('"burst";r=4;t=2, "day";r=9;t=60', 2.0),  # none spent: the first says
    ],
)
def test_ratelimit_waits_for_the_exhausted_policy(value: str, wait: float) -> None:
    assert server_wait_s(HttpResponse(429, {"ratelimit": value}), NOW) == wait


MGMT_INVALID = (
    b'{"statusCode":401,"error":"Unauthorized","message":"Invalid token",'
    b'"attributes":{"error":"Invalid token"}}'
)


def test_a_management_style_401_is_a_refused_token_on_the_api_only() -> None:
    reply = HttpResponse(401, {"content-type": "application/json"}, MGMT_INVALID)
    assert classify(reply, NOW, api=True).outcome == AnswerKind.INVALID_TOKEN
    assert classify(reply, NOW, api=False).outcome == AnswerKind.DEFINITE
    plain = HttpResponse(401, {}, b'{"error":"access_denied","error_description":"Unauthorized"}')
    assert classify(plain, NOW, api=True).outcome == AnswerKind.DEFINITE


@pytest.mark.parametrize(
    ("expires_in", "lifetime"),
    [(86400, 86400.0), ("3599", 3599.0), ("soon", None), (True, None), (-1, None), ("nan", None)],
)
def test_token_lifetime_from_numbers_and_numeric_strings(
    expires_in: object, lifetime: float | None
) -> None:
    body = json.dumps({"access_token": "t", "expires_in": expires_in}).encode()
    token = parse_token(HttpResponse(200, {}, body), NOW)
    assert token.lifetime_s == lifetime
    assert token.expires_at == (None if lifetime is None else NOW + lifetime)


@pytest.mark.parametrize(
    "value", ['"burst";r=0;t=1e99', '"burst";r=0;t=1.5', '"burst";r=0;t=1234567890123456789']
)
def test_ratelimit_t_that_is_not_a_structured_integer_is_no_hint(value: str) -> None:
    assert server_wait_s(HttpResponse(429, {"ratelimit": value}), NOW) is None


def test_entras_loop_detection_is_a_throttle_to_back_off_from() -> None:
    """AADSTS50196: Microsoft advises to stop asking (cache), not to give up for good."""
    from quotalab.errors import ThrottledError
    from quotalab.strategies.answers import AnswerKind, classify, error_for

    loop = HttpResponse(
        400, body=b'{"error":"invalid_grant","error_description":"AADSTS50196: The server..."}'
    )
    assert classify(loop, NOW, api=False).outcome is AnswerKind.COOLDOWN
    assert isinstance(error_for(loop, "token"), ThrottledError)
    other = HttpResponse(400, body=b'{"error":"invalid_grant","error_description":"AADSTS70000"}')
    assert classify(other, NOW, api=False).outcome is AnswerKind.DEFINITE

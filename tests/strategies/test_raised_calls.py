"""An own client's exception: throttled when it carries the throttling answer, else an error."""

from __future__ import annotations

import httpx
import pytest
import requests
from auth0.authentication.exceptions import Auth0Error, RateLimitError
from authlib.integrations.base_client.errors import OAuthError

from quotalab.outcomes import AUTH_FAILURE, FORBIDDEN_403_99, OTHER, THROTTLED_429
from quotalab.strategies.raised_calls import raised_call

CODE_99 = b'{"errors":[{"code":99,"message":"Unable to verify your credentials"}]}'


def requests_error(status: int, body: bytes) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    response._content = body
    return requests.HTTPError(f"{status} Client Error", response=response)


def httpx_error(status: int) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "http://127.0.0.1/oauth/token")
    response = httpx.Response(status, request=request, content=b"{}")
    return httpx.HTTPStatusError(f"status {status}", request=request, response=response)


@pytest.mark.parametrize(
    ("error", "kind", "reason"),
    [
        (
            RateLimitError("too_many_requests", "Global limit has been reached", 0),
            THROTTLED_429,
            "RateLimitError",
        ),
        (Auth0Error(401, "access_denied", "Unauthorized"), AUTH_FAILURE, "Auth0Error"),
        (OAuthError(error="Too Many Requests"), THROTTLED_429, "OAuthError"),
        (OAuthError(error="invalid_client"), OTHER, "OAuthError"),
        (requests_error(429, b"{}"), THROTTLED_429, "HTTPError"),
        (requests_error(403, CODE_99), FORBIDDEN_403_99, "HTTPError"),
        (requests_error(403, b'{"error":"access_denied"}'), AUTH_FAILURE, "HTTPError"),
        (httpx_error(429), THROTTLED_429, "HTTPStatusError"),
        (requests.ConnectionError("refused"), OTHER, "ConnectionError"),
        (KeyError("access_token"), OTHER, "KeyError"),
    ],
)
def test_each_sdk_exception_is_classified(error: Exception, kind: int, reason: str) -> None:
    raised = raised_call(error)
    assert (raised.kind, raised.reason) == (kind, reason)
    assert raised.message


def test_a_wrapped_throttle_is_found_down_the_chain() -> None:
    class TokenFetchFailed(Exception):
        pass

    try:
        try:
            raise requests_error(429, b"{}")
        except requests.HTTPError as inner:
            raise TokenFetchFailed("could not get a token") from inner
    except TokenFetchFailed as outer:
        raised = raised_call(outer)
    assert raised.reason == "TokenFetchFailed" and raised.throttled
    assert raised.message == "could not get a token"


def test_the_message_is_one_bounded_line() -> None:
    raised = raised_call(ValueError("x" * 500 + "\nsecond line"))
    assert "\n" not in raised.message and len(raised.message) <= 200
    assert raised_call(ValueError()).message == "ValueError"

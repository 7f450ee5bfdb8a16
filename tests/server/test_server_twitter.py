"""Twitter app-only auth: one token per app, code 99 throttling, invalidation, 15-minute windows."""

from __future__ import annotations

from quotalab.clock import VirtualClock
from quotalab.wire import HttpRequest
from server.builders import basic, bearer, twitter_token_request
from server.conftest import MakeProvider

CODE_99 = (
    b'{"errors":[{"label":"authenticity_token_error","code":99,'
    b'"message":"Unable to verify your credentials"}]}'
)
SEED_HEADERS = {
    "content-type": "application/json; charset=utf-8",
    "server": "tfe",
    "cache-control": "no-cache, no-store, must-revalidate, pre-check=0, post-check=0",
    "pragma": "no-cache",
    "expires": "Tue, 31 Mar 1981 05:00:00 GMT",
    "x-frame-options": "DENY",
    "x-xss-protection": "1; mode=block",
    "strict-transport-security": "max-age=631138519",
}


def assert_code_99(response_headers: dict[str, str], status: int, body: bytes) -> None:
    assert status == 403
    assert body == CODE_99
    assert len(body) == 105
    for name, value in SEED_HEADERS.items():
        assert response_headers[name] == value
    assert len(response_headers["x-transaction"]) == 16
    int(response_headers["x-transaction"], 16)
    assert not any("rate-limit" in name or "ratelimit" in name for name in response_headers)
    assert "retry-after" not in response_headers


def test_same_token_per_app_until_invalidated(make_provider: MakeProvider) -> None:
    provider = make_provider("twitter")
    first = provider.handle(twitter_token_request())
    assert first.status == 200
    body = first.json()
    assert list(body) == ["token_type", "access_token"]
    assert body["token_type"] == "bearer"
    token = body["access_token"]
    assert token.startswith("AAAA") and "%3D" in token
    assert first.body == f'{{"token_type":"bearer","access_token":"{token}"}}'.encode()
    assert provider.handle(twitter_token_request()).json()["access_token"] == token
    api = HttpRequest("GET", "/2/tweets/search/recent?query=quota", (bearer(token),))
    assert provider.handle(api).status == 200
    invalidate = HttpRequest(
        "POST",
        "/oauth2/invalidate_token",
        (basic("demo-key", "demo-secret"), ("content-type", "application/x-www-form-urlencoded")),
        f"access_token={token}".encode(),
    )
    done = provider.handle(invalidate)
    assert done.status == 200
    assert done.body == f'{{"access_token":"{token}"}}'.encode()
    stale = provider.handle(api)
    assert stale.status == 401
    assert stale.body == b'{"errors":[{"code":89,"message":"Invalid or expired token."}]}'
    fresh = provider.handle(twitter_token_request()).json()["access_token"]
    assert fresh != token
    assert provider.stats()["clients"]["demo-key"]["api_401"] == 1


def test_negotiation_throttle_gives_code_99_then_recovers_after_the_window(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    provider = make_provider("twitter")
    rule = provider.config.limits["token_negotiation"]
    limit = rule.algorithm.limit  # type: ignore[union-attr]
    window_s = rule.algorithm.window_s  # type: ignore[union-attr]
    for _ in range(limit):
        ok = provider.handle(twitter_token_request())
        assert ok.status == 200
        assert "x-rate-limit-reset" not in ok.headers
    throttled = provider.handle(twitter_token_request())
    assert_code_99(dict(throttled.headers), throttled.status, throttled.body)
    clock.advance(window_s - 1)
    assert provider.handle(twitter_token_request()).status == 403
    clock.advance(1)
    assert provider.handle(twitter_token_request()).status == 200
    counts = provider.stats()["clients"]["demo-key"]
    assert counts["forbidden_403_99"] == 2
    assert counts["token_requests"] == limit + 3


def test_code_99_headers_come_in_the_captured_order(make_provider: MakeProvider) -> None:
    """The seed capture lists its headers alphabetically, x-transaction before
    x-xss-protection; the one filled per answer keeps its place among them."""
    provider = make_provider("twitter")
    response = provider.handle(twitter_token_request(secret="wrong"))
    captured_order = [
        "cache-control",
        "content-type",
        "expires",
        "pragma",
        "server",
        "strict-transport-security",
        "x-frame-options",
        "x-transaction",
        "x-xss-protection",
    ]
    assert [name for name in response.headers if name in captured_order] == captured_order


def test_bad_credentials_get_the_same_code_99(make_provider: MakeProvider) -> None:
    provider = make_provider("twitter")
    for request in (
        twitter_token_request(secret="wrong"),
        twitter_token_request(key="stranger"),
        HttpRequest("POST", "/oauth2/token", (("authorization", "Basic !!!"),), b""),
        HttpRequest("POST", "/oauth2/token", (), b"grant_type=client_credentials"),
    ):
        response = provider.handle(request)
        assert_code_99(dict(response.headers), response.status, response.body)


def test_missing_grant_type(make_provider: MakeProvider) -> None:
    request = HttpRequest("POST", "/oauth2/token", (basic("demo-key", "demo-secret"),), b"")
    response = make_provider("twitter").handle(request)
    assert response.status == 403
    assert b'"code":170' in response.body


def test_search_windows_headers_and_429_bodies(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    toml = "[limits.search_v2]\nlimit = 2\n[limits.search_v1]\nlimit = 1\n"
    provider = make_provider("twitter", toml=toml)
    token = provider.handle(twitter_token_request()).json()["access_token"]
    v2 = HttpRequest("GET", "/2/tweets/search/recent?query=x", (bearer(token),))
    v1 = HttpRequest("GET", "http://127.0.0.1:8000/1.1/search/tweets.json?q=x", (bearer(token),))
    start = int(clock.now())
    first = provider.handle(v2)
    assert first.headers["x-rate-limit-limit"] == "2"
    assert first.headers["x-rate-limit-remaining"] == "1"
    assert first.headers["x-rate-limit-reset"] == str(start + 900)
    provider.handle(v2)
    over = provider.handle(v2)
    assert over.status == 429
    assert over.body == (
        b'{"title":"Too Many Requests","detail":"Too Many Requests",'
        b'"type":"about:blank","status":429}'
    )
    assert over.headers["x-rate-limit-remaining"] == "0"
    assert provider.handle(v1).status == 200
    over_v1 = provider.handle(v1)
    assert over_v1.status == 429
    assert over_v1.body == b'{"errors":[{"code":88,"message":"Rate limit exceeded"}]}'
    clock.advance(900)
    assert provider.handle(v2).status == 200
    assert provider.stats()["clients"]["demo-key"]["api_429"] == 2


def test_threads_asking_at_once_share_one_token(make_provider: MakeProvider) -> None:
    from concurrent.futures import ThreadPoolExecutor

    provider = make_provider("twitter", toml="[provider]\nlimits_enabled = false\n")
    with ThreadPoolExecutor(max_workers=8) as pool:
        tokens = set(
            pool.map(
                lambda _: provider.handle(twitter_token_request()).json()["access_token"], range(64)
            )
        )
    assert len(tokens) == 1
    assert provider.stats()["bearer_tokens"] == 1


def test_no_bearer_at_all_gets_v2_problem_json_and_v1_code_89(
    make_provider: MakeProvider,
) -> None:
    provider = make_provider("twitter")
    v2 = provider.handle(HttpRequest("GET", "/2/tweets/search/recent?query=quota"))
    assert v2.status == 401
    assert v2.body == (
        b'{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}'
    )
    v1 = provider.handle(HttpRequest("GET", "/1.1/search/tweets.json?q=quota"))
    assert v1.status == 401
    assert v1.body == b'{"errors":[{"code":89,"message":"Invalid or expired token."}]}'
    unknown = provider.handle(
        HttpRequest("GET", "/2/tweets/search/recent?query=quota", (bearer("AAAAnope"),))
    )
    assert unknown.body == b'{"errors":[{"code":89,"message":"Invalid or expired token."}]}'
    assert provider.stats()["clients"]["anonymous"]["api_401"] == 3

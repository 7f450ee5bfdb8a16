"""The IETF RateLimit fields, sent by any rule that asks, and read by the strategies."""

from __future__ import annotations

from typing import Any

import pytest

from quotalab.clock import VirtualClock
from quotalab.strategies.answers import server_wait_s
from quotalab.wire import HttpResponse
from server.builders import auth0_token_request
from server.conftest import MakeProvider
from server.test_server_entra import token_request as entra_token_request


def test_structured_fields_of_the_current_draft(make_provider: MakeProvider) -> None:
    provider = make_provider("auth0", '[limits.oauth_token]\nietf_fields = "structured"\n')
    headers = provider.handle(auth0_token_request()).headers
    assert headers["ratelimit-policy"] == '"oauth_token";q=30;w=1'
    assert headers["ratelimit"] == '"oauth_token";r=29;t=1'
    assert headers["x-ratelimit-limit"] == "30"  # the profile's own headers stay


def test_the_older_trio(make_provider: MakeProvider) -> None:
    provider = make_provider("auth0", '[limits.oauth_token]\nietf_fields = "legacy"\n')
    headers = provider.handle(auth0_token_request()).headers
    assert (headers["ratelimit-limit"], headers["ratelimit-remaining"]) == ("30", "29")
    assert headers["ratelimit-reset"] == "1"


def test_several_rules_make_one_list_each(make_provider: MakeProvider) -> None:
    both = '[limits.loop_detection]\nietf_fields = "structured"\n'
    both += '[limits.token_throttle]\nietf_fields = "structured"\n'
    provider = make_provider("entra", both)
    headers = provider.handle(entra_token_request()).headers
    assert headers["ratelimit-policy"] == '"loop_detection";q=30;w=60, "token_throttle";q=20;w=60'
    assert headers["ratelimit"] == '"loop_detection";r=29;t=60, "token_throttle";r=19;t=60'


@pytest.mark.parametrize(
    ("profile", "request_rule", "rules", "reject", "request_"),
    [
        ("auth0", "oauth_token", '["oauth_token", "quota"]', "global_limit", auth0_token_request),
        (
            "entra",
            "token_throttle",
            '["loop_detection", "token_throttle", "quota"]',
            "throttled_plain",
            entra_token_request,
        ),
    ],
)
def test_a_request_rule_and_an_issue_rule_make_one_list(
    make_provider: MakeProvider,
    profile: str,
    request_rule: str,
    rules: str,
    reject: str,
    request_: Any,
) -> None:
    """The quota checked when a token is issued adds its item to the request-stage
    rule's, never replaces it: a client pacing itself on RateLimit sees the bucket."""
    toml = f'[limits.{request_rule}]\nietf_fields = "structured"\n'
    toml += '[limits.quota]\nalgorithm = "counter_quota"\nlimit = 1000\nperiod = "month"\n'
    toml += f'stage = "issue"\nietf_fields = "structured"\nreject = "{reject}"\n'
    toml += f"[endpoints.token]\nlimits = {rules}\n"
    provider = make_provider(profile, toml)
    answer = provider.handle(request_())
    assert answer.status == 200, answer.body
    policy = [item.split(";")[0] for item in answer.headers["ratelimit-policy"].split(", ")]
    assert policy == [f'"{request_rule}"', '"quota"']
    assert '"quota";r=999;' in answer.headers["ratelimit"]


def test_a_throttled_client_waits_what_the_fields_say(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    provider = make_provider(
        "entra",
        '[limits.token_throttle]\nlimit = 1\nietf_fields = "structured"\nreject = "throttled"\n',
    )
    provider.handle(entra_token_request())
    clock.advance(20)
    throttled = provider.handle(entra_token_request())
    assert throttled.headers["ratelimit"] == '"token_throttle";r=0;t=40'
    # Retry-After (60, Entra's documented figure) takes precedence over RateLimit t=.
    assert server_wait_s(throttled, clock.now()) == 60
    without_retry_after = {k: v for k, v in throttled.headers.items() if k != "retry-after"}
    assert server_wait_s(HttpResponse(429, without_retry_after), clock.now()) == 40


@pytest.mark.parametrize(
    ("headers", "wait_s"),
    [
        ({"ratelimit": '"default";r=0;t=30', "ratelimit-policy": '"default";q=100;w=60'}, 30),
        ({"ratelimit": '"burst";r=5;t=1, "day";r=0;t=3600'}, 3600),  # the spent policy
        ({"ratelimit-limit": "100", "ratelimit-remaining": "0", "ratelimit-reset": "30"}, 30),
        ({"ratelimit-reset": "30", "retry-after": "5"}, 5),
        ({"ratelimit-reset": "-3"}, None),
    ],
)
def test_strategies_read_both_generations(headers: dict[str, str], wait_s: float | None) -> None:
    assert server_wait_s(HttpResponse(429, headers), 1_800_000_000.0) == wait_s

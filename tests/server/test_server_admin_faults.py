"""Stats, reset, injected 503s, latency and clock skew, through the core and ``/_admin``."""

from __future__ import annotations

import json
import math
from typing import Any

import jwt

from quotalab.clock import VirtualClock
from quotalab.counters import MemoryCounters
from quotalab.limits import MemoryStore
from quotalab.profiles import load_config
from quotalab.server import MockProvider
from quotalab.wire import HttpRequest, HttpResponse
from server.builders import auth0_token_request
from server.conftest import MakeProvider


def admin(provider: MockProvider, method: str, path: str, body: Any = None) -> HttpResponse:
    raw = b"" if body is None else json.dumps(body).encode()
    headers = () if body is None else (("content-type", "application/json"),)
    return provider.handle(HttpRequest(method, f"/_admin/{path}", headers, raw))


def test_stats_list_clients_and_limit_keys_and_reset_clears_them(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    provider = make_provider()
    for _ in range(3):
        provider.handle(auth0_token_request())
    provider.handle(auth0_token_request(secret="wrong"))
    stats = admin(provider, "GET", "stats").json()
    assert stats["clients"]["demo-client"] == {
        "token_requests": 4,
        "tokens_issued": 3,
        "token_401": 1,
    }
    bucket = stats["limits"]["oauth_token:quotalab"]
    assert bucket["limit"] == 30
    assert bucket["remaining"] == 26
    assert bucket["reset_at"] > clock.now()
    assert admin(provider, "POST", "reset").status == 200
    after = admin(provider, "GET", "stats").json()
    assert after["clients"] == {}
    assert after["limits"] == {}
    assert provider.handle(auth0_token_request()).headers["x-ratelimit-remaining"] == "29"


def test_admin_rejects_wrong_methods_and_paths(make_provider: MakeProvider) -> None:
    provider = make_provider()
    assert admin(provider, "POST", "stats").status == 405
    assert admin(provider, "GET", "reset").status == 405
    assert admin(provider, "GET", "nothing").status == 404


def test_injected_503_by_schedule_with_retry_after(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    toml = "[faults.token]\nschedule = [[10, 20]]\nretry_after_s = 7\n"
    provider = make_provider(toml=toml)
    assert provider.handle(auth0_token_request()).status == 200
    clock.advance(10)
    down = provider.handle(auth0_token_request())
    assert down.status == 503
    assert down.headers["retry-after"] == "7"
    assert down.body == (
        b'{"statusCode":503,"error":"Service Unavailable","message":"Service Unavailable"}'
    )
    clock.advance(10)
    assert provider.handle(auth0_token_request()).status == 200
    assert provider.stats()["clients"]["demo-client"]["faults_503"] == 1


def test_keys_and_discovery_answer_their_injected_503s(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    """A fault set on the keys or the discovery document fires there as on any endpoint:
    a client's handling of a JWKS outage is tested, not silently passed."""
    provider = make_provider()
    document = {
        "endpoints": {
            "jwks": {"probability": 1.0, "retry_after_s": 7},
            "discovery": {"schedule": [[5, 10]]},
        }
    }
    assert admin(provider, "PUT", "faults", document).status == 200
    keys = provider.handle(HttpRequest("GET", "/.well-known/jwks.json"))
    assert (keys.status, keys.headers["retry-after"]) == (503, "7")
    assert keys.json() == {
        "statusCode": 503,
        "error": "Service Unavailable",
        "message": "Service Unavailable",
    }
    discovery = HttpRequest("GET", "/.well-known/openid-configuration")
    assert provider.handle(discovery).status == 200
    clock.advance(5)
    assert provider.handle(discovery).status == 503
    clock.advance(5)
    assert provider.handle(discovery).status == 200
    assert provider.stats()["clients"]["anonymous"]["faults_503"] == 2


def test_a_clock_offset_changed_at_run_time_leaves_outages_where_they_were(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    """Skew moves tokens' times and resets, not the schedule of an outage."""
    provider = make_provider()
    outage = {"endpoints": {"token": {"schedule": [[0, 600]]}}}
    assert admin(provider, "PUT", "faults", outage).status == 200
    assert provider.handle(auth0_token_request()).status == 503
    assert admin(provider, "PUT", "faults", {"clock_offset_s": -60}).status == 200
    assert provider.handle(auth0_token_request()).status == 503  # still down
    later = {"clock_offset_s": 0, "endpoints": {"token": {"schedule": [[3600, 4000]]}}}
    assert admin(provider, "PUT", "faults", later).status == 200
    assert admin(provider, "PUT", "faults", {"clock_offset_s": 3700}).status == 200
    assert provider.handle(auth0_token_request()).status == 200  # not down before its time
    clock.advance(3600)
    assert provider.handle(auth0_token_request()).status == 503
    assert admin(provider, "POST", "reset").status == 200  # the schedule starts again now
    assert provider.handle(auth0_token_request()).status == 200


def test_a_clock_offset_set_back_at_run_time_leaves_the_limits_working(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    """Skew set back moves the bucket's times with it: no freeze, and a true reset."""
    provider = make_provider()
    assert admin(provider, "PUT", "faults", {"clock_offset_s": 120}).status == 200
    ahead = provider.handle(auth0_token_request())
    assert ahead.headers["x-ratelimit-reset"] == str(math.ceil(clock.now() + 120 + 1 / 30))
    assert admin(provider, "PUT", "faults", {"clock_offset_s": 0}).status == 200
    statuses = [provider.handle(auth0_token_request()).status for _ in range(30)]
    assert statuses == [200] * 29 + [429]
    drained = provider.handle(auth0_token_request())
    assert drained.status == 429
    assert drained.headers["x-ratelimit-reset"] == str(math.ceil(clock.now() + 1))
    clock.advance(1)  # 30 tokens a second: full again
    refilled = provider.handle(auth0_token_request())
    assert refilled.status == 200
    assert refilled.headers["x-ratelimit-remaining"] == "29"
    assert refilled.headers["x-ratelimit-reset"] == str(math.ceil(clock.now() + 1 / 30))


def test_a_negative_clock_offset_at_run_time_leaves_the_limits_working(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    provider = make_provider()
    for _ in range(30):
        assert provider.handle(auth0_token_request()).status == 200
    assert admin(provider, "PUT", "faults", {"clock_offset_s": -60}).status == 200
    drained = provider.handle(auth0_token_request())
    assert drained.status == 429
    assert drained.headers["x-ratelimit-reset"] == str(math.ceil(clock.now() - 60 + 1))
    clock.advance(1)
    assert provider.handle(auth0_token_request()).status == 200


def test_probability_faults_replay_from_the_seed(make_provider: MakeProvider) -> None:
    toml = "[limits.oauth_token]\nburst = 1000\n[faults.token]\nprobability = 0.5\n"
    runs = []
    for _ in range(2):
        provider = make_provider(toml=toml)
        runs.append([provider.handle(auth0_token_request()).status for _ in range(200)])
    assert runs[0] == runs[1]
    assert 40 < runs[0].count(503) < 160
    assert set(runs[0]) == {200, 503}


def test_faults_and_skew_change_at_run_time(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    provider = make_provider()
    document = {
        "clock_offset_s": -3600,
        "endpoints": {"token": {"probability": 0, "latency_ms": 250}},
    }
    put = admin(provider, "PUT", "faults", document)
    assert put.status == 200
    assert put.json()["endpoints"]["token"]["latency_ms"] == 250
    assert admin(provider, "GET", "faults").json()["clock_offset_s"] == -3600
    outcome = provider.respond(auth0_token_request())
    assert outcome.latency_s == 0.25
    claims = jwt.decode(
        outcome.response.json()["access_token"], options={"verify_signature": False}
    )
    assert claims["iat"] == int(clock.now()) - 3600
    assert claims["exp"] == claims["iat"] + 86400


def test_bad_fault_documents_are_400_and_change_nothing(make_provider: MakeProvider) -> None:
    provider = make_provider()
    before = admin(provider, "GET", "faults").json()
    for document in (
        {"endpoints": {"nowhere": {}}},
        {"endpoints": {"token": {"probability": 3}}},
        {"endpoints": {"token": {"schedule": "always"}}},
        {"clock_offset_s": "soon"},
        {"clock_offset_s": 1e12},  # once a 500 ("year out of range") on every later request
        {"endpoints": {"token": {"latency_ms": 600_000}}},  # held each request 10 minutes
        {"endpoints": {"token": {"retry_after_s": 10**12}}},
        {"endpoints": {"token": {"schedule": [[0, 1e300]]}}},
        {"surprise": 1},
        [1, 2],
    ):
        response = admin(provider, "PUT", "faults", document)
        assert response.status == 400
        assert response.json()["error"] == "invalid_request"
    json_header = (("content-type", "application/json"),)
    broken = provider.handle(HttpRequest("PUT", "/_admin/faults", json_header, b"{nope"))
    assert broken.status == 400
    assert admin(provider, "GET", "faults").json() == before


def test_json_integers_too_large_for_a_float_are_400_not_500(
    make_provider: MakeProvider,
) -> None:
    """A 400-digit integer is refused like 1e400, not an OverflowError."""
    provider = make_provider()
    before = admin(provider, "GET", "faults").json()
    huge = 10**400
    response = admin(provider, "PUT", "faults", {"clock_offset_s": huge})
    assert response.status == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "PUT /_admin/faults: clock_offset_s: "
        "a number of seconds from -31,536,000 to 31,536,000",
    }
    for document in (
        {"clock_offset_s": -huge},
        {"endpoints": {"token": {"probability": huge}}},
        {"endpoints": {"token": {"latency_ms": huge}}},
        {"endpoints": {"token": {"retry_after_s": huge}}},
        {"endpoints": {"token": {"schedule": [[0, huge]]}}},
        {"endpoints": {"token": {"schedule": [[-huge, 0]]}}},
    ):
        response = admin(provider, "PUT", "faults", document)
        assert response.status == 400
        assert response.json()["error"] == "invalid_request"
    assert admin(provider, "GET", "faults").json() == before


def test_server_clock_ahead_makes_fresh_tokens_not_yet_valid_elsewhere(
    make_provider: MakeProvider, clock: VirtualClock
) -> None:
    ahead = make_provider(toml="[provider]\nclock_offset_s = 120\ninclude_nbf = true\n")
    token = ahead.handle(auth0_token_request()).json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["nbf"] == claims["iat"] == int(clock.now()) + 120
    on_time = make_provider()  # same signing key, clock not skewed
    api = HttpRequest("GET", "/api/data", (("authorization", f"Bearer {token}"),))
    rejected = on_time.handle(api)
    assert rejected.status == 401
    assert 'error_description="jwt not active"' in rejected.headers["www-authenticate"]
    clock.advance(120 - on_time.settings.validation_leeway_s)
    assert on_time.handle(api).status == 200


class _Shared:
    """A store shared with other threads and workers (as Redis is), kept in memory here."""

    def __init__(self) -> None:
        self._memory = MemoryStore()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._memory, name)


def test_a_shared_store_keeps_the_offset_set_at_start(clock: VirtualClock) -> None:
    """Requests answered on other threads (and workers) while a shared store's times move
    stored times ahead of the new clock: a bucket froze for an hour. The change is a
    400 that says how to set the offset; faults alone still change."""
    config = load_config("auth0", None)
    provider = MockProvider(config, clock, _Shared(), MemoryCounters(), base_url="http://t")
    refused = admin(provider, "PUT", "faults", {"clock_offset_s": -3600})
    assert refused.status == 400
    assert "with a shared store, give the offset with --config" in refused.body.decode()
    assert provider.clock.offset_s == 0
    same = admin(provider, "PUT", "faults", {"clock_offset_s": 0, "endpoints": {}})
    assert same.status == 200

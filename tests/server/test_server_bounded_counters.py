"""Per-client counters stay bounded however many client ids requests invent."""

from __future__ import annotations

import base64
import gc
import json
import threading
import tracemalloc

import httpx
import pytest

from quotalab.counters import (
    ANONYMOUS_CLIENTS,
    OTHER_CLIENTS,
    UNKNOWN_CLIENTS,
    Counters,
    MemoryCounters,
    RedisCounters,
)
from quotalab.profiles import BUILTIN_PROFILES
from quotalab.server import MockProvider
from quotalab.server.asgi import create_app
from quotalab.wire import HttpRequest
from server.conftest import FakeMonotonic, MakeProvider

JSON = ("content-type", "application/json")


def _token_request(client_id: str) -> HttpRequest:
    body = json.dumps({"grant_type": "client_credentials", "client_id": client_id})
    return HttpRequest("POST", "/oauth/token", (JSON,), body.encode())


def _basic(user: str, password: str = "x") -> tuple[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return ("authorization", f"Basic {raw}")


def _metrics_series(provider: MockProvider) -> list[str]:
    text = create_app(provider).metrics.render().decode()
    return [line for line in text.splitlines() if line.startswith("quotalab_client_events")]


def test_huge_invented_ids_cost_no_memory_and_keep_metrics_small(
    make_provider: MakeProvider,
) -> None:
    provider = make_provider("auth0", "[provider]\nlimits_enabled = false\n")
    provider.handle(_token_request("demo-client"))
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        for n in range(200):
            huge = f"{n}-" + "x" * 60_000
            provider.handle(_token_request(huge))
            form = (("content-type", "application/x-www-form-urlencoded"), _basic(huge))
            provider.handle(HttpRequest("POST", "/oauth/token", form, b"grant_type=x"))
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert grown < 1_000_000, grown  # 400 ids of 60,000 characters held would be 24 MB
    clients = provider.stats()["clients"]
    assert clients[UNKNOWN_CLIENTS]["token_requests"] == 400
    assert set(clients) == {"demo-client", UNKNOWN_CLIENTS}
    assert len(create_app(provider).metrics.render()) < 10_000


def test_junk_credentials_never_push_the_real_app_out_of_stats_limits_or_metrics(
    make_provider: MakeProvider,
) -> None:
    provider = make_provider("twitter")
    form = ("content-type", "application/x-www-form-urlencoded")
    body = b"grant_type=client_credentials"
    for n in range(10_400):
        provider.handle(HttpRequest("POST", "/oauth2/token", (form, _basic(f"junk{n}")), body))
    app_id, app = next(iter(provider.config.clients.items()))
    real = provider.handle(
        HttpRequest("POST", "/oauth2/token", (form, _basic(app_id, app.secret)), body)
    )
    assert real.status == 200
    stats = provider.stats()
    assert stats["clients"][app_id] == {"token_requests": 1, "tokens_issued": 1}
    assert stats["clients"][UNKNOWN_CLIENTS]["token_requests"] == 10_400
    assert set(stats["clients"]) == {app_id, UNKNOWN_CLIENTS}
    assert any(app_id in key for key in stats["limits"])
    assert len(stats["limits"]) <= 4
    series = _metrics_series(provider)
    assert any(f'client="{app_id}"' in line for line in series)
    assert len(series) <= 6


def test_counters_hold_at_most_the_cap_one_by_one_then_other(
    make_provider: MakeProvider,
) -> None:
    provider = make_provider()
    for n in range(12_000):
        provider.counters.incr(f"configured-{n}", "token_requests")
    clients = provider.stats()["clients"]
    assert len(clients) == 10_001  # 10,000 tracked one by one, then "other"
    assert clients[OTHER_CLIENTS]["token_requests"] == 2_000
    assert len(_metrics_series(provider)) <= 10_001


def test_an_idle_id_gives_its_place_up_and_its_counts_join_other() -> None:
    monotonic = FakeMonotonic()
    counters = MemoryCounters(max_tracked_clients=2, idle_ttl_s=60.0, monotonic=monotonic)
    counters.incr("a", "token_requests", 3)
    counters.incr("b", "token_requests")
    counters.incr("c", "token_requests")  # no room, nobody idle: other
    assert counters.snapshot() == {
        "a": {"token_requests": 3},
        "b": {"token_requests": 1},
        OTHER_CLIENTS: {"token_requests": 1},
    }
    monotonic.now_s = 30.0
    counters.incr("b", "token_requests")  # b is busy, a is the idlest
    monotonic.now_s = 61.0
    counters.incr("d", "token_requests")  # a idle for 61 s: d takes its place
    assert counters.snapshot() == {
        "b": {"token_requests": 2},
        "d": {"token_requests": 1},
        OTHER_CLIENTS: {"token_requests": 4},
    }


def _shared_rows_take_no_place(counters: Counters) -> None:
    """With one place, junk ids (unknown), requests without an id (anonymous) and counts
    of other ids count in their rows and the one real client still gets the place; the
    next real one: other."""
    counters.incr(UNKNOWN_CLIENTS, "token_requests")
    counters.incr(ANONYMOUS_CLIENTS, "token_requests")
    counters.incr(OTHER_CLIENTS, "token_requests")  # counts kept through an outage, say
    counters.incr_pair("demo-client", "token_requests", "tokens_issued")
    counters.incr("second-client", "token_requests")
    assert counters.snapshot() == {
        UNKNOWN_CLIENTS: {"token_requests": 1},
        ANONYMOUS_CLIENTS: {"token_requests": 1},
        "demo-client": {"token_requests": 1, "tokens_issued": 1},
        OTHER_CLIENTS: {"token_requests": 2},
    }


def test_unknown_and_anonymous_never_take_a_real_clients_place() -> None:
    _shared_rows_take_no_place(MemoryCounters(max_tracked_clients=1))


def test_an_idle_real_client_gives_its_place_up_past_the_shared_rows() -> None:
    monotonic = FakeMonotonic()
    counters = MemoryCounters(max_tracked_clients=1, idle_ttl_s=60.0, monotonic=monotonic)
    counters.incr(UNKNOWN_CLIENTS, "token_requests")  # the oldest row: not one id's
    counters.incr("a", "token_requests")
    monotonic.now_s = 61.0
    counters.incr("b", "token_requests")  # a idle: b takes its place, unknown stays
    assert counters.snapshot() == {
        UNKNOWN_CLIENTS: {"token_requests": 1},
        "b": {"token_requests": 1},
        OTHER_CLIENTS: {"token_requests": 1},
    }


@pytest.mark.redis
def test_unknown_and_anonymous_never_take_a_real_clients_place_in_redis() -> None:
    from quotalab.limits.redis_store import connect
    from tests.limits.redis_fixtures import fresh_namespace, open_test_redis, redis_url

    open_test_redis(fresh_namespace()).close()  # skips locally / fails in CI without Redis
    counters = RedisCounters(
        connect(redis_url()), namespace=fresh_namespace(), max_tracked_clients=1
    )
    try:
        _shared_rows_take_no_place(counters)
    finally:
        counters.reset()
        counters.close()


def test_reset_gives_the_memory_of_many_ids_back(make_provider: MakeProvider) -> None:
    provider = make_provider()
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        for n in range(20_000):
            provider.counters.incr(f"configured-{n}", "token_requests")
        grown = tracemalloc.get_traced_memory()[0] - baseline
        provider.reset()
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert grown > 2_000_000  # the test measures something
    assert kept < grown / 20, (grown, kept)


@pytest.mark.redis
def test_redis_counters_are_bounded_and_every_key_expires() -> None:
    from quotalab.limits.redis_store import connect
    from tests.limits.redis_fixtures import fresh_namespace, open_test_redis, redis_url

    open_test_redis(fresh_namespace()).close()  # skips locally / fails in CI without Redis
    client = connect(redis_url())
    namespace = fresh_namespace()
    counters = RedisCounters(client, namespace=namespace, max_tracked_clients=3)
    try:
        for n in range(10):
            counters.incr(f"client-{n}", "token_requests")
        snapshot = counters.snapshot()
        assert len(snapshot) == 4
        assert snapshot[OTHER_CLIENTS] == {"token_requests": 7}
        names = list(client.scan_iter(match=namespace + "*"))
        assert len(names) == 5  # the id set, three hashes and other
        assert all(0 < client.pttl(name) <= 86_400_000 for name in names)
    finally:
        counters.reset()
        counters.close()


@pytest.mark.anyio
async def test_metrics_are_built_off_the_event_loop(
    make_provider: MakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(make_provider())
    built_on: list[int] = []
    render = app.metrics.render

    def recording_render() -> bytes:
        built_on.append(threading.get_ident())
        return render()

    monkeypatch.setattr(app.metrics, "render", recording_render)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert built_on and built_on[0] != threading.get_ident()  # a scrape never holds up tokens


@pytest.mark.parametrize("profile", BUILTIN_PROFILES)
def test_every_profile_counts_ids_it_does_not_configure_as_unknown(
    make_provider: MakeProvider, profile: str
) -> None:
    provider = make_provider(profile)
    token = next(e for e in provider.config.endpoints if e.kind.endswith("_token"))
    form = ("content-type", "application/x-www-form-urlencoded")
    for n in range(50):
        body = f"grant_type=client_credentials&client_id=invented-{n}&client_secret=x"
        provider.handle(HttpRequest("POST", token.path, (form,), body.encode()))
        provider.handle(HttpRequest("POST", token.path, (form, _basic(f"basic-{n}")), b""))
    clients = provider.stats()["clients"]
    assert UNKNOWN_CLIENTS in clients
    assert set(clients) <= {UNKNOWN_CLIENTS, "anonymous"}  # Twitter reads Basic only
    assert sum(c["token_requests"] for c in clients.values()) == 100

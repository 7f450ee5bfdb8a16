"""The 429 path's shortcuts: the limiter's texts, the refusal's counts, and their bounds.

``Limiter.check`` keeps its texts by the numbers they say, computed inline;
``MockProvider`` counts a token request together with the limit's outcome
(in-process counters only). Each shortcut is checked against the plain rule.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quotalab.clock import VirtualClock
from quotalab.counters import MemoryCounters
from quotalab.errors import StoreUnavailable
from quotalab.limits import Decision, MemoryStore, TokenBucket
from quotalab.limits.algorithms import Algorithm
from quotalab.profiles import load_config
from quotalab.profiles.profile_model import EndpointSpec, LimitRule
from quotalab.server import MockProvider, throttle
from quotalab.server.templates import TextTemplate
from quotalab.server.throttle import Limiter, template_values
from server.builders import auth0_token_request
from server.conftest import MakeProvider, shared_keys

ENDPOINT = EndpointSpec("token", "POST", "/oauth/token", "auth0_token", ("per_client",))
TEXTS = (
    ("x-limit", "${limit}"),
    ("x-remaining", "${remaining}"),
    ("x-reset", "${reset_at}"),
    ("x-reset-in", "${reset_in}"),
    ("retry-after", "${retry_after}"),
)
RULE = LimitRule(
    "per_client", TokenBucket(10, 1.0), ("client",), "request", True, TEXTS, "global_limit"
)


class ScriptedStore:
    """A store whose next decision the test sets: every number a limiter may be handed."""

    def __init__(self) -> None:
        self.decision = Decision(True, 1, 0, 0.0, 0.0)

    def apply(self, algorithm: Algorithm, key: str, now: float, cost: int = 1) -> Decision:
        return self.decision

    def peek(self, algorithm: Algorithm, key: str, now: float) -> Decision:
        return self.decision

    def reset(self) -> None:
        pass

    def __len__(self) -> int:
        return 0


def _filled(values: dict[str, str]) -> dict[str, str]:
    return {header: TextTemplate(text).fill(values) for header, text in TEXTS}


_instants = st.builds(
    lambda whole, eighths: whole + eighths / 8,
    st.integers(1_700_000_000, 1_700_000_100),
    st.integers(0, 7),
)
_offsets = st.one_of(
    st.integers(-3, 4000).map(float),  # whole seconds: ceil's edge
    st.floats(-3.0, 4000.0, allow_nan=False),
    st.sampled_from([-1e-9, 0.0, 1e-9, 1 - 1e-12, 1 + 1e-12]),
)
_decisions = st.tuples(st.booleans(), st.integers(1, 500), st.integers(0, 500), _offsets, _offsets)


@given(now=_instants, played=st.lists(_decisions, min_size=1, max_size=12))
def test_every_text_says_what_template_values_says(
    now: float, played: list[tuple[bool, int, int, float, float]]
) -> None:
    """One limiter (its memo shared) hands out texts equal to the plain rule's, each time."""
    store = ScriptedStore()
    limiter = Limiter({"per_client": RULE}, store, "tenant")
    for allowed, limit, remaining, reset_in_s, retry_s in played:
        decision = Decision(allowed, limit, remaining, now + reset_in_s, max(0.0, retry_s))
        store.decision = decision
        verdict = limiter.check(ENDPOINT, "request", "client-a", now)
        expected = template_values(RULE, decision, now)
        assert verdict.allowed is allowed
        assert dict(verdict.headers) == _filled(expected)
        if not allowed:
            assert verdict.rule is RULE
            assert verdict.values == expected


def test_equal_numbers_share_one_verdict_and_others_do_not() -> None:
    store = ScriptedStore()
    limiter = Limiter({"per_client": RULE}, store, "tenant")
    now = 1_700_000_000.25
    store.decision = Decision(False, 10, 0, now + 4.5, 2.2)
    first = limiter.check(ENDPOINT, "request", "client-a", now)
    store.decision = Decision(False, 10, 0, now + 4.6, 2.9)  # the same whole seconds
    assert limiter.check(ENDPOINT, "request", "client-b", now) is first
    store.decision = Decision(False, 10, 0, now + 4.6, 3.1)  # one more second to wait
    later = limiter.check(ENDPOINT, "request", "client-a", now)
    assert later is not first
    assert later.headers["retry-after"] == "4"


def test_what_check_remembers_per_client_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(throttle, "MAX_TRACKED_KEYS", 50)
    store = MemoryStore()
    limiter = Limiter({"per_client": RULE}, store, "tenant")
    for n in range(500):
        assert limiter.check(ENDPOINT, "request", f"client-{n}", 1_700_000_000.0).allowed
        assert len(limiter._lanes) <= 50
    # Still one bucket per client: forgetting a lane never forgets its state.
    for _ in range(9):
        limiter.check(ENDPOINT, "request", "client-0", 1_700_000_000.0)
    assert not limiter.check(ENDPOINT, "request", "client-0", 1_700_000_000.0).allowed
    assert limiter.check(ENDPOINT, "request", "client-1", 1_700_000_000.0).allowed


def test_a_later_rule_is_listed_once_check_reaches_it() -> None:
    """Stats list a limit key once a request was decided by it: a rule after a
    refusing one is not reached, so its key for that client is not listed yet."""
    tenant = LimitRule(
        "tenant", TokenBucket(1, 0.5), ("tenant",), "request", True, (), "global_limit"
    )
    endpoint = EndpointSpec(
        "token", "POST", "/oauth/token", "auth0_token", ("tenant", "per_client")
    )
    limiter = Limiter({"tenant": tenant, "per_client": RULE}, MemoryStore(), "acme")
    now = 1_700_000_000.0
    assert limiter.check(endpoint, "request", "client-a", now).allowed
    assert sorted(limiter.snapshot(now)) == ["per_client:client-a", "tenant:acme"]
    assert not limiter.check(endpoint, "request", "client-b", now).allowed
    assert sorted(limiter.snapshot(now)) == ["per_client:client-a", "tenant:acme"]
    assert limiter.check(endpoint, "request", "client-b", now + 2.0).allowed
    assert sorted(limiter.snapshot(now + 2.0)) == [
        "per_client:client-a",
        "per_client:client-b",
        "tenant:acme",
    ]


def test_after_a_reset_every_limit_key_is_listed_again(make_provider: MakeProvider) -> None:
    provider = make_provider()
    provider.handle(auth0_token_request())
    provider.reset()
    assert provider.stats()["limits"] == {}
    provider.handle(auth0_token_request())
    assert provider.stats()["limits"]["oauth_token:quotalab"]["remaining"] == 29


# -- counts ------------------------------------------------------------------

ONE_TOKEN = "[limits.oauth_token]\nburst = 1\nrefill_rate = 0.000001\n"


class FailingStore(MemoryStore):
    """A limiter store that is down: every decision raises ``StoreUnavailable``."""

    def apply(self, algorithm: Algorithm, key: str, now: float, cost: int = 1) -> Decision:
        raise StoreUnavailable("lost the store")


class SwitchedCounters:
    """Counters that can be down, as Redis counters are when Redis is (not in-process)."""

    def __init__(self) -> None:
        self.inner = MemoryCounters()
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise StoreUnavailable("lost the counters")

    def incr(self, client_id: str, name: str, amount: int = 1) -> None:
        self._check()
        self.inner.incr(client_id, name, amount)

    def incr_pair(self, client_id: str, first: str, second: str) -> None:
        self._check()
        self.inner.incr_pair(client_id, first, second)

    def snapshot(self) -> dict[str, dict[str, int]]:
        return self.inner.snapshot()

    def reset(self) -> None:
        self.inner.reset()


def _provider(clock: VirtualClock, store: MemoryStore, counters: object) -> MockProvider:
    config = load_config("auth0")
    return MockProvider(
        config,
        clock,
        store,
        counters,  # type: ignore[arg-type]
        keys=shared_keys(config.settings.token_signing),
    )


def test_refusals_count_the_request_and_the_refusal_exactly(
    make_provider: MakeProvider,
) -> None:
    provider = make_provider(toml=ONE_TOKEN)
    statuses = [provider.handle(auth0_token_request()).status for _ in range(25)]
    statuses += [provider.handle(auth0_token_request(secret="wrong")).status for _ in range(5)]
    assert statuses == [200] + [429] * 29
    assert provider.stats()["clients"]["demo-client"] == {
        "token_requests": 30,
        "tokens_issued": 1,
        "throttled_429": 29,
    }


def test_a_store_that_cannot_decide_still_counts_every_token_request(
    clock: VirtualClock,
) -> None:
    provider = _provider(clock, FailingStore(), MemoryCounters())
    answers = [provider.handle(auth0_token_request()) for _ in range(3)]
    assert {a.status for a in answers} == {503}
    assert provider.stats()["clients"]["demo-client"] == {"token_requests": 3}


class NetworkStore:
    """A store that is not in-process (as Redis is): what the counters say as it decides."""

    def __init__(self, counters: MemoryCounters) -> None:
        self.inner = MemoryStore()
        self.counters = counters
        self.seen: list[dict[str, dict[str, int]]] = []

    def apply(self, algorithm: Algorithm, key: str, now: float, cost: int = 1) -> Decision:
        self.seen.append(self.counters.snapshot())
        return self.inner.apply(algorithm, key, now, cost)

    def peek(self, algorithm: Algorithm, key: str, now: float) -> Decision:
        return self.inner.peek(algorithm, key, now)

    def reset(self) -> None:
        self.inner.reset()

    def __len__(self) -> int:
        return len(self.inner)


def test_a_network_store_finds_the_request_counted_before_it_decides(
    clock: VirtualClock,
) -> None:
    """A slow store's 503 (the hand-off's deadline) must find the request counted."""
    counters = MemoryCounters()
    store = NetworkStore(counters)
    provider = _provider(clock, store, counters)  # type: ignore[arg-type]
    assert provider.handle(auth0_token_request()).status == 200
    assert store.seen[0] == {"demo-client": {"token_requests": 1}}


def test_counters_that_are_down_get_a_503_that_spends_no_quota(clock: VirtualClock) -> None:
    counters = SwitchedCounters()
    store = MemoryStore()
    provider = _provider(clock, store, counters)
    bucket = provider.config.limits["oauth_token"].algorithm
    assert isinstance(bucket, TokenBucket)
    burst = bucket.burst
    counters.down = True
    assert [provider.handle(auth0_token_request()).status for _ in range(burst + 5)] == [503] * (
        burst + 5
    )
    counters.down = False
    statuses = [provider.handle(auth0_token_request()).status for _ in range(burst + 1)]
    assert statuses == [200] * burst + [429]


def test_an_injected_503_counts_the_request_and_the_fault(make_provider: MakeProvider) -> None:
    provider = make_provider(toml=ONE_TOKEN + "[faults.token]\nschedule = [[0, 60]]\n")
    assert [provider.handle(auth0_token_request()).status for _ in range(4)] == [503] * 4
    assert provider.stats()["clients"]["demo-client"] == {"token_requests": 4, "faults_503": 4}

"""Skipping whole periods of a steady state that repeats, exactly.

Under ``constant`` traffic every worker calls at ``first + k * gap``, so the
engine's input repeats every ``P`` seconds, the smallest whole number of
seconds holding a whole number of every worker's gaps. A naive client then
settles into a cycle: the same requests, the same limiter decisions, period
after period. When, at two instants ``P`` apart, everything that decides
what happens next is equal once expressed relative to the instant
(``snapshot``, and ``call_state`` for calls in flight), every later period
replays the one just played, ``P`` seconds later. The engine then adds that
period's counts ``m`` times and moves the state ``m * P`` later
(``advance``) instead of playing it.

Why the shifted replay is exact, float for float:

- every time in the run stays in one binade, so times sit on one grid
  (``math.ulp(start)``, 2**-22 s at the default epoch); gaps are whole grid
  steps, so each arrival time, and each difference of times, is exact, and
  ``t + c`` rounds the same way for every ``t`` on the grid (``P`` is an even
  number of steps, so even ties to even agree);
- the code reads time as differences, as ``int``/``ceil`` of seconds (``P`` is
  a whole number of seconds), or as calendar periods of counter quotas: a
  skip never reaches a period boundary of any counter quota rule;
- what is compared covers every input of later decisions: pending arrivals,
  every live limiter key (continuous token buckets and first-hit windows
  relative to the instant, counter quotas by calendar period, all read on
  the provider's skewed clock), strategies (only ``ClientStrategy`` without
  a token cache: its random generator's state), calls in flight (only those
  that neither cache, retry nor refetch: what they exchanged), the
  provider's random generator, bearer tokens and clock skew; any fault,
  cached token, remembered quiet call or other strategy means no snapshot;
- a token in flight, minted before the skip and sent after it, is still
  accepted: the skip stays short of its expiry.

Counts that only grow (tallies, latencies, provider counters) are compared
as differences over the period and added ``m`` times; series buckets get
each recorded event at ``t + j * P``. ``tests/sim/test_cycles.py`` checks the
whole result against event-by-event play.
"""

from __future__ import annotations

import json
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from quotalab.limits import CounterQuota, FixedWindow, MemoryStore, TokenBucket
from quotalab.limits.decision import State
from quotalab.profiles.profile_model import LimitRule
from quotalab.server.mock_provider import MockProvider
from quotalab.sim.engine_types import CacheGroup, Exchange
from quotalab.sim.fastforward import ProviderOracle, accepted_until
from quotalab.strategies.answers import classify
from quotalab.strategies.client import ClientStrategy
from quotalab.strategies.messages import Strategy
from quotalab.wire import TransportError


def relative_state(rule: LimitRule | None, state: State, now: float) -> Hashable | None:
    """A key's state as seen from ``now``, or None when it is tied to absolute time.

    A counter quota below its limit that sends no headers only ever says
    "allowed", whatever its count: the count is left out (it grows, and
    ``ProviderCycles.periods_left`` keeps a skip below the limit).
    """
    algorithm = None if rule is None else rule.algorithm
    if isinstance(algorithm, TokenBucket):
        if algorithm.refill != "continuous":
            return None  # refills at epoch-aligned boundaries
        return (state[0], state[1] - now)
    if isinstance(algorithm, FixedWindow):
        if algorithm.align != "first_hit":
            return None
        return (state[0] - now, state[1])
    if isinstance(algorithm, CounterQuota):
        assert rule is not None
        # Calendar periods: a skip stays inside one, and a count kept from a
        # period that has ended is not the same state as the same count in it.
        current = algorithm.bounds(now)[0] == state[0]
        if state[1] < algorithm.limit and not rule.headers:
            return (state[0], current, "below the limit")
        return (state[0], current, state[1])
    return None


def shifted_state(rule: LimitRule | None, state: State, shift_s: float, grown: float) -> State:
    """The state of a key that saw the same requests ``shift_s`` seconds later.

    ``grown``: what a counter quota's count gains over the skipped periods.
    """
    algorithm = None if rule is None else rule.algorithm
    if isinstance(algorithm, TokenBucket):
        return (state[0], state[1] + shift_s)
    if isinstance(algorithm, FixedWindow):
        return (state[0] + shift_s, state[1])
    if isinstance(algorithm, CounterQuota):
        return (state[0], state[1] + grown)
    return state


def _rule_name(key: str) -> str:
    return key.split(":", 1)[0]  # store keys are "<rule>:<key parts>" (Limiter)


def _count_grown(was: tuple[State, float] | None, state: State) -> float:
    """What a counter quota's count gained since its baseline ``(state, expires_at)``."""
    return state[1] - (was[0][1] if was is not None else 0.0)


@dataclass(frozen=True, slots=True)
class _Baseline:
    """Provider counts and every store key's ``(state, expires_at)`` at a period's start."""

    counts: dict[str, dict[str, int]]
    keys: dict[tuple[str, str], tuple[State, float]]


class ProviderCycles:
    """The provider, its store and counters, and the strategies: the engine's ``CycleProbe``."""

    def __init__(
        self,
        provider: MockProvider,
        groups: Sequence[CacheGroup],
        oracle: ProviderOracle | None = None,
    ) -> None:
        self.provider = provider
        self.groups = list(dict.fromkeys(groups))  # one entry per shared strategy
        self.oracle = oracle
        self.rules = dict(provider.limiter.rules)
        # Seconds, from the last snapshot, until an unused token in flight would
        # be refused: a skip must not age it past that.
        self._token_slack_s = math.inf
        self.quotas = [
            r.algorithm for r in self.rules.values() if isinstance(r.algorithm, CounterQuota)
        ]

    def _store(self) -> MemoryStore | None:
        store = self.provider.limiter.store
        return store if isinstance(store, MemoryStore) else None

    def snapshot(self, now: float) -> Hashable | None:
        """Everything that decides what happens after ``now``, relative to ``now``.

        ``now`` is engine time; the store holds provider time (shifted by the
        configured clock skew), so keys are read at the provider's ``now``.
        """
        self._token_slack_s = math.inf
        strategies = []
        for group in self.groups:
            strategy = group.strategy
            if type(strategy) is not ClientStrategy or strategy.token.cache:
                return None
            strategies.append(strategy.rng.getstate())
        if self.oracle is not None and self.oracle.last_quiet:
            return None
        provider = self.provider
        for endpoint in provider.endpoints:
            fault = provider.faults.get(endpoint)
            if fault.probability or fault.schedule or fault.latency_ms:
                return None
        store = self._store()
        if store is None:
            return None
        keys = []
        at = provider.clock.at(now)
        for prefix, key, state, expires_at in store.entries():
            if expires_at <= at:
                continue  # decides like a fresh key (MemoryStore.apply)
            relative = relative_state(self.rules.get(_rule_name(key)), state, at)
            if relative is None:
                return None
            keys.append((prefix, key, relative))
        keys.sort()
        return (
            tuple(strategies),
            tuple(keys),
            provider.rng.getstate(),
            tuple(sorted(provider.app_tokens.items())),
            tuple(sorted(provider.revoked_tokens.items())),
            provider.clock.offset_s,
        )

    def call_state(
        self, strategy: Strategy, history: Sequence[Exchange], resumes_at: float, now: float
    ) -> Hashable | None:
        """What an in-flight call exchanged, relative to ``now``, if that is all its future needs.

        Only for a ``ClientStrategy`` that caches nothing and neither retries nor
        refetches (``naive``): it sends the token it got once, then ends with the
        API's answer, so its future depends on the status, body and verdict of
        each answer, not on headers' absolute times or on the token's bytes. A
        token fetched and not yet used is still accepted after the skip, since
        ``periods_left`` keeps the skip short of its expiry.
        """
        if type(strategy) is not ClientStrategy:
            return None
        token, retry = strategy.token, strategy.retry
        if token.cache or token.refetch_on_invalid or retry.max_attempts != 1:
            return None
        described: list[Hashable] = []
        for i, (purpose, sent_at, answer) in enumerate(history):
            if isinstance(answer, TransportError):
                described.append((purpose, sent_at - now, "transport", answer.reason))
                continue
            if purpose == "token" and 200 <= answer.status < 300:
                try:
                    fields = json.loads(answer.body)
                    access_token = fields.pop("access_token")
                except (ValueError, KeyError, TypeError, AttributeError):
                    return None
                if not isinstance(access_token, str):
                    return None
                if i == len(history) - 1:  # to be sent when the call resumes
                    until = accepted_until(self.provider, access_token)
                    if until == -math.inf:
                        return None  # a token the provider cannot read: no bound known
                    self._token_slack_s = min(self._token_slack_s, until - resumes_at)
                body = json.dumps(fields, sort_keys=True)
                described.append((purpose, sent_at - now, answer.status, body))
                continue
            outcome = classify(answer, now, api=purpose == "api").outcome
            described.append((purpose, sent_at - now, answer.status, answer.body, outcome))
        return tuple(described)

    def baseline(self) -> object:
        """What ``advance`` compares against: counters, and every key's state and expiry."""
        store = self._store()
        assert store is not None
        keys = {(prefix, key): (state, expires) for prefix, key, state, expires in store.entries()}
        return _Baseline(self.provider.counters.snapshot(), keys)

    def periods_left(self, baseline: object, now: float, period_s: float) -> int:
        """How many periods like the one since ``baseline`` may be skipped from ``now``.

        None may reach the end of a counter quota's calendar period, nor bring
        a count that grows to its limit.
        """
        at = self.provider.clock.at(now)  # quota periods are in provider time
        boundary = min((quota.bounds(at)[1] for quota in self.quotas), default=math.inf)
        left = math.inf if boundary == math.inf else math.floor((boundary - at) / period_s) - 1
        store = self._store()
        assert store is not None
        assert isinstance(baseline, _Baseline)
        before = baseline.keys
        for _, key, state, _ in store.entries():
            rule = self.rules.get(_rule_name(key))
            if rule is None or not isinstance(rule.algorithm, CounterQuota):
                continue
            grown = _count_grown(before.get((rule.algorithm.key_prefix, key)), state)
            if grown > 0:
                left = min(left, math.floor((rule.algorithm.limit - state[1]) / grown))
        if self._token_slack_s < math.inf:
            # One period and a second of margin for the time of use.
            left = min(left, math.floor((self._token_slack_s - 1.0) / period_s) - 1)
        return int(left) if left != math.inf else 2**62

    def advance(self, baseline: object, periods: int, period_s: float) -> None:
        """Count ``periods`` more repeats of the period since ``baseline`` and move state on."""
        assert isinstance(baseline, _Baseline)
        counts, before = baseline.counts, baseline.keys
        counters = self.provider.counters
        for client, names in counters.snapshot().items():
            was = counts.get(client, {})
            for name, value in names.items():
                if value != was.get(name, 0):
                    counters.incr(client, name, (value - was.get(name, 0)) * periods)
        shift_s = periods * period_s
        rules = self.rules

        def move(prefix: str, key: str, state: State, expires_at: float) -> tuple[State, float]:
            was = before.get((prefix, key))
            if was is not None and was[1] == expires_at:
                return state, expires_at  # untouched during the period: stays as it is
            rule = rules.get(_rule_name(key))
            grown = 0.0
            if rule is not None and isinstance(rule.algorithm, CounterQuota):
                grown = _count_grown(was, state) * periods
            return shifted_state(rule, state, shift_s, grown), expires_at + shift_s

        store = self._store()
        assert store is not None
        store.rewrite(move, shift_s)

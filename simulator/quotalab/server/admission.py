"""Whether a request gets through: injected faults, limits, their counts and refusals.

``Admission`` is a base class of ``MockProvider``, not an object it calls:
``limit`` runs for every request, so it stays one method call on the provider
(no call is added on the 429 path). Refusals the limiter shares are rendered
once and shared too (``render_shared``), with their ``ProviderReply``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from quotalab.clock import OffsetClock
from quotalab.counters import Counters, MemoryCounters
from quotalab.errors import StoreUnavailable
from quotalab.limits import MemoryStore, Store
from quotalab.profiles.profile_model import EndpointSpec, Stage
from quotalab.server.faults import FaultPlan
from quotalab.server.request_ids import GENERATED, generated_values
from quotalab.server.templates import CompiledResponse
from quotalab.server.throttle import Limiter, ThrottleVerdict
from quotalab.wire import HttpResponse

SHARED_ANSWERS_MAX = 4096
"""Shared refusals (and verdicts' answers) remembered before the memory starts again."""


@dataclass(frozen=True, slots=True)
class ProviderReply:
    """A response and the latency the adapter should add before sending it."""

    response: HttpResponse
    latency_s: float = 0.0


def refusal_counter(status: int, counter: str) -> str:
    """The counter a limit's refusal with ``status`` adds: ``counter`` for a 429,
    ``forbidden_403_99`` for a 403, ``throttled_4xx`` for any other status."""
    if status == 403:
        return "forbidden_403_99"
    return counter if status == 429 else "throttled_4xx"


class Admission:
    """Faults, limits and the counts and answers of their refusals, for ``MockProvider``."""

    clock: OffsetClock  # the provider's, skewed; set by ``MockProvider``

    def __init__(
        self,
        counters: Counters,
        store: Store,
        responses: dict[str, CompiledResponse],
        limiter: Limiter,
        faults: FaultPlan,
        rng: random.Random,
    ) -> None:
        self.counters = counters
        self.responses = responses
        self.limiter = limiter
        self.faults = faults
        self.rng = rng  # per-answer ids (seeded)
        self._rejections: dict[
            tuple[str, int, int], tuple[Mapping[str, str], Mapping[str, str], HttpResponse]
        ] = {}
        self._replies: dict[int, ProviderReply] = {}  # id(shared response) -> its reply
        self._verdict_answers: dict[int, tuple[ThrottleVerdict, HttpResponse]] = {}
        self._per_answer = {n for n, r in responses.items() if r.names & GENERATED}
        # In-process counters never fail, and an in-process store answers at once, so a
        # token request may be counted after the limiter decides, together with its
        # refusal. Counters that may fail (Redis) count it first: while they are down,
        # a 503 must not spend quota. So does a network store, whose 503 after the
        # hand-off's deadline must find the request counted.
        self._count_with_limit = isinstance(counters, MemoryCounters) and isinstance(
            store, MemoryStore
        )

    def render(
        self,
        name: str,
        values: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        now: float = 0.0,
    ) -> HttpResponse:
        """Response ``name`` filled with ``values`` and any per-answer ids it names."""
        compiled = self.responses[name]
        if compiled.names & GENERATED:
            values = {**generated_values(compiled.names, self.rng, now), **(values or {})}
        return compiled.render(values, headers)

    def fault(self, endpoint: EndpointSpec, client_id: str, now: float) -> HttpResponse | None:
        """An injected 503 for this request, or ``None``."""
        spec = self.faults.faults.get(endpoint.name)  # None: no fault set, the usual case
        if spec is None or not (spec.probability or spec.schedule):
            return None
        # Schedules run on the time the server started on, unskewed: a clock offset
        # changed at run time moves tokens' times and resets, never an outage.
        if not self.faults.unavailable(spec, now - self.clock.offset_s):
            return None
        self.counters.incr(client_id, "faults_503")
        extra = None if spec.retry_after_s is None else {"retry-after": str(spec.retry_after_s)}
        return self.render("unavailable", None, extra, now)

    def admit_token_request(
        self, endpoint: EndpointSpec, client_id: str, now: float, request_key: str = ""
    ) -> tuple[HttpResponse | None, dict[str, str]]:
        """Count a token request, then answer an injected 503 or a request-stage throttle.

        Both token endpoints start this way; ``(None, headers)`` lets the request
        through with the rate-limit headers every answer must carry. With no fault
        set and in-process counters the request is counted with the limit's
        outcome instead (``MockProvider.answer`` does the same inline).
        """
        if self._count_with_limit and endpoint.name not in self.faults.faults:
            # Counted with the limit's outcome: a refusal's two counts in one call.
            return self.limit(
                endpoint, "request", client_id, now, "throttled_429", request_key, "token_requests"
            )
        self.counters.incr(client_id, "token_requests")
        if endpoint.name in self.faults.faults and (fault := self.fault(endpoint, client_id, now)):
            return fault, {}
        return self.limit(endpoint, "request", client_id, now, "throttled_429", request_key)

    def limit(
        self,
        endpoint: EndpointSpec,
        stage: Stage,
        client_id: str,
        now: float,
        counter: str,
        request_key: str = "",
        counted: str = "",
    ) -> tuple[HttpResponse | None, dict[str, str]]:
        """Apply the endpoint's rules of ``stage``: a rejection or the headers to add.

        A rejection counts under ``counter`` (429), ``forbidden_403_99`` (403) or
        ``throttled_4xx`` (any other status: Entra's loop detection answers 400).
        ``counted`` names a counter that takes one whatever the outcome, even
        when the store cannot decide (``StoreUnavailable``).
        """
        try:
            verdict = self.limiter.check(endpoint, stage, client_id, now, request_key)
        except StoreUnavailable:
            if counted:
                self.counters.incr(client_id, counted)
            raise
        # The limiter shares a verdict while a limit's numbers hold: so is its answer.
        shared = None if verdict.allowed else self._verdict_answers.get(id(verdict))
        if shared is not None and shared[0] is verdict:
            response: HttpResponse | None = shared[1]
        else:
            response = None if verdict.allowed else self._refusal(verdict, now)
        if response is None:
            if counted:
                self.counters.incr(client_id, counted)
            return None, verdict.headers
        status = response.status
        refusal = counter if status == 429 else refusal_counter(status, counter)
        if counted:
            self.counters.incr_pair(client_id, counted, refusal)
        else:
            self.counters.incr(client_id, refusal)
        return response, verdict.headers

    def _refusal(self, verdict: ThrottleVerdict, now: float) -> HttpResponse | None:
        """The reject response of a refusing ``verdict`` (shared ones are remembered);
        ``None`` for a verdict naming no rule, which lets the request through."""
        rule, values = verdict.rule, verdict.values
        if rule is None or values is None:
            return None
        if rule.reject in self._per_answer:
            reject = self.responses[rule.reject]
            values = {**generated_values(reject.names, self.rng, now), **values}
            return reject.render(values, verdict.headers)
        response = self.render_shared(rule.reject, values, verdict.headers)
        if len(self._verdict_answers) >= SHARED_ANSWERS_MAX:
            self._verdict_answers.clear()
        self._verdict_answers[id(verdict)] = (verdict, response)  # keeps the id its own
        return response

    def render_shared(
        self, name: str, values: Mapping[str, str], headers: Mapping[str, str]
    ) -> HttpResponse:
        """Response ``name``, rendered once per distinct values and headers objects, then shared.

        The limiter hands out the same ``values`` and ``headers`` objects while a
        limit's numbers stay the same, so identity is the key (both are kept
        alive by the entry, so an id cannot be reused while it is remembered).
        Callers must not change either after passing them.
        """
        key = (name, id(values), id(headers))
        entry = self._rejections.get(key)
        if entry is not None and entry[0] is values and entry[1] is headers:
            return entry[2]
        response = self.responses[name].render(values, headers)
        if len(self._rejections) >= SHARED_ANSWERS_MAX:
            self._rejections.clear()
            self._replies.clear()
        self._rejections[key] = (values, headers, response)
        self._replies[id(response)] = ProviderReply(response)  # keeps the id its own
        return response

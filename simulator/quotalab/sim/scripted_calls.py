"""Calls of a naive client played from their arrival, without a strategy flow.

A ``ClientStrategy`` that caches no token and never retries (``naive``) does
the same thing on every call: one token request at the arrival; if that is
refused, the call fails when the answer arrives; if a token comes back, one
API request with it, and the call ends with that answer. Nothing it does
depends on earlier calls, so the engine need not run its generator: this
module performs the same requests at the same engine instants through the
same provider and counts what the flow would count.

- A token request inside a proven refusal (``FastProvider.proven_refusal``:
  the token endpoint's rule refuses everybody until it could admit again,
  and a refusal writes no limiter state) is not even asked. Its call changes
  nothing but counts, the same for every such call of one worker with one
  refusal: after the first, played in full, each adds its time-series
  counts at once and the rest (tallies, latencies, the provider's counters)
  is added in bulk when the run ends (``settle``, with the lanes in
  ``quotalab.sim.call_lanes``). That is where a throttled day spends most
  of its calls.
- A token comes back as its claims (``Issued``), rendered only if a flow
  must read it, and the API request carrying it is decided on those claims
  (``FastProvider.api_ok_issued``).
- How the flow ends on a refusal is learnt once per distinct answer (status
  and body: all a no-retry flow reads of it) by feeding it to a real flow.
- Anything else (an injected latency, a transport error, a token answer the
  flow cannot read, an API answer other than 2xx) hands the call to a real
  flow, caught up on the answers it has had, and the engine plays the rest
  event by event.

A call ending here ends at its own instant in every count, but without an
event of its own, so the engine uses this path only where no quiet-call
oracle and no period search reads calls in flight. One source of truth:
``tests/sim/test_fast_path.py`` and ``tests/sim/test_scripted_calls.py``
play scenarios both ways and require identical reports.
"""

from __future__ import annotations

import functools

from quotalab.outcomes import THROTTLED_KINDS
from quotalab.sim.call_lanes import CallLanes
from quotalab.sim.engine_types import CacheGroup, Call, Worker
from quotalab.sim.refusal_proofs import RefusalWindow
from quotalab.sim.script_seams import RefusalProof, ScriptHost
from quotalab.sim.token_grants import BearerRequests, Issued
from quotalab.strategies.client import ClientStrategy
from quotalab.strategies.messages import Send
from quotalab.strategies.raised_calls import raised_call
from quotalab.wire import HttpRequest, HttpResponse

__all__ = ["RefusalProof", "ScriptHost", "ScriptedCalls", "scriptable"]

_MEMO_MAX = 4096


def scriptable(strategy: object, clock: object) -> bool:
    """Whether ``strategy``'s calls can be played here: a no-cache, no-retry client on
    the engine's ``clock`` (a flow reads its answers at its own clock's time)."""
    return (
        type(strategy) is ClientStrategy
        and not strategy.token.cache
        and strategy.retry.max_attempts == 1
        and strategy.clock is clock
    )


class ScriptedCalls(CallLanes):
    """Plays no-retry, no-cache calls for ``host`` against ``provider``."""

    def __init__(self, host: ScriptHost, provider: RefusalProof) -> None:
        super().__init__(host, provider)
        self._requests: dict[CacheGroup, HttpRequest | None] = {}  # a group's token request
        # (status, body) -> how a flow fails on that refusal: its error's type and text
        self._endings: dict[tuple[int, bytes], tuple[str, str] | None] = {}
        self._bearers = BearerRequests()  # the API request with a token
        self._span_s = 2 * host.latency_s
        self._at = host.queue.at  # ``host.at``, one call less

    def _token_request(self, group: CacheGroup) -> HttpRequest | None:
        if group in self._requests:
            return self._requests[group]
        strategy = group.strategy
        request = None
        if isinstance(strategy, ClientStrategy) and scriptable(strategy, self.host.clock):
            request = strategy.token_request
            self.provider.proves_refusals = True  # worth its cost from now on
        self._requests[group] = request
        return request

    def plays(self, group: CacheGroup) -> bool:
        """Whether calls of ``group`` are played here (``start``), when far from the stop."""
        return self._token_request(group) is not None

    def start(self, worker: Worker, t: float) -> bool:
        """Play the call arriving at ``t``; False: not started, play it event by event."""
        host = self.host
        if t + self._span_s >= host.stop_at:
            return False  # might be cut off at the stop: let the engine decide that
        request = self._requests.get(worker.group)
        if request is None:
            request = self._token_request(worker.group)
            if request is None:
                return False
        provider = self.provider
        window = provider.proven_refusal(request)
        if window is not None:
            lane = self._lanes.get(worker)
            if lane is None or lane.response is not window.response:
                self._refuse_first(worker, request, window, t)
                return True
            # What ``begin_call``, ``account_send`` and ``end_call`` count by
            # bucket (``BucketSeries.add``'s, inline); the rest waits for ``settle``.
            start, width_s, last = self._grid
            calls, token_requests, throttled, failed = self._refused_series
            i = int((t - start) // width_s)
            if i > last:
                i = last
            calls[i] += 1
            token_requests[i] += 1
            if lane.throttled:
                throttled[i] += 1
            ended = t + host.latency_s
            i = int((ended - start) // width_s)
            failed[i if i < last else last] += 1
            lane.calls += 1
            lane.ended_at = ended
            return True
        answer = provider.grant(request)
        latency = host.latency_s
        if isinstance(answer, Issued) and answer.direct and self._served_open:
            # The flow sends the API request when the token arrives; the call is
            # counted there, all at once (``_serve``).
            self._at(t + latency, functools.partial(self._serve, worker, t, answer))
            return True
        host.begin_call(worker, t)
        if isinstance(answer, Issued):  # a token: the flow sends the API request on its arrival
            issued = answer
            host.account_ok(worker, "token", t)
            if not issued.direct and issued.access_token is None:
                # the flow cannot read it: let it fail so
                self._adopt(worker, t, [], issued.answer, t + latency, counted=True)
            elif latency > 0:
                host.at(t + latency, lambda: self._api(worker, t, issued))
            else:  # the flow sends it at once, before anything else due now
                self._api(worker, t, issued)
            return True
        if answer is None:
            reply = provider.respond(request)
            if reply.latency_s or not isinstance(reply.response, HttpResponse):
                # The engine's own sum: the delay first, then the instant.
                self._adopt(worker, t, [], reply.response, t + (latency + reply.latency_s))
                return True
            answer = reply.response
            if 200 <= answer.status < 300:  # not known to ``grant``: let the flow read it
                self._adopt(worker, t, [], answer, t + latency)
                return True
        self._refused(worker, answer, t)
        return True

    def _refused(self, worker: Worker, answer: HttpResponse, t: float) -> tuple[str, str] | None:
        """Count the call started at ``t`` whose token request got refusal ``answer``
        (counted as started); how it ended (None: handed to a real flow)."""
        host = self.host
        latency = host.latency_s
        kind = host.account_send(None, worker, "token", answer, t)
        ending = self._ending(worker, answer)
        if ending is None:  # the flow does something else with it: let it
            self._adopt(worker, t, [], answer, t + latency, counted=True)
            return None
        reason, message = ending
        host.end_call(
            worker, t, t + latency, answer.status, reason, kind in THROTTLED_KINDS, message
        )
        return ending

    def _refuse_first(
        self, worker: Worker, request: HttpRequest, window: RefusalWindow, t: float
    ) -> None:
        """Play in full the first call of a worker refused with ``window``'s answer,
        and open a lane for the next ones."""
        counted_id = self.provider.counted_id(request)
        self.provider.count_refused(counted_id, window.counter, 1)
        self.host.begin_call(worker, t)
        response = window.response
        ending = self._refused(worker, response, t)
        if ending is not None and self._lanes_open:
            self._open_lane(worker, counted_id, window, ending[0])

    def serve(self, worker: Worker, t: float, issued: Issued) -> bool:
        """Play a call whose token request, its first, sent at ``t`` got ``issued``, as a
        naive call is played from there (a retrying client does the same with a token);
        False: not here (the caller plays it)."""
        host = self.host
        if not (issued.direct and self._served_open) or t + self._span_s >= host.stop_at:
            return False
        self._at(t + host.latency_s, functools.partial(self._serve, worker, t, issued))
        return True

    def _serve(self, worker: Worker, started_at: float, issued: Issued) -> None:
        """The token arrives: send the API request with it, now, and count the call.

        Answered 2xx, the call adds its time-series counts here and the rest
        in bulk (``settle``); else it is counted as begun with a token and
        goes on as ``_api`` plays it.
        """
        host = self.host
        if not self.provider.api_ok_issued(worker.request, issued):
            host.begin_call(worker, started_at)
            host.account_ok(worker, "token", started_at)
            self._api(worker, started_at, issued)
            return
        t = host.clock.now()
        # What ``begin_call``, ``account_ok`` and ``end_call`` count by bucket
        # (``BucketSeries.add``'s, inline).
        start, width_s, last = self._grid
        calls, token_requests, api_ok, ok = self._served_series
        i = int((started_at - start) // width_s)
        if i > last:
            i = last
        calls[i] += 1
        token_requests[i] += 1
        i = int((t - start) // width_s)
        api_ok[i if i < last else last] += 1
        ended = t + host.latency_s
        i = int((ended - start) // width_s)
        ok[i if i < last else last] += 1
        served = self._served.get(worker)
        if served is None:
            served = self._served_of(worker)
        served.calls += 1
        served.ended_at = ended

    def _api(self, worker: Worker, started_at: float, issued: Issued) -> None:
        """The token arrives: send the API request with it, now."""
        host = self.host
        t = host.clock.now()
        provider = self.provider
        if provider.api_ok_issued(worker.request, issued):
            host.account_ok(worker, "api", t)
            host.end_call(worker, started_at, t + host.latency_s, 200, None)
            return
        access_token = issued.access_token
        assert access_token is not None
        api_request = self._bearers.of(worker.request, access_token)
        if provider.api_ok(api_request):  # answered 2xx: its status is all we read
            host.account_ok(worker, "api", t)
            host.end_call(worker, started_at, t + host.latency_s, 200, None)
            return
        reply = provider.respond(api_request)
        self._adopt(
            worker,
            started_at,
            [issued.answer],
            reply.response,
            t + (host.latency_s + reply.latency_s),
        )

    def _ending(self, worker: Worker, refusal: HttpResponse) -> tuple[str, str] | None:
        """How a no-retry flow fails on ``refusal`` to its token request: its error's
        type and text (None: it does not fail on it)."""
        key = (refusal.status, refusal.body)
        if key in self._endings:
            return self._endings[key]
        flow = worker.group.strategy.call(worker.request)
        ending: tuple[str, str] | None = None
        try:
            flow.send(None)
            flow.send(refusal)
        except StopIteration:
            pass
        except Exception as error:  # how the flow gives up: what the engine records
            raised = raised_call(error)  # named and worded as a live run words it
            ending = (raised.reason, raised.message)
        else:
            flow.close()
        if len(self._endings) >= _MEMO_MAX:
            self._endings.clear()
        self._endings[key] = ending
        return ending

    def _adopt(
        self,
        worker: Worker,
        started_at: float,
        answers: list[HttpResponse],
        response: object,
        resume_at: float,
        *,
        counted: bool = False,
    ) -> None:
        """Hand the call to a real flow, caught up on ``answers``, waiting for ``response``.

        ``answers`` are the replies its earlier requests got (the token answer
        before an API request); ``counted``: the pending request was counted.
        """
        flow = worker.group.strategy.call(worker.request)
        call = Call(flow, worker, started_at)
        action = flow.send(None)
        purpose = "token"
        for answer in answers:
            call.history.append(("token", started_at, answer))
            action = flow.send(answer)
            purpose = "api"
        assert isinstance(action, Send) and action.purpose == purpose, action
        host = self.host
        t = host.clock.now() if answers else started_at
        call.history.append((purpose, t, response))  # type: ignore[arg-type]
        if not counted:
            host.account_send(call, worker, purpose, response, t)  # type: ignore[arg-type]
        host.adopt(call, response, resume_at)  # type: ignore[arg-type]

"""Calls of a retrying client without a token cache (``backoff``), played without a flow.

Such a call sends a token request, reads the answer through the flow's own
step (``quotalab.strategies.retry_step``: the same code the flow runs),
sleeps what the server asked and sends again, up to ``max_attempts``; with a
token it sends the API request and ends with that answer. The engine need
not step a generator per request: a scripted call is its worker, when it
started, the token requests it sent and the seconds it waited.

Throttled clients wait until the same reset (``x-ratelimit-reset`` is a
whole epoch second), so many calls wake at one instant: those are one heap
entry, a ``Herd`` (``quotalab.sim.event_queue``), played in the order their
own events would have been. Their token requests go through
``FastProvider.grant_exact``: once the limiter refused one, later requests
refused by the same rule key at that instant get the same answer without
the limiter, and so do all of a stretch of refusals whose answer is proven
to read the same throughout, wait included (``RefusalProofs.steady``).
Members that got the same answer at the same instant read it once
(``quotalab.sim.retry_readings``); each still draws its jitter from its
strategy's random stream, in order, as the flow does, and a wait the policy
honours is slept by them together. A call on its own reads its answer in a
plain event (``EventQueue.solo``), and a call given a token at its first
request goes on as a naive call does (``ScriptedCalls.serve``).

Anything unusual (an injected latency, a transport error, a token answer the
provider path must read, an API answer other than 2xx) hands the call to a
real flow started where the script stands (``ClientStrategy.call`` with
``waited_s``, ``token_sends`` or ``access_token``), and the engine plays the
rest event by event. A call's API answer ends it at its own instant without
an event; as for ``quotalab.sim.scripted_calls``, the engine uses this path
only where no quiet-call oracle and no period search reads calls in flight.
One source of truth: ``tests/sim/test_scripted_retries.py`` plays random
scenarios both ways and requires identical reports.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

from quotalab.errors import StrategyError
from quotalab.outcomes import answer_kind
from quotalab.sim.engine_types import CacheGroup, Call, Worker
from quotalab.sim.event_queue import EventQueue, Herd
from quotalab.sim.retry_readings import RetryReadings
from quotalab.sim.script_seams import ExactRefusals, ScriptHost
from quotalab.sim.token_grants import BearerRequests, Issued
from quotalab.strategies.backoff import RetryPolicy
from quotalab.strategies.client import ClientStrategy
from quotalab.strategies.messages import Send
from quotalab.strategies.retry_step import (
    Retryable,
    read_at,
    retry_delay,
)
from quotalab.wire import HttpRequest, HttpResponse, TransportError


def retries_scriptable(strategy: object, clock: object) -> bool:
    """Whether ``strategy``'s calls can be played here: no token cache, retries, and
    the engine's ``clock`` (a flow reads its answers at its own clock's time)."""
    return (
        type(strategy) is ClientStrategy
        and not strategy.token.cache
        and strategy.retry.max_attempts > 1
        and strategy.clock is clock
    )


def _requests_due(members: list[Any], i: int) -> Iterator[HttpRequest]:
    """The token requests of the members from ``i`` on that are due to send one, up to
    the first that is not (read lazily: the provider may stop early)."""
    for member in itertools.islice(members, i, None):
        if member.answer is not None:
            return
        yield member.request


class _Retrying:
    """A scripted call: what it sent and waited so far, and the answer it is due to read."""

    __slots__ = ("answer", "draw", "policy", "request", "sends", "started_at", "waited_s", "worker")

    def __init__(
        self, worker: Worker, started_at: float, strategy: ClientStrategy, policy: RetryPolicy
    ) -> None:
        self.worker = worker
        self.started_at = started_at
        self.request = strategy.token_request  # the same every time
        self.policy = policy  # the strategy's, or one equal to it
        self.draw = strategy.rng.random
        self.sends = 0  # token requests sent
        self.waited_s = 0.0
        # None: due to send a token request; an Issued: due to use that token;
        # an HttpResponse: due to read that answer to its last token request.
        self.answer: Issued | HttpResponse | None = None


class ScriptedRetries(RetryReadings):
    """Plays retrying, no-cache calls for ``host`` against ``provider``, herds on its queue."""

    def __init__(
        self,
        host: ScriptHost,
        provider: ExactRefusals,
        serve: Callable[[Worker, float, Issued], bool],
    ) -> None:
        super().__init__(host)
        self.provider = provider
        # Plays on a call whose first token request got a token (``ScriptedCalls.serve``):
        # from there a retrying call does what a naive one does, unless an answer says no.
        self._serve = serve
        self.queue: EventQueue = host.queue
        self._groups: dict[int, bool] = {}
        self._policies: dict[RetryPolicy, RetryPolicy] = {}
        self._policy_of: dict[int, RetryPolicy] = {}  # by the group's id
        self._bearers = BearerRequests()  # the API request with a token
        self._player = self._play  # one bound method: herds tell their player by identity
        self._solo_player = self._play_one

    def plays(self, group: CacheGroup) -> bool:
        """Whether calls of ``group`` are played here."""
        known = self._groups.get(id(group))
        if known is None:
            known = self._groups[id(group)] = retries_scriptable(group.strategy, self.host.clock)
            if known:
                self.provider.proves_refusals = True
                strategy = group.strategy
                assert isinstance(strategy, ClientStrategy)
                # Equal policies as one object: members that read one answer alike tell
                # their policies apart by identity.
                policy = self._policies.setdefault(strategy.retry, strategy.retry)
                self._policy_of[id(group)] = policy
        return known

    def start(self, worker: Worker, t: float) -> bool:
        """Play the call arriving at ``t`` (always: an unusual answer hands it on)."""
        strategy = worker.group.strategy
        assert isinstance(strategy, ClientStrategy)
        policy = self._policy_of[id(worker.group)]
        answer = self.provider.grant_exact(strategy.token_request)
        if type(answer) is Issued and self._serve(worker, t, answer):
            return True
        self.host.begin_call(worker, t)
        member = _Retrying(worker, t, strategy, policy)
        member.sends = 1
        self._sent(member, t, answer)
        return True

    def _play(self, t: float, members: list[object]) -> None:
        """Members due at ``t``, in order: send, use a token, or read an answer.

        Runs of members that do the same are played as one: token requests
        after a proven refusal refused alike (``FastProvider.refuse_alike``),
        and members reading the same answer with the same progress, which
        read it once, each drawing its own jitter, and sleep on together.
        """
        latency = self.host.latency_s
        n = len(members)
        i = 0
        while i < n:
            member = members[i]
            assert isinstance(member, _Retrying)
            answer = member.answer
            i += 1
            if answer is None:
                self._send(member, t)
                got = member.answer
                if latency > 0 and type(got) is HttpResponse and i < n:
                    i = self._refused_alike(members, i, got, t)
            elif type(answer) is Issued:
                self._api(member, t, answer)
            else:
                assert isinstance(answer, HttpResponse)
                self._read_once(member, t, answer)
                i = self._read_alike(members, i - 1, answer, t)

    def _refused_alike(self, members: list[Any], i: int, refusal: HttpResponse, t: float) -> int:
        """Members from ``i`` due to send now and refused with ``refusal`` like the one
        before them: counted, and due to read it one latency later; the index after them."""
        k = self.provider.refuse_alike(_requests_due(members, i), refusal)
        if k == 0:
            return i
        run: list[_Retrying] = members[i : i + k]
        for member in run:
            member.sends += 1
            member.answer = refusal
        self.host.account_alike([m.worker for m in run], "token", answer_kind(refusal), t)
        herd = self.queue.join(t + self.host.latency_s, run[0], self._player)
        herd.members.extend(run[1:])
        return i + k

    def _read_alike(self, members: list[object], i: int, answer: HttpResponse, t: float) -> int:
        """Members from ``i`` that read ``answer`` now with the policy ``_read_once`` read
        it for: one reading for all; each draws its own jitter and sleeps or gives up
        after its own sends and waits. The index after them."""
        memo = self._read
        assert memo is not None and memo[0] is answer and memo[1] == t
        policy, read = memo[2], memo[3]
        n = len(members)
        j = i
        while j < n:
            member = members[j]
            assert isinstance(member, _Retrying)
            if member.answer is not answer or member.policy is not policy:
                break
            j += 1
        run: list[_Retrying] = members[i:j]  # type: ignore[assignment]
        if isinstance(read, StrategyError):
            self._fail(run, t, answer, read)
            return j
        hint = read.hint_s
        giving_up: list[_Retrying] = []
        if hint is not None and policy.honour_server:  # the server's wait, for all alike
            self._wait_alike(run, t, hint, giving_up)
        else:
            wake = -1.0
            herd: Herd | None = None
            join, play = self.queue.join, self._player
            for member in run:
                delay = retry_delay(policy, member.sends, member.waited_s, hint, member.draw)
                if delay is None:
                    giving_up.append(member)
                    continue
                member.waited_s += delay
                member.answer = None
                due = t + max(0.0, delay)
                if due == wake and herd is not None:  # nothing was pushed at ``due`` since
                    herd.members.append(member)
                else:
                    herd = join(due, member, play)
                    wake = due
        if giving_up:  # counts only: nothing they do is pushed
            self._fail_giving_up(giving_up, t, answer, read)
        return j

    def _wait_alike(
        self, run: list[_Retrying], t: float, wait_s: float, giving_up: list[_Retrying]
    ) -> None:
        """``retry_delay`` for ``run``, which read one answer at ``t`` asking ``wait_s``, under
        a policy that honours it: that wait for each, whatever its jitter (drawn all the
        same); those out of sends or budget give up (added to ``giving_up``). The
        rest sleep on together."""
        policy = run[0].policy
        max_attempts, budget_s = policy.max_attempts, policy.budget_s
        waking: list[_Retrying] = []
        for member in run:
            if member.sends >= max_attempts:  # no retry left: nothing drawn
                giving_up.append(member)
                continue
            member.draw()  # the jitter the flow draws and does not use
            waited_s = member.waited_s + wait_s
            if waited_s > budget_s:  # the waits would cross the budget
                giving_up.append(member)
                continue
            member.waited_s = waited_s
            member.answer = None
            waking.append(member)
        if waking:
            herd = self.queue.join(t + max(0.0, wait_s), waking[0], self._player)
            herd.members.extend(waking[1:])

    def _act(self, member: _Retrying, t: float) -> None:
        """What ``member`` does at ``t``: send, use its token, or read its answer."""
        answer = member.answer
        if answer is None:
            self._send(member, t)
        elif type(answer) is Issued:
            self._api(member, t, answer)
        else:
            assert isinstance(answer, HttpResponse)
            self._read_one(member, t, answer)

    def _answered(self, member: _Retrying, t: float) -> None:
        """``member``'s request sent at ``t`` is answered one latency later (at once
        without latency: the flow reads the answer before anything else happens)."""
        latency = self.host.latency_s
        if latency > 0:
            self.queue.solo(t + latency, member, self._solo_player)
        else:
            self._act(member, t)

    def _play_one(self, t: float, member: object) -> None:
        """``member`` on its own at ``t`` reads its answer, or uses its token."""
        assert isinstance(member, _Retrying)
        answer = member.answer
        if type(answer) is HttpResponse:
            self._read_one(member, t, answer)
        else:
            self._act(member, t)

    def _read_one(self, member: _Retrying, t: float, answer: HttpResponse) -> None:
        """``_read_alike`` of ``member`` alone: read ``answer`` at ``t``, then sleep or give up."""
        policy = member.policy
        try:
            read = read_at(self._reading(answer), t, policy)
        except StrategyError as error:  # a definite no: the flow raises it
            self._fail([member], t, answer, error)
            return
        assert isinstance(read, Retryable), read  # a token request's 2xx is never read here
        delay = retry_delay(policy, member.sends, member.waited_s, read.hint_s, member.draw)
        if delay is None:
            self._fail([member], t, answer, self._give_up(read, member.sends))
            return
        member.waited_s += delay
        member.answer = None
        self.queue.join(t + max(0.0, delay), member, self._player)

    def _send(self, member: _Retrying, t: float) -> None:
        """Send the call's next token request at ``t``."""
        member.sends += 1
        self._sent(member, t, self.provider.grant_exact(member.request))

    def _sent(self, member: _Retrying, t: float, answer: Issued | HttpResponse | None) -> None:
        """Count what ``grant_exact`` said to the token request sent at ``t``; go on."""
        host = self.host
        worker = member.worker
        latency = host.latency_s
        if isinstance(answer, Issued):
            host.account_ok(worker, "token", t)
            if not answer.direct and answer.access_token is None:
                # the flow cannot read it: let it fail so
                self._adopt(member, t, answer.answer, t + latency, counted=True)
                return
            member.answer = answer
            self._answered(member, t)
            return
        if answer is None:
            reply = self.provider.respond(member.request)
            response: HttpResponse | TransportError = reply.response
            if (
                reply.latency_s
                or not isinstance(response, HttpResponse)
                or 200 <= response.status < 300
            ):  # a fault's latency, no answer, or a token the flow must read: let it
                # The engine's own sum: the delays first, then the instant.
                self._adopt(member, t, response, t + (latency + reply.latency_s))
                return
            answer = response
        host.account_send(None, worker, "token", answer, t)
        member.answer = answer
        self._answered(member, t)

    def _api(self, member: _Retrying, t: float, issued: Issued) -> None:
        """The token arrived at ``t``: send the API request with it."""
        host = self.host
        worker = member.worker
        provider = self.provider
        ends_at = t + host.latency_s
        if ends_at <= host.stop_at and provider.api_ok_issued(worker.request, issued):
            host.account_ok(worker, "api", t)  # decided on its claims: the token unrendered
            host.end_call(worker, member.started_at, ends_at, 200, None)
            return
        access_token = issued.access_token
        assert access_token is not None
        api_request = self._bearers.of(worker.request, access_token)
        if ends_at <= host.stop_at and provider.api_ok(api_request):
            host.account_ok(worker, "api", t)
            host.end_call(worker, member.started_at, ends_at, 200, None)
            return
        strategy = worker.group.strategy
        assert isinstance(strategy, ClientStrategy)
        flow = strategy.call(worker.request, waited_s=member.waited_s, access_token=access_token)
        action = flow.send(None)
        assert isinstance(action, Send) and action.purpose == "api", action
        reply = provider.respond(action.request)
        call = Call(flow, worker, member.started_at)
        call.history.append(("api", t, reply.response))
        host.account_send(call, worker, "api", reply.response, t)
        host.adopt(call, reply.response, t + (host.latency_s + reply.latency_s))

    def _adopt(
        self,
        member: _Retrying,
        t: float,
        response: HttpResponse | TransportError,
        resume_at: float,
        *,
        counted: bool = False,
    ) -> None:
        """Hand the call to a real flow that sent its last token request at ``t`` and
        awaits ``response`` at ``resume_at`` (``counted``: that request was counted)."""
        worker = member.worker
        strategy = worker.group.strategy
        assert isinstance(strategy, ClientStrategy)
        flow = strategy.call(worker.request, waited_s=member.waited_s, token_sends=member.sends - 1)
        action = flow.send(None)
        assert isinstance(action, Send) and action.purpose == "token", action
        host = self.host
        call = Call(flow, worker, member.started_at)
        call.history.append(("token", t, response))
        if not counted:
            host.account_send(call, worker, "token", response, t)  # type: ignore[arg-type]
        host.adopt(call, response, resume_at)  # type: ignore[arg-type]

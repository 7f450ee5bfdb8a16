"""What a token request's answer means to a retry policy, read once for many calls.

Scripted backoff calls (``quotalab.sim.scripted_retries``) read the answers
of their token requests through the flow's own step
(``quotalab.strategies.retry_step``); throttled calls read the same answer
by the thousand. This class keeps each answer's text read once, the last
reading at an instant for the members after it, and each give-up's error
with its name and text, and counts calls that give up. ``ScriptedRetries``
builds on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from quotalab.errors import StrategyError
from quotalab.outcomes import THROTTLED_KINDS, answer_kind
from quotalab.sim.engine_types import Worker
from quotalab.sim.script_seams import ScriptHost
from quotalab.strategies.backoff import RetryPolicy
from quotalab.strategies.raised_calls import raised_call
from quotalab.strategies.retry_step import AnswerReading, Retryable, read_at, reading_of
from quotalab.wire import HttpResponse

__all__ = ["RetryReadings", "RetryingCall"]

_MEMO_MAX = 4096


class RetryingCall(Protocol):
    """A scripted call as far as reading its answers goes."""

    worker: Worker
    started_at: float
    policy: RetryPolicy
    sends: int  # token requests sent


class RetryReadings:
    """Answers read once per answer (and per instant and policy), give-ups counted."""

    def __init__(self, host: ScriptHost) -> None:
        self.host = host
        # The answer read last, when, by which policy, and what it meant.
        self._read: tuple[object, float, RetryPolicy, Retryable | StrategyError] | None = None
        # By the answer's id and the sends of those giving up on it.
        self._give_ups: dict[tuple[int, int], tuple[object, StrategyError]] = {}
        self._readings: dict[int, AnswerReading] = {}  # by the answer's id: its text, read
        self._endings: dict[int, tuple[Exception, str, str]] = {}  # error: its name and text

    def _read_once(self, member: RetryingCall, t: float, answer: HttpResponse) -> None:
        """What ``answer`` means at ``t`` to ``member``'s policy, kept for those reading it next."""
        policy = member.policy
        memo = self._read
        if memo is not None and memo[0] is answer and memo[1] == t and memo[2] is policy:
            return
        read: Retryable | StrategyError
        try:
            result = read_at(self._reading(answer), t, policy)  # ``read_answer``, text read once
        except StrategyError as error:  # a definite no: the flow raises it
            read = error
        else:  # a token request's answer is final only when it is a 2xx, never read here
            assert isinstance(result, Retryable), result
            read = result
        self._read = (answer, t, policy, read)

    def _reading(self, answer: HttpResponse) -> AnswerReading:
        """``reading_of(answer)`` for a token request, made once per answer."""
        reading = self._readings.get(id(answer))
        if reading is None or reading.reply is not answer:
            if len(self._readings) >= _MEMO_MAX:
                self._readings.clear()
            reading = self._readings[id(answer)] = reading_of(answer, api=False)
        return reading

    def _give_up(self, read: Retryable, sends: int) -> StrategyError:
        """``read.give_up(sends)``, made once per answer and ``sends``: its type and text
        are all that is read."""
        key = (id(read.reply), sends)
        known = self._give_ups.get(key)
        if known is None or known[0] is not read.reply:
            if len(self._give_ups) >= _MEMO_MAX:
                self._give_ups.clear()
            known = self._give_ups[key] = (read.reply, read.give_up(sends))
        return known[1]

    def _fail_giving_up(
        self, members: Sequence[RetryingCall], t: float, answer: HttpResponse, read: Retryable
    ) -> None:
        """``members`` give up at ``t`` on ``answer``, read as ``read``: each with the
        error its own sends word (``_fail`` for those that sent alike)."""
        by_sends: dict[int, list[RetryingCall]] = {}
        for member in members:
            by_sends.setdefault(member.sends, []).append(member)
        for sends, alike in by_sends.items():
            self._fail(alike, t, answer, self._give_up(read, sends))

    def _fail(
        self, members: Sequence[RetryingCall], t: float, answer: HttpResponse, error: Exception
    ) -> None:
        """``members`` give up at ``t`` on ``answer`` with ``error``, as the flow raises it."""
        ending = self._endings.get(id(error))
        if ending is None or ending[0] is not error:
            if len(self._endings) >= _MEMO_MAX:
                self._endings.clear()
            raised = raised_call(error)  # named and worded as a live run words it
            ending = self._endings[id(error)] = (error, raised.reason, raised.message)
        self.host.end_alike(
            [(member.worker, member.started_at) for member in members],
            t,
            ending[1],
            answer_kind(answer) in THROTTLED_KINDS,
            ending[2],
        )

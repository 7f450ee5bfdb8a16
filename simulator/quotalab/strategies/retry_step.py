"""What a retrying client does with one answer: return it, give up, or wait and send again.

The pure body of ``ClientStrategy``'s send loop, shared by the flow and by
the simulation's scripted calls (``quotalab.sim.scripted_retries``), so both
decide through one piece of code:

- ``read_answer``: a non-2xx answer is final (returned), a definite no to a
  token request (raised), or worth retrying (``Retryable``: the wait the
  server asked for and the error for giving up). It reads the answer's text
  whatever the time (``reading_of``) and then the time (``read_at``): a
  reader of one answer at many instants keeps the first part;
- ``retry_delay``: how long to wait before the next send, or None to give up.
  A jitter ``u`` is drawn only for a retry that may be made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from quotalab.errors import StrategyError
from quotalab.strategies.answers import (
    RETRYABLE,
    AnswerKind,
    WaitBasis,
    error_for,
    outcome_of,
    wait_at,
    wait_basis,
)
from quotalab.strategies.backoff import RetryPolicy, plan_retry
from quotalab.wire import HttpResponse, TransportError


class Retryable(NamedTuple):
    """An answer worth sending again for: the server's wait (None: it gave none).

    A named tuple, not a dataclass: a simulated day reads millions of answers.
    """

    hint_s: float | None
    reply: HttpResponse | TransportError
    what: str  # "token request" or "API call": how the give-up error names it

    def give_up(self, sends: int) -> StrategyError:
        """The error a client raises when it stops retrying on this answer, its request
        sent ``sends`` times."""
        return error_for(self.reply, self.what, sends)


class AnswerReading(NamedTuple):
    """What a client reads in ``reply`` whatever the time: its outcome and the wait it
    states (``api``: the answer to an API call, else to a token request)."""

    reply: HttpResponse | TransportError
    api: bool
    outcome: AnswerKind
    basis: WaitBasis | None


def reading_of(reply: HttpResponse | TransportError, *, api: bool) -> AnswerReading:
    """The time-free part of ``read_answer``: ``reply``'s outcome and stated wait."""
    outcome = outcome_of(reply, api=api)
    basis = None
    if outcome in RETRYABLE and isinstance(reply, HttpResponse):
        basis = wait_basis(reply)
    return AnswerReading(reply, api, outcome, basis)


def read_at(reading: AnswerReading, now: float, policy: RetryPolicy) -> HttpResponse | Retryable:
    """``read_answer`` of the answer ``reading`` was read from, at ``now``."""
    reply, api, outcome = reading.reply, reading.api, reading.outcome
    if outcome not in RETRYABLE and isinstance(reply, HttpResponse):
        if not api and outcome is not AnswerKind.OK:
            raise error_for(reply, "token request")
        return reply
    hint = policy.cooldown_s if outcome is AnswerKind.COOLDOWN else wait_at(reading.basis, now)
    return Retryable(hint, reply, "API call" if api else "token request")


def read_answer(
    reply: HttpResponse | TransportError, now: float, *, api: bool, policy: RetryPolicy
) -> HttpResponse | Retryable:
    """``reply`` at ``now`` as the client reads it: final (returned) or worth a retry.

    Raises the typed error when a token request got a definite no.
    """
    return read_at(reading_of(reply, api=api), now, policy)


def retry_delay(
    policy: RetryPolicy,
    attempt: int,
    waited_s: float,
    hint_s: float | None,
    draw: Callable[[], float],
) -> float | None:
    """The wait after failed send number ``attempt``, or None to give up.

    ``draw`` gives the jitter ``u`` (the strategy's ``rng.random``); it is
    called once for every retry that may be made, never for one past
    ``max_attempts``, so a client's random stream is spent the same way
    wherever the call is played.
    """
    if attempt >= policy.max_attempts:
        return None
    return plan_retry(policy, attempt, waited_s, hint_s, draw())


def retry_step(
    reply: HttpResponse | TransportError,
    now: float,
    *,
    api: bool,
    attempt: int,
    waited_s: float,
    policy: RetryPolicy,
    draw: Callable[[], float],
) -> HttpResponse | float:
    """One turn of the send loop: the final answer, or the seconds to sleep before resending.

    Raises the typed error when the client gives up (or a token request got a definite no).
    """
    read = read_answer(reply, now, api=api, policy=policy)
    if isinstance(read, HttpResponse):
        return read
    delay = retry_delay(policy, attempt, waited_s, read.hint_s, draw)
    if delay is None:
        raise read.give_up(attempt)
    return delay

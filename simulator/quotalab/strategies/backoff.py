"""Retry policy and the pure arithmetic of how long to wait before retrying.

``compute_backoff`` is exponential backoff with full jitter (like stamina's
``_compute_backoff``); ``plan_retry`` adds what the server said and the budget.

The contract, property-tested in ``tests/strategies/test_backoff_properties.py``:

* A retry happens only while ``attempt < max_attempts``: at most
  ``max_attempts`` sends of one request.
* A delay of our own choosing (no server hint) lies in ``[0, max_delay_s]``.
* When the server gave a wait (``Retry-After``, ``RateLimit t=``,
  ``Auth0-RateLimit t=``, ``x-rate-limit-reset``), the delay is exactly that
  wait, even above ``max_delay_s``: a server-given reset is never undercut.
  A Twitter 403 code 99 has no header, so ``cooldown_s`` plays that part.
* The waits of one call never add up to more than ``budget_s``: when the next
  wait would cross the budget the client gives up instead of waiting less.
"""

from __future__ import annotations

from dataclasses import dataclass

from quotalab.errors import InputError


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a client retries throttles (429, Twitter 403/99), 502-504 and transport errors.

    ``max_attempts`` counts sends of one request: 1 means never retry.
    """

    max_attempts: int = 1
    base_s: float = 1.0
    factor: float = 2.0
    max_delay_s: float = 30.0
    budget_s: float = 120.0
    jitter: bool = True
    cooldown_s: float = 60.0
    honour_server: bool = True

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise InputError(f"max_attempts must be >= 1, got {self.max_attempts}")
        for name in ("base_s", "max_delay_s", "budget_s", "cooldown_s"):
            if getattr(self, name) < 0:
                raise InputError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.factor < 1:
            raise InputError(f"factor must be >= 1, got {self.factor}")


NO_RETRY = RetryPolicy(max_attempts=1)
DEFAULT_BACKOFF = RetryPolicy(max_attempts=5)


def compute_backoff(policy: RetryPolicy, attempt: int, u: float) -> float:
    """Our own delay after failed send number ``attempt`` (1-based); ``u`` in [0, 1).

    ``min(max_delay_s, base_s * factor ** (attempt - 1))``, scaled by ``u``
    when ``policy.jitter`` (full jitter).
    """
    exponent = max(0, attempt - 1)
    try:
        ceiling = min(policy.max_delay_s, policy.base_s * policy.factor**exponent)
    except OverflowError:
        ceiling = policy.max_delay_s
    return ceiling * u if policy.jitter else ceiling


def plan_retry(
    policy: RetryPolicy,
    attempt: int,
    waited_s: float,
    server_wait_s: float | None,
    u: float,
) -> float | None:
    """The wait before the next send, or None to give up.

    ``attempt`` sends have failed so far, the call has already waited
    ``waited_s``, and the server asked for ``server_wait_s`` (None: no hint).
    """
    if attempt >= policy.max_attempts:
        return None
    if server_wait_s is not None and policy.honour_server:
        delay = server_wait_s
    else:
        delay = compute_backoff(policy, attempt, u)
    if waited_s + delay > policy.budget_s:
        return None
    return delay

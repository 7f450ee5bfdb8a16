"""The answer a limiter gives for one request."""

from __future__ import annotations

from typing import NamedTuple


class Decision(NamedTuple):
    """Whether a request is admitted, and what the rate-limit headers should say.

    ``reset_at`` is epoch seconds at which ``remaining`` is back to ``limit``;
    ``retry_after_s`` is how long a rejected caller must wait before one more
    request would be admitted (0 when allowed). Immutable, compared by value;
    a named tuple because every request makes one (a third of a frozen
    dataclass's cost).
    """

    allowed: bool
    limit: int
    remaining: int
    reset_at: float
    retry_after_s: float


State = tuple[float, float]
"""Every algorithm keeps two numbers per key, so any store can hold any algorithm.

Token bucket: ``(tokens, updated_at)``. Windows: ``(window_start, count)``.
"""

"""The IETF RateLimit header fields as header templates any limit rule can send.

draft-ietf-httpapi-ratelimit-headers (current drafts, structured fields):
``RateLimit-Policy: "default";q=100;w=60`` names a policy with its quota
``q`` per window of ``w`` seconds; ``RateLimit: "default";r=50;t=30`` says
``r`` units remain and the quota resets in ``t`` seconds. Earlier drafts sent
``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset`` (delta
seconds). Both become ordinary ``${...}`` header templates of the rule, so
the limiter fills them like any other header.
"""

from __future__ import annotations

from quotalab.limits import Algorithm, CounterQuota, FixedWindow, TokenBucket
from quotalab.profiles.profile_model import IetfFields

LIST_FIELDS = frozenset({"ratelimit", "ratelimit-policy"})
"""Structured list fields: several rules on one answer join their items with ", "."""

_PERIOD_S = {"hour": 3600, "day": 86400, "month": 2592000}


def window_s(algorithm: Algorithm) -> int:
    """The policy window ``w``: a window, a bucket's time to refill, a quota's period."""
    if isinstance(algorithm, FixedWindow):
        return max(1, round(algorithm.window_s))
    if isinstance(algorithm, TokenBucket):
        return max(1, round(algorithm.burst / algorithm.refill_rate))
    if isinstance(algorithm, CounterQuota):
        return _PERIOD_S[algorithm.period]
    return 1


def ietf_headers(
    name: str, algorithm: Algorithm, fields: IetfFields
) -> tuple[tuple[str, str], ...]:
    """The header templates ``fields`` adds to rule ``name``."""
    if fields == "structured":
        policy = f'"{name}"'
        return (
            ("ratelimit-policy", f"{policy};q=${{limit}};w={window_s(algorithm)}"),
            ("ratelimit", f"{policy};r=${{remaining}};t=${{reset_in}}"),
        )
    if fields == "legacy":
        return (
            ("ratelimit-limit", "${limit}"),
            ("ratelimit-remaining", "${remaining}"),
            ("ratelimit-reset", "${reset_in}"),
        )
    return ()

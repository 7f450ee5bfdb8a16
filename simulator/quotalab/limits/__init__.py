"""Rate-limit core: pure algorithms, their decisions, and the stores that hold state."""

from quotalab.limits.algorithms import (
    TIME_SLACK_S,
    Algorithm,
    CounterQuota,
    FixedWindow,
    Period,
    RefillMode,
    TokenBucket,
    period_bounds,
)
from quotalab.limits.decision import Decision, State
from quotalab.limits.open import open_store
from quotalab.limits.store import MemoryStore, Store

__all__ = [
    "TIME_SLACK_S",
    "Algorithm",
    "CounterQuota",
    "Decision",
    "FixedWindow",
    "MemoryStore",
    "Period",
    "RefillMode",
    "State",
    "Store",
    "TokenBucket",
    "open_store",
    "period_bounds",
]

"""The provider counts the fast path adds up and hands over later, in bulk.

Counting a token granted or an API request admitted in the provider's
counters costs a dictionary walk; the fast path keeps a client's counts in
a small list instead, from its first request on, and adds them to the
counters in ``settle``, which the caller runs before anybody reads them.
``FastApi`` and ``FastProvider`` build on this class.
"""

from __future__ import annotations

from quotalab.server.mock_provider import MockProvider

__all__ = ["LATER_AT", "LATER_COUNTS", "PLANS_MAX", "DeferredCounts"]

PLANS_MAX = 4096  # distinct request objects remembered (strategies reuse a handful)
LATER_COUNTS = (
    "token_requests",
    "tokens_issued",
    "api_calls",
    "api_ok",
    "throttled_429",
    "forbidden_403_99",
    "throttled_4xx",
)
"""What a token granted, an API request admitted and a proven refusal count (a refusal:
``token_requests`` and its window's counter), added up until ``settle``."""
LATER_AT = {name: i for i, name in enumerate(LATER_COUNTS)}


class DeferredCounts:
    """Per client, the counts of ``LATER_COUNTS`` not yet added to ``provider``'s counters."""

    def __init__(self, provider: MockProvider) -> None:
        self.provider = provider
        self._later: dict[str, list[int]] = {}  # per client: counts of ``LATER_COUNTS``
        self.answered = 0  # requests answered on the fast path

    def _count_now(self, who: str, first: str, second: str) -> None:
        """Count a client's first ``grant`` or ``api_ok``, from which on they are counted later."""
        if len(self._later) >= PLANS_MAX:
            self.settle()
            self._later.clear()
        self.provider.counters.incr_pair(who, first, second)
        self._later[who] = [0] * len(LATER_COUNTS)

    def settle(self) -> None:
        """Add the counts ``grant`` and ``api_ok`` left for later to the provider's counters.

        A client's first is counted at once, so every client has its row from
        its first request on; the rest are added here, which the caller does
        before anybody reads the counters (``ScriptedCalls.settle``). The
        counts are those of play; the order of the rows (last used first)
        may differ, which no report reads.
        """
        counters = self.provider.counters
        for who, later in self._later.items():
            for i, n in enumerate(later):
                if n:
                    counters.incr(who, LATER_COUNTS[i], n)
                    later[i] = 0

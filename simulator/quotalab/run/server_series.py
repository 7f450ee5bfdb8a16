"""The server's own per-second series, for the charts of a run that serves its provider.

``SeriesCounters`` wraps the provider's counters: every count also goes into
a bucket of the second it happened in (from an injected clock), per client.
The run reads a strategy's series from it before the next reset, so the
charts of token requests, throttles and API successes show what the server
answered, whoever sent the requests (an own client's included).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable

from quotalab.counters import Counters
from quotalab.report.values import TimeSeries

SERIES_COUNTERS: dict[str, tuple[str, ...]] = {
    "token_requests": ("token_requests",),
    "throttled": ("throttled_429", "api_429", "forbidden_403_99", "throttled_4xx"),
    "api_ok": ("api_ok",),
}
"""Each chart series and the server counters that feed it."""


class SeriesCounters:
    """``Counters`` that also keep per-second counts of the charted counters."""

    def __init__(self, inner: Counters, now: Callable[[], float]) -> None:
        self.inner = inner
        self.now = now
        self._lock = threading.Lock()
        self._charted = {name for names in SERIES_COUNTERS.values() for name in names}
        # (client id, counter name, epoch second) -> count
        self._seconds: Counter[tuple[str, str, int]] = Counter()

    def incr(self, client_id: str, name: str, amount: int = 1) -> None:
        self.inner.incr(client_id, name, amount)
        if name in self._charted:
            second = int(self.now())
            with self._lock:
                self._seconds[(client_id, name, second)] += amount

    def incr_pair(self, client_id: str, first: str, second: str) -> None:
        self.incr(client_id, first)
        self.incr(client_id, second)

    def snapshot(self) -> dict[str, dict[str, int]]:
        return self.inner.snapshot()

    def reset(self) -> None:
        self.inner.reset()
        with self._lock:
            self._seconds.clear()

    def series(self, client_ids: Iterable[str], started_s: float, duration_s: float) -> TimeSeries:
        """Per-second counts of ``client_ids`` (every id when empty) from ``started_s``,
        over the run and any tail."""
        wanted = set(client_ids)
        with self._lock:
            rows = [(key, n) for key, n in self._seconds.items() if not wanted or key[0] in wanted]
        first = int(started_s)
        last = max([first + max(1, round(duration_s)) - 1, *(key[2] for key, _ in rows)])
        size = last - first + 1
        values = {series: [0] * size for series in SERIES_COUNTERS}
        for (_, name, second), n in rows:
            index = second - first
            if not 0 <= index < size:
                continue
            for series, names in SERIES_COUNTERS.items():
                if name in names:
                    values[series][index] += n
        return TimeSeries(
            1.0,
            tuple(values["token_requests"]),
            tuple(values["throttled"]),
            tuple(values["api_ok"]),
        )

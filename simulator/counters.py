"""Per-client event counters (token requests, 429s, API successes, ...).

The server counts through this protocol so that several server workers can
share one set of counts (the Redis implementation) while a single process
uses the in-memory one.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Protocol


class Counters(Protocol):
    """Named integer counters grouped by client id."""

    def incr(self, client_id: str, name: str, amount: int = 1) -> None:
        """Add ``amount`` to counter ``name`` of ``client_id``."""
        ...

    def snapshot(self) -> dict[str, dict[str, int]]:
        """Every client's counters: ``{client_id: {name: value}}``."""
        ...

    def reset(self) -> None:
        """Set every counter back to nothing."""
        ...


class MemoryCounters:
    """Counters in this process, safe under threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: defaultdict[str, defaultdict[str, int]] = defaultdict(
            lambda: defaultdict(int)
        )

    def incr(self, client_id: str, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[client_id][name] += amount

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {client: dict(names) for client, names in self._counts.items()}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

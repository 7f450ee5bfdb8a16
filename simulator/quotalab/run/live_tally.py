"""What one load-generating process saw, in a form that merges exactly.

A locust process counts every exchange into a ``Tally``: per wall-clock
second, per purpose (token / api), per outcome, plus a latency histogram.
Tallies from several locust workers add up key by key, so the master's merge
of ``--processes N`` gives the same totals one process would have counted.
Pure: no locust, no sockets; the locust adapter feeds it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Literal, get_args

from quotalab.strategies.answers import is_twitter_throttle
from quotalab.wire import HttpResponse, TransportError

TALLY_VERSION = 1

CallOutcome = Literal[
    "ok",
    "throttled_429",
    "forbidden_403_99",
    "auth_401",
    "auth_403",
    "fault_503",
    "transport",
    "other",
]
OUTCOMES: tuple[CallOutcome, ...] = get_args(CallOutcome)


def classify(reply: HttpResponse | TransportError) -> CallOutcome:
    """The outcome class of one exchange, as the report counts it."""
    if isinstance(reply, TransportError):
        return "transport"
    status = reply.status
    if 200 <= status < 300:
        return "ok"
    if status == 429:
        return "throttled_429"
    if status == 403:
        return "forbidden_403_99" if is_twitter_throttle(reply) else "auth_403"
    if status == 401:
        return "auth_401"
    if status == 503:
        return "fault_503"
    return "other"


def latency_bucket_ms(latency_ms: float) -> int:
    """Round like locust does (2 significant digits above 100 ms) to keep histograms small."""
    if latency_ms < 100:
        return round(latency_ms)
    if latency_ms < 1000:
        return int(round(latency_ms, -1))
    return int(round(latency_ms, -2))


def percentile_ms(histogram: Mapping[int, int], fraction: float) -> float:
    """The smallest bucket at or above ``fraction`` of the samples; 0.0 when empty."""
    total = sum(histogram.values())
    if total == 0:
        return 0.0
    wanted = max(1, math.ceil(fraction * total))
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= wanted:
            return float(bucket)
    return float(max(histogram))


class Tally:
    """Counts per second, purpose and outcome, flow endings and latencies."""

    def __init__(self) -> None:
        # (epoch second, purpose, outcome) -> count
        self.exchanges: Counter[tuple[int, str, str]] = Counter()
        # (purpose, latency bucket ms) -> count
        self.latency: Counter[tuple[str, int]] = Counter()
        # how each flow (one logical API call) ended: "ok" or an error class name
        self.flows: Counter[str] = Counter()

    def record_exchange(
        self, at_s: float, purpose: str, outcome: CallOutcome, latency_ms: float
    ) -> None:
        """Count one request/response exchange that finished at ``at_s``."""
        self.exchanges[(int(at_s), purpose, outcome)] += 1
        self.latency[(purpose, latency_bucket_ms(latency_ms))] += 1

    def record_flow(self, ending: str) -> None:
        """Count one flow by how it ended (``ok``, ``ThrottledError``, ...)."""
        self.flows[ending] += 1

    def total(self, purpose: str, outcomes: Iterable[str] | None = None) -> int:
        """Exchanges of ``purpose``, optionally only those with the given outcomes."""
        wanted = None if outcomes is None else set(outcomes)
        return sum(
            count
            for (_, kind, outcome), count in self.exchanges.items()
            if kind == purpose and (wanted is None or outcome in wanted)
        )

    def histogram(self, purpose: str) -> dict[int, int]:
        """Latency histogram of ``purpose`` exchanges: bucket ms -> count."""
        return {bucket: n for (kind, bucket), n in self.latency.items() if kind == purpose}

    def merge(self, other: Tally) -> None:
        """Add ``other``'s counts to this tally."""
        self.exchanges.update(other.exchanges)
        self.latency.update(other.latency)
        self.flows.update(other.flows)

    def is_empty(self) -> bool:
        """True when nothing has been counted."""
        return not (self.exchanges or self.latency or self.flows)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (lists of rows: JSON keys must be strings)."""
        return {
            "version": TALLY_VERSION,
            "exchanges": [
                [second, purpose, outcome, n]
                for (second, purpose, outcome), n in sorted(self.exchanges.items())
            ],
            "latency_ms": [
                [purpose, bucket, n] for (purpose, bucket), n in sorted(self.latency.items())
            ],
            "flows": dict(sorted(self.flows.items())),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tally:
        """Rebuild a tally written by ``to_json``; raises ``ValueError`` when malformed."""
        if data.get("version") != TALLY_VERSION:
            raise ValueError(f"tally version {data.get('version')!r}, expected {TALLY_VERSION}")
        tally = cls()
        try:
            for second, purpose, outcome, n in data["exchanges"]:
                tally.exchanges[(int(second), str(purpose), str(outcome))] += int(n)
            for purpose, bucket, n in data["latency_ms"]:
                tally.latency[(str(purpose), int(bucket))] += int(n)
            for ending, n in data["flows"].items():
                tally.flows[str(ending)] += int(n)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ValueError(f"malformed tally: {error}") from error
        return tally

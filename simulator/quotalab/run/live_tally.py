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
from typing import Any

from quotalab.outcomes import FAULT, KIND_NAMES, KINDS, OTHER, answer_kind
from quotalab.wire import HttpResponse, TransportError

TALLY_VERSION = 2

TRANSPORT = "transport"
"""No answer at all: a ``FAULT`` the server never saw, so kept apart from 503s."""

CALL = "call"
"""The purpose of whole logical calls: their latency, and an own client's endings."""

OUTCOMES: tuple[str, ...] = (*KIND_NAMES, TRANSPORT)
"""Outcome names of exchanges: ``quotalab.outcomes``' kinds by name, and ``transport``."""


def classify(reply: HttpResponse | TransportError) -> str:
    """The outcome name of one exchange (``quotalab.outcomes.answer_kind``, by name)."""
    if isinstance(reply, TransportError):
        return TRANSPORT
    return KIND_NAMES[answer_kind(reply)]


def kind_of(outcome: str) -> int:
    """The ``quotalab.outcomes`` kind of an outcome name."""
    if outcome == TRANSPORT:
        return FAULT
    return KINDS.get(outcome, OTHER)


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
        # of those endings, how many were throttling answers (an own client's exception)
        self.throttled_flows: Counter[str] = Counter()
        # the first message seen for each ending that is an exception type
        self.first_messages: dict[str, str] = {}
        # why the process stopped the run (call_api raised KeyboardInterrupt, ...); "" if not
        self.fatal = ""
        # locust did not exit once its tallies were written, and was stopped (not saved)
        self.lingered = False

    def record_exchange(self, at_s: float, purpose: str, outcome: str, latency_ms: float) -> None:
        """Count one request/response exchange that finished at ``at_s``."""
        self.exchanges[(int(at_s), purpose, outcome)] += 1
        self.latency[(purpose, latency_bucket_ms(latency_ms))] += 1

    def record_call_latency(self, latency_ms: float) -> None:
        """The latency of one whole logical call (tokens, retries and waits included)."""
        self.latency[(CALL, latency_bucket_ms(latency_ms))] += 1

    def record_flow(self, ending: str, *, throttled: bool = False, message: str = "") -> None:
        """Count one flow by how it ended (``ok``, ``ThrottledError``, ...).

        ``throttled``: the ending was a throttling answer; ``message``: the
        error's text, kept for the first flow of each ending.
        """
        self.flows[ending] += 1
        if throttled:
            self.throttled_flows[ending] += 1
        if message and ending not in self.first_messages:
            self.first_messages[ending] = message

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
        self.throttled_flows.update(other.throttled_flows)
        for ending, message in other.first_messages.items():
            self.first_messages.setdefault(ending, message)
        self.fatal = self.fatal or other.fatal

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
            "throttled_flows": dict(sorted(self.throttled_flows.items())),
            "first_messages": dict(sorted(self.first_messages.items())),
            "fatal": self.fatal,
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
            for ending, n in data.get("throttled_flows", {}).items():
                tally.throttled_flows[str(ending)] += int(n)
            for ending, message in data.get("first_messages", {}).items():
                tally.first_messages[str(ending)] = str(message)
            tally.fatal = str(data.get("fatal", ""))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ValueError(f"malformed tally: {error}") from error
        return tally

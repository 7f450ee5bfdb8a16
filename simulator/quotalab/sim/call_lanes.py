"""What scripted naive calls count in bulk: lanes of proven refusals, served calls.

A call refused inside a proven refusal with the answer its worker's lane
was opened with, or served 2xx on a token decided by its claims, adds its
time-series counts at once (``ScriptedCalls``, inline: it is the hot path);
its tallies, latencies and the provider's counters wait here and are added
in ``settle``, when the run ends. ``ScriptedCalls``
(``quotalab.sim.scripted_calls``) builds on this class.
"""

from __future__ import annotations

import math

from quotalab.outcomes import OK, THROTTLED_KINDS, answer_kind
from quotalab.sim.engine_types import Worker
from quotalab.sim.refusal_proofs import RefusalWindow
from quotalab.sim.script_seams import RefusalProof, ScriptHost

__all__ = ["CallLanes"]

_LANES_MAX = 4096  # lanes no worker uses any more, kept until the next ``settle``


class _Lane:
    """A worker's calls refused inside proven refusals with one answer: played but not
    yet counted in tallies, latencies and provider counters (``ScriptedCalls.settle``)."""

    __slots__ = (
        "calls",
        "counted_id",
        "counter",
        "ended_at",
        "kind",
        "reason",
        "response",
        "throttled",
        "worker",
    )

    def __init__(
        self,
        worker: Worker,
        counted_id: str,
        window: RefusalWindow,
        kind: int,
        reason: str,
        throttled: bool,
    ) -> None:
        self.worker = worker
        self.counted_id = counted_id  # whom the provider counts them for
        self.response = window.response
        self.counter = window.counter
        self.kind = kind
        self.reason = reason
        self.throttled = throttled
        self.calls = 0
        self.ended_at = 0.0  # when the last of them ended


class _Served:
    """A worker's calls answered 2xx, not yet counted in tallies and latencies."""

    __slots__ = ("calls", "ended_at", "worker")

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.calls = 0
        self.ended_at = 0.0  # when the last of them ended


def _same_ms(duration_s: float, slack_s: float) -> bool:
    """Whether every duration within ``slack_s`` of ``duration_s`` falls in its millisecond
    of the latency histogram (``Latencies.add``)."""
    return round((duration_s - slack_s) * 1000.0) == round((duration_s + slack_s) * 1000.0)


class CallLanes:
    """Each worker's latest lane of refused calls and its served calls, counted later."""

    def __init__(self, host: ScriptHost, provider: RefusalProof) -> None:
        self.host = host
        self.provider = provider
        self._lanes: dict[Worker, _Lane] = {}  # each worker's latest lane
        self._settling: list[_Lane] = []  # every lane with calls to count
        self._served: dict[Worker, _Served] = {}
        series = host.series
        assert series.log is None, "a recorded period would miss the lanes' counts"
        # What the lanes count by bucket themselves (``BucketSeries.add``, inline).
        self._grid = (series.start, series.width_s, series.buckets - 1)
        values = series.values
        self._refused_series = tuple(
            values[n] for n in ("calls", "token_requests", "throttled", "failed")
        )
        self._served_series = tuple(values[n] for n in ("calls", "token_requests", "api_ok", "ok"))
        # A lane counts its calls' durations as ``latency_s``; each really lasts
        # ``(t + latency_s) - t``, a float rounding away: lanes only where both
        # fall in the same millisecond of the latency histogram.
        latency, slack = host.latency_s, math.ulp(host.stop_at + host.latency_s)
        self._lanes_open = _same_ms(latency, slack)
        self._served_open = latency > 0 and _same_ms(2 * latency, 2 * slack)

    def _open_lane(
        self, worker: Worker, counted_id: str, window: RefusalWindow, reason: str
    ) -> None:
        """After ``worker``'s call refused with ``window``'s answer ended with ``reason``,
        count its next calls refused alike in a lane."""
        kind = answer_kind(window.response)
        lane = _Lane(worker, counted_id, window, kind, reason, kind in THROTTLED_KINDS)
        if len(self._settling) >= 2 * len(self._lanes) + _LANES_MAX:
            self.settle()  # drops the lanes no worker uses any more
        self._lanes[worker] = lane
        self._settling.append(lane)

    def _served_of(self, worker: Worker) -> _Served:
        """The served calls of ``worker``, from its first on."""
        served = self._served[worker] = _Served(worker)
        return served

    def settle(self) -> None:
        """Count what the lanes' calls left to count: tallies, latencies, provider counters."""
        host = self.host
        duration_s = host.latency_s
        for lane in self._settling:
            n = lane.calls
            if not n:
                continue
            worker = lane.worker
            tally = worker.tally
            tally.calls += n
            tally.count("token", lane.kind, n)
            host.count_ended(worker, duration_s, lane.ended_at, lane.reason, lane.throttled, n)
            self.provider.count_refused(lane.counted_id, lane.counter, n)
            lane.calls = 0
        self._settling = [lane for lane in self._settling if self._lanes.get(lane.worker) is lane]
        duration_s = 2 * host.latency_s
        for served in self._served.values():
            n = served.calls
            if not n:
                continue
            tally = served.worker.tally
            tally.calls += n
            tally.count("token", OK, n)
            tally.count("api", OK, n)
            host.count_ended(served.worker, duration_s, served.ended_at, None, False, n)
            served.calls = 0
        self.provider.settle()

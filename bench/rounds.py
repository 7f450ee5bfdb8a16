"""Side-by-side measurement: alternate wrk rounds between two servers, keep the medians.

Alternating within one run means both sides see the same machine noise (other
processes, CPU boost), so their ratio is steadier than either figure. Rounds go
A B, B A, A B, ... so that a load rising or falling through the run does not
always favour the side measured first.

Requests per second measure the server only while it has a core to itself: on
a shared machine wrk, the server and other jobs share the cores, and a server
waiting for its turn serves fewer requests for reasons of the scheduler's, not
its own. So each round may also read the server's CPU time (``cpu``: a
callable per side, e.g. ``group_cpu_s``): CPU time per request is what a
request costs the server whoever else runs, and the ratio of requests per CPU
second is the throughput ratio of two servers that each have a core.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass

from bench.wrk import WrkRequest, WrkResult, run_wrk

CpuReader = Callable[[], float]
"""Seconds of CPU one side's server has used so far."""


@dataclass(frozen=True, slots=True)
class SideBySide:
    """Per-round wrk results for two sides (and their servers' CPU seconds per round)."""

    a: tuple[WrkResult, ...]
    b: tuple[WrkResult, ...]
    a_cpu_s: tuple[float, ...] = ()
    b_cpu_s: tuple[float, ...] = ()

    @property
    def a_rps(self) -> float:
        """Median requests per second of side A."""
        return statistics.median(r.rps for r in self.a)

    @property
    def b_rps(self) -> float:
        """Median requests per second of side B."""
        return statistics.median(r.rps for r in self.b)

    @property
    def ratio(self) -> float:
        """Median over rounds of A's rate divided by B's rate in the same round."""
        return statistics.median(
            ra.rps / rb.rps if rb.rps else 0.0 for ra, rb in zip(self.a, self.b, strict=True)
        )

    @property
    def measured_cpu(self) -> bool:
        """True when every round read both servers' CPU time."""
        return len(self.a_cpu_s) == len(self.a) > 0 and len(self.b_cpu_s) == len(self.b)

    @property
    def a_cpu_us(self) -> float:
        """Median CPU microseconds per request of side A's server."""
        return statistics.median(_per_request_us(self.a, self.a_cpu_s))

    @property
    def b_cpu_us(self) -> float:
        """Median CPU microseconds per request of side B's server."""
        return statistics.median(_per_request_us(self.b, self.b_cpu_s))

    @property
    def cpu_ratio(self) -> float:
        """Median over rounds of A's requests per CPU second over B's in the same round."""
        a_us = _per_request_us(self.a, self.a_cpu_s)
        b_us = _per_request_us(self.b, self.b_cpu_s)
        return statistics.median(b / a if a else 0.0 for a, b in zip(a_us, b_us, strict=True))

    @property
    def a_busy(self) -> float:
        """Median share of a core side A's server used while loaded (1.0: saturated)."""
        return _busy(self.a, self.a_cpu_s)

    @property
    def b_busy(self) -> float:
        """Median share of a core side B's server used while loaded."""
        return _busy(self.b, self.b_cpu_s)


def _per_request_us(runs: tuple[WrkResult, ...], cpu_s: tuple[float, ...]) -> list[float]:
    return [c / r.requests * 1e6 if r.requests else 0.0 for r, c in zip(runs, cpu_s, strict=True)]


def _busy(runs: tuple[WrkResult, ...], cpu_s: tuple[float, ...]) -> float:
    return statistics.median(c / r.duration_s for r, c in zip(runs, cpu_s, strict=True))


def warm_up(request: WrkRequest, connections: int, duration_s: float = 1) -> None:
    """A short unmeasured run, so imports, caches and JITs are settled before timing."""
    run_wrk(request, duration_s=duration_s, connections=connections)


def side_by_side(
    a: WrkRequest,
    b: WrkRequest,
    *,
    rounds: int,
    duration_s: float,
    connections: int,
    cpu: tuple[CpuReader, CpuReader] | None = None,
) -> SideBySide:
    """Alternate wrk runs on ``a`` and ``b`` for ``rounds`` rounds (A B, B A, ...),
    reading each server's CPU time around its runs when ``cpu`` is given."""
    warm_up(a, connections, 2)
    warm_up(b, connections, 2)
    results_a: list[WrkResult] = []
    results_b: list[WrkResult] = []
    cpu_a: list[float] = []
    cpu_b: list[float] = []
    sides = (
        (a, results_a, cpu_a, cpu[0] if cpu else None),
        (b, results_b, cpu_b, cpu[1] if cpu else None),
    )
    for index in range(rounds):
        for request, results, cpu_s, read_cpu in sides if index % 2 == 0 else sides[::-1]:
            before = read_cpu() if read_cpu else 0.0
            result = run_wrk(request, duration_s=duration_s, connections=connections)
            results.append(result)
            line = (
                f"  round {index + 1}/{rounds} {request.url}: {result.rps:,.0f} req/s, "
                f"p99 {result.p99_ms:.1f} ms, non-2xx {result.non_2xx_share:.1%}"
            )
            if read_cpu:
                used = read_cpu() - before
                cpu_s.append(used)
                line += (
                    f", server CPU {used / result.requests * 1e6 if result.requests else 0:.1f} "
                    f"us/request ({used / result.duration_s:.0%} of a core)"
                )
            print(line, file=sys.stderr)
    return SideBySide(tuple(results_a), tuple(results_b), tuple(cpu_a), tuple(cpu_b))

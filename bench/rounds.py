"""Side-by-side measurement: alternate wrk rounds between two servers, keep the medians.

Alternating A, B, A, B, ... within one run means both sides see the same machine
noise (other processes, CPU boost), so their ratio is steadier than either figure.
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass

from bench.wrk import WrkRequest, WrkResult, run_wrk


@dataclass(frozen=True, slots=True)
class SideBySide:
    """Per-round wrk results for two sides and the median ratio ``a / b``."""

    a: tuple[WrkResult, ...]
    b: tuple[WrkResult, ...]

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


def warm_up(request: WrkRequest, connections: int) -> None:
    """A short unmeasured run, so imports, caches and JITs are settled before timing."""
    run_wrk(request, duration_s=1, connections=connections)


def side_by_side(
    a: WrkRequest, b: WrkRequest, *, rounds: int, duration_s: float, connections: int
) -> SideBySide:
    """Alternate wrk runs on ``a`` and ``b`` for ``rounds`` rounds, reporting progress."""
    warm_up(a, connections)
    warm_up(b, connections)
    results_a: list[WrkResult] = []
    results_b: list[WrkResult] = []
    for index in range(rounds):
        for request, results in ((a, results_a), (b, results_b)):
            result = run_wrk(request, duration_s=duration_s, connections=connections)
            results.append(result)
            print(
                f"  round {index + 1}/{rounds} {request.url}: {result.rps:,.0f} req/s, "
                f"p99 {result.p99_ms:.1f} ms, non-2xx {result.non_2xx_share:.1%}",
                file=sys.stderr,
            )
    return SideBySide(tuple(results_a), tuple(results_b))

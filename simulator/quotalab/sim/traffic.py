"""Arrival processes: when each simulated worker starts an API call.

Every model is an endless iterator of arrival times (epoch seconds) drawn
from its own seeded ``random.Random``, so a worker's arrivals depend only on
the seed and its identity, never on what other workers did.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from fractions import Fraction
from typing import Literal, get_args

from quotalab.errors import InputError

TrafficName = Literal["constant", "poisson", "diurnal", "burst"]
TRAFFIC_MODELS: tuple[str, ...] = get_args(TrafficName)

DAY_S = 86400.0
DIURNAL_AMPLITUDE = 0.8
"""Peak is 1.8x and trough 0.2x the mean rate, once a day."""
BURST_PERIOD_S = 600.0
BURST_DUTY = 0.1
"""Bursts fill 10% of every 10 minutes at 10x the mean rate; silence between."""
TRAFFIC_PERIOD_S: dict[str, float] = {"diurnal": DAY_S, "burst": BURST_PERIOD_S}
"""How often each model whose rate varies repeats: its mean rate holds over whole periods."""


class PeriodicArrivals:
    """Evenly spaced calls ``first + k * gap_s``: the ``constant`` model.

    Each time is computed from ``k`` rather than accumulated, so the sequence
    shifted by a whole number of gaps is the same sequence, bit for bit, which
    lets the engine skip whole periods (``skip``).
    """

    __slots__ = ("first", "gap_s", "k")

    def __init__(self, first: float, gap_s: float) -> None:
        self.first = first
        self.gap_s = gap_s
        self.k = 0

    def __iter__(self) -> PeriodicArrivals:
        return self

    def __next__(self) -> float:
        t = self.first + self.k * self.gap_s
        self.k += 1
        return t

    def skip(self, n: int) -> None:
        """Pass over the next ``n`` arrivals without producing them."""
        self.k += n


def constant(rate: float, start: float, rng: random.Random) -> PeriodicArrivals:
    """Evenly spaced calls, with a random phase so workers do not march in step."""
    gap = 1.0 / rate
    return PeriodicArrivals(start + rng.random() * gap, gap)


def poisson(rate: float, start: float, rng: random.Random) -> Iterator[float]:
    """Independent calls: exponential gaps with mean ``1 / rate``."""
    t = start
    draw, log = rng.random, math.log
    while True:
        t += -log(1.0 - draw()) / rate  # ``rng.expovariate(rate)``, inline (one call less)
        yield t


def diurnal(rate: float, start: float, rng: random.Random) -> Iterator[float]:
    """Poisson calls whose rate follows a daily sine around ``rate`` (thinning)."""
    peak = rate * (1.0 + DIURNAL_AMPLITUDE)
    t = start
    draw, log = rng.random, math.log
    omega = 2.0 * math.pi / DAY_S
    while True:
        t += -log(1.0 - draw()) / peak  # ``rng.expovariate(peak)``, inline
        wanted = rate * (1.0 + DIURNAL_AMPLITUDE * math.sin(omega * (t - start)))
        if draw() * peak < wanted:
            yield t


def burst(rate: float, start: float, rng: random.Random) -> Iterator[float]:
    """Poisson bursts at ``rate / BURST_DUTY`` during the first part of each period."""
    on_s = BURST_PERIOD_S * BURST_DUTY
    inner = rate / BURST_DUTY
    t = start
    draw, log = rng.random, math.log
    while True:
        t += -log(1.0 - draw()) / inner  # ``rng.expovariate(inner)``, inline
        offset = (t - start) % BURST_PERIOD_S
        if offset >= on_s:
            # Skip the silent part: the process is memoryless, so resuming at
            # the next burst start keeps the in-burst rate exact.
            t += BURST_PERIOD_S - offset
            continue
        yield t


MAX_PERIOD_S = 3600
"""Longer common periods are not looked for (``quotalab.sim.cycles``)."""


def common_period(
    arrivals: Sequence[Iterator[float]], start: float, end: float
) -> tuple[int, list[int]] | None:
    """``(P, arrivals per period of each worker)`` if every worker's arrivals repeat exactly."""
    grid = math.ulp(start)
    if grid <= 0 or math.ulp(end) != grid or grid > 2.0**-4:
        return None
    period = 1
    gaps: list[Fraction] = []
    for times in arrivals:
        if not isinstance(times, PeriodicArrivals):
            return None
        gap = Fraction(times.gap_s)
        if gap <= 0 or (gap / Fraction(grid)).denominator != 1:
            return None  # not whole grid steps: first + k * gap would round
        period = math.lcm(period, gap.numerator)  # smallest whole seconds of whole gaps
        if period > MAX_PERIOD_S:
            return None
        gaps.append(gap)
    return period, [int(period / gap) for gap in gaps]


def arrivals(model: str, rate: float, start: float, rng: random.Random) -> Iterator[float]:
    """The arrival times of one worker under ``model`` at ``rate`` calls per second."""
    if rate <= 0 or not math.isfinite(rate):
        raise InputError(f"--rate must be a positive number of calls per second, got {rate}")
    if model == "constant":
        return constant(rate, start, rng)
    if model == "poisson":
        return poisson(rate, start, rng)
    if model == "diurnal":
        return diurnal(rate, start, rng)
    if model == "burst":
        return burst(rate, start, rng)
    known = ", ".join(TRAFFIC_MODELS)
    raise InputError(f"unknown traffic model {model!r}: expected one of {known}")

"""Each traffic model delivers its mean rate, deterministically per seed."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from quotalab.errors import InputError
from quotalab.sim.duration import parse_duration
from quotalab.sim.traffic import BURST_DUTY, BURST_PERIOD_S, TRAFFIC_MODELS, arrivals

START = 1_800_000_000.0


def count_before(model: str, rate: float, horizon_s: float, seed: int = 1) -> int:
    times = arrivals(model, rate, START, random.Random(seed))
    return sum(1 for _ in itertools.takewhile(lambda t: t < START + horizon_s, times))


@pytest.mark.parametrize("model", TRAFFIC_MODELS)
def test_each_model_delivers_its_mean_rate_over_a_day(model: str) -> None:
    rate, horizon = 0.5, 86400.0
    expected = rate * horizon
    got = count_before(model, rate, horizon)
    # Five standard deviations of a Poisson count; constant is exact to one call.
    assert abs(got - expected) <= 5 * math.sqrt(expected), (model, got, expected)


@pytest.mark.parametrize("model", TRAFFIC_MODELS)
def test_arrivals_increase_and_repeat_for_a_seed(model: str) -> None:
    first = list(itertools.islice(arrivals(model, 2.0, START, random.Random(7)), 500))
    again = list(itertools.islice(arrivals(model, 2.0, START, random.Random(7)), 500))
    other = list(itertools.islice(arrivals(model, 2.0, START, random.Random(8)), 500))
    assert first == again
    assert first != other
    assert all(b > a for a, b in itertools.pairwise(first))
    assert first[0] >= START


def test_poisson_gaps_are_the_generators_own_exponential_draws() -> None:
    """The gaps are drawn inline, as ``Random.expovariate`` draws them: the same seed
    gives the same arrivals, bit for bit, as summing its draws (a Python whose
    ``expovariate`` drew otherwise would fail here, not change reports unseen)."""
    for seed in range(5):
        drawn = random.Random(seed)
        t, expected = 100.0, []
        for _ in range(1000):
            t += drawn.expovariate(2.5)
            expected.append(t)
        got = list(itertools.islice(arrivals("poisson", 2.5, 100.0, random.Random(seed)), 1000))
        assert got == expected


def test_constant_traffic_is_evenly_spaced() -> None:
    times = list(itertools.islice(arrivals("constant", 4.0, START, random.Random(3)), 100))
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(times)}
    assert gaps == {0.25}


def test_burst_traffic_is_silent_between_bursts() -> None:
    times = itertools.takewhile(
        lambda t: t < START + 3 * BURST_PERIOD_S, arrivals("burst", 1.0, START, random.Random(5))
    )
    offsets = [(t - START) % BURST_PERIOD_S for t in times]
    assert offsets
    assert max(offsets) < BURST_PERIOD_S * BURST_DUTY


def test_diurnal_traffic_peaks_in_the_first_half_day() -> None:
    times = list(
        itertools.takewhile(
            lambda t: t < START + 86400, arrivals("diurnal", 1.0, START, random.Random(9))
        )
    )
    first_half = sum(1 for t in times if t < START + 43200)
    assert first_half > 1.5 * (len(times) - first_half)


def test_unknown_model_and_bad_rate_are_input_errors() -> None:
    with pytest.raises(InputError, match="expected one of constant, poisson"):
        arrivals("steady", 1.0, START, random.Random(0))
    with pytest.raises(InputError, match="--rate"):
        arrivals("poisson", 0.0, START, random.Random(0))


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90.0), ("15m", 900.0), ("24h", 86400.0), ("2d", 172800.0)]
)
def test_durations_with_units(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["24x", "h", "-5m", "0s", "1.5.2h"])
def test_bad_durations_name_the_accepted_units(text: str) -> None:
    with pytest.raises(InputError, match=r"s/m/h/d|s, m, h, d|positive"):
        parse_duration(text)

"""Trust: one short scenario played live (locust against the real server) and simulated.

The scenario is ``twitter``: 5 users of one app for 10 s, naive and
cached+backoff. Twitter's token negotiation limit is a fixed window (15 per
60 s per app), so the throttled count depends on how many calls were made,
not on how evenly a busy machine spaced them (an Auth0 token bucket's would).

Tolerance: token requests and throttled answers of the two runs agree within
25% (plus 3 requests of slack for tiny counts). A busy machine may keep
locust below the scenario's rate or shorten its active window, so the
simulation plays the load the live run actually offered: its number of calls
over the seconds in which requests were seen. The comparison is of the
limiter and strategy behaviour under the same load.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from quotalab.run.orchestrate import run_comparison
from quotalab.run.settings import build_settings
from quotalab.sim.scenario import SimSettings, run_strategy
from quotalab.strategies import NAMES

USERS, RATE, DURATION_S = 5, 2.0, 10.0
RELATIVE, SLACK = 0.25, 3


def agree(live: int, simulated: int) -> bool:
    return abs(live - simulated) <= RELATIVE * max(live, simulated) + SLACK


def active_seconds(*series: tuple[int, ...]) -> float:
    """Seconds from the first to the last one-second bucket with any request."""
    busy = [i for i, counts in enumerate(zip(*series, strict=False)) if any(counts)]
    return float(busy[-1] - busy[0] + 1) if busy else DURATION_S


@pytest.mark.live
def test_live_and_simulated_runs_agree(tmp_path: Path) -> None:
    settings = build_settings(
        scenario="twitter",
        strategies="naive,cached+backoff",
        known_strategies=NAMES,
        users=USERS,
        rate=RATE,
        duration=f"{DURATION_S:g}s",
        profile=None,
        processes=1,
        config=None,
        target=None,
        out_dir=tmp_path / "reports",
        gate=None,
    )
    live = {figures.strategy: figures for figures in run_comparison(settings, tmp_path).figures}
    for strategy in ("naive", "cached+backoff"):
        got = live[strategy]
        started = got.counts.calls
        assert started > 0.5 * USERS * RATE * DURATION_S, "the live run barely ran"
        active_s = active_seconds(got.series.token_requests, got.series.api_ok)
        # Locust users of one client id share one token cache: one client, USERS workers.
        simulated = run_strategy(
            SimSettings(
                clients=1,
                workers_per_client=USERS,
                shared_cache=True,
                rate=started / active_s,
                duration_s=active_s,
                traffic="constant",
                profile="twitter",
            ),
            strategy,
        )
        (tally,) = simulated.result.tallies.values()
        pairs = {
            "token_requests": (got.counts.token_requests, tally.token_requests),
            "throttled": (got.counts.throttled, tally.throttled),
        }
        for name, (live_n, sim_n) in pairs.items():
            assert agree(live_n, sim_n), f"{strategy} {name}: live {live_n}, simulated {sim_n}"
    # The comparison is not vacuous: naive really is throttled (403 code 99).
    assert live["naive"].counts.forbidden_403_99 > 0

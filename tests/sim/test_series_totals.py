"""A run's per-bucket series add up to its per-client tallies, whatever the provider.

The report draws the series and prints the tallies: a throttle counted in one
and not the other (Entra's 400 loop refusal once was) shows a chart that
contradicts the table.
"""

from __future__ import annotations

import pytest

from quotalab.sim.scenario import SimSettings, run_strategy


@pytest.mark.parametrize("profile", ["auth0", "twitter", "entra", "okta"])
@pytest.mark.parametrize("strategy", ["naive", "backoff", "cached"])
def test_series_add_up_to_the_tallies(profile: str, strategy: str) -> None:
    settings = SimSettings(
        profile=profile, clients=4, duration_s=60.0, traffic="burst", rate=20.0, seed=2
    )
    run = run_strategy(settings, strategy)
    tallies = run.result.tallies.values()
    series = {name: sum(values) for name, values in run.result.series.values.items()}
    assert series["calls"] == sum(t.calls for t in tallies)
    assert series["ok"] == sum(t.ok for t in tallies)
    assert series["failed"] == sum(t.failed for t in tallies)
    assert series["token_requests"] == sum(t.token_requests for t in tallies)
    assert series["api_ok"] == sum(t.api_ok for t in tallies)
    assert series["throttled"] == sum(t.throttled for t in tallies)
    if strategy == "naive":  # 80 calls/s in bursts of 10x: every provider throttles naive
        assert series["throttled"] > 0

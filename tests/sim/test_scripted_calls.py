"""Naive calls played from their arrival (``quotalab.sim.scripted_calls``) report as played.

The engine plays a naive call without its flow, skips the limiter inside a
proven refusal, and hands the call to a real flow whenever something
unusual happens. Each scenario runs through the script and through the full
provider path (``fast_path=False``: real flows, every request parsed), and
every reported figure must be equal.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quotalab.limits import Algorithm, Decision, MemoryStore
from quotalab.sim.engine_types import Worker
from quotalab.sim.fast_provider import FastProvider
from quotalab.sim.scenario import SimSettings, run_strategy
from quotalab.sim.scripted_calls import ScriptedCalls
from quotalab.sim.token_grants import Issued
from tests.sim.both_ways import play_both_ways
from tests.sim.test_fast_forward import observable

TWEAKS = {
    "none": "",
    "tight token bucket": "[limits.oauth_token]\nburst = 2\nrefill_rate = 3\n",
    "interval refill": '[limits.oauth_token]\nrefill = "interval"\nburst = 4\nrefill_rate = 9\n',
    "tight api bucket": "[limits.api]\nburst = 2\nrefill_rate = 4\n",
    "quota runs out": '[limits.m2m_quota]\nlimit = 300\nenforce = true\nperiod = "day"\n',
    "tokens of a second": "[provider]\ntoken_lifetime_s = 1\nvalidation_leeway_s = 0\n",
    "opaque token": (
        "[responses.token_ok]\nstatus = 200\n"
        'body = \'{"access_token":"opaque","expires_in":${expires_in}}\'\n'
    ),
    "no access token": "[responses.token_ok]\nstatus = 200\nbody = '{\"expires_in\":60}'\n",
    "per-client token limit": (
        '[limits.oauth_token]\nkey = ["client"]\nburst = 1\nrefill_rate = 2\n'
    ),
    "token limit not enforced": (
        "[limits.oauth_token]\nenforce = false\nburst = 2\nrefill_rate = 3\n"
    ),
    "quota spent, not enforced": '[limits.m2m_quota]\nlimit = 25\nperiod = "day"\n',
    "two request rules": (
        '[endpoints.token]\nlimits = ["oauth_token", "api", "m2m_quota"]\n'
        "[limits.oauth_token]\nburst = 5\nrefill_rate = 10\n"
    ),
}
FAULTS = {
    "none": None,
    "token 503s": {"endpoints": {"token": {"probability": 0.1}}},
    "token latency": {"endpoints": {"token": {"latency_ms": 15}}},
    "api 503s": {"endpoints": {"api_data": {"probability": 0.1}}},
    "api latency": {"endpoints": {"api_data": {"latency_ms": 40}}},
    "clock skew": {"clock_offset_s": -3.5},
}


def both_ways(
    tmp_path: Path, settings: SimSettings, tweak: str, faults: str
) -> tuple[dict[str, object], dict[str, object], int, int]:
    scripted, played = play_both_ways(tmp_path, settings, "naive", TWEAKS[tweak], FAULTS[faults])
    return (
        observable(scripted),
        observable(played),
        scripted.result.events,
        played.result.events,
    )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    tweak=st.sampled_from(sorted(TWEAKS)),
    faults=st.sampled_from(sorted(FAULTS)),
    traffic=st.sampled_from(["poisson", "diurnal", "burst"]),
    clients=st.integers(1, 6),
    workers=st.integers(1, 2),
    rate=st.sampled_from([1.0, 8.0, 40.0]),
    duration_s=st.integers(5, 90),
    seed=st.integers(0, 2**16),
    latency_s=st.sampled_from([0.0, 0.01, 0.02, 0.5, 0.0015, 0.00125]),
)
def test_scripted_naive_calls_report_as_played(
    tmp_path: Path,
    tweak: str,
    faults: str,
    traffic: str,
    clients: int,
    workers: int,
    rate: float,
    duration_s: int,
    seed: int,
    latency_s: float,
) -> None:
    settings = SimSettings(
        clients=clients,
        workers_per_client=workers,
        duration_s=float(duration_s),
        traffic=traffic,
        rate=rate / clients,
        seed=seed,
        latency_s=latency_s,
    )
    scripted, played, _, _ = both_ways(tmp_path, settings, tweak, faults)
    assert scripted == played


@pytest.mark.parametrize("tweak", sorted(TWEAKS))
def test_a_throttled_naive_run_is_scripted(tmp_path: Path, tweak: str) -> None:
    """120 calls/s against 30 tokens/s: most calls are refused, and played without events."""
    settings = SimSettings(clients=8, duration_s=30.0, traffic="poisson", rate=15.0, seed=7)
    scripted, played, scripted_events, played_events = both_ways(tmp_path, settings, tweak, "none")
    assert scripted == played
    tallies = scripted["tallies"]
    assert isinstance(tallies, dict)
    calls = sum(t["calls"] for t in tallies.values())
    assert calls > 2000
    if tweak in ("none", "tight token bucket", "interval refill", "per-client token limit"):
        # A refused call costs its arrival alone; a played one at least two events.
        assert scripted_events < 1.5 * calls < played_events


def test_more_clients_than_the_fast_provider_keeps_plans_for_report_as_played(
    tmp_path: Path,
) -> None:
    """Plans are forgotten past 4,096 token requests: a client counted in bulk
    whose plan was forgotten is still counted, for whom it was."""
    settings = SimSettings(clients=5000, duration_s=40.0, traffic="poisson", rate=0.05, seed=3)
    scripted, played, _, _ = both_ways(tmp_path, settings, "none", "none")
    assert scripted == played
    tallies = scripted["tallies"]
    assert isinstance(tallies, dict)
    assert sum(t["token_throttled"] for t in tallies.values()) > 1000


@pytest.mark.parametrize("latency_s", [0.0015, 0.00125, 0.02])
def test_calls_counted_in_bulk_report_as_played(
    tmp_path: Path, latency_s: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused and served calls counted in bulk report what each call counts played.

    A call of 1.5 ms played at epoch times lasts ``(t + 0.0015) - t``, which
    the latency histogram files under 1 ms, not the 2 ms of ``0.0015`` itself;
    served calls of 1.25 ms latency last 3 ms, not 2.5: bulk counting must
    not file them under the nominal latency.
    """
    bulks: list[int] = []
    counted = FastProvider.count_refused

    def count_refused(self: FastProvider, counted_id: str, counter: str, calls: int) -> None:
        bulks.append(calls)
        counted(self, counted_id, counter, calls)

    served: list[float] = []
    serve = ScriptedCalls._serve

    def spied_serve(self: ScriptedCalls, worker: Worker, started_at: float, issued: Issued) -> None:
        served.append(started_at)
        serve(self, worker, started_at, issued)

    monkeypatch.setattr(FastProvider, "count_refused", count_refused)
    monkeypatch.setattr(ScriptedCalls, "_serve", spied_serve)
    settings = SimSettings(
        clients=4, duration_s=60.0, traffic="poisson", rate=20.0, seed=5, latency_s=latency_s
    )
    scripted, played, _, _ = both_ways(tmp_path, settings, "none", "none")
    assert scripted == played
    if latency_s != 0.0015:  # the bulk path really ran: most refusals counted at the end
        assert max(bulks) > 100
    if latency_s == 0.02:  # and served calls were counted at their token's arrival
        assert len(served) > 1000


def test_a_spent_quota_that_lets_tokens_through_is_not_asked_again_until_its_period_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Across an hour boundary the hourly quota counts again, as played; inside an hour a
    spent quota is not applied per token."""
    applied: list[str] = []
    apply = MemoryStore.apply

    def counting(
        self: MemoryStore, algorithm: Algorithm, key: str, now: float, cost: int = 1
    ) -> Decision:
        applied.append(key)
        return apply(self, algorithm, key, now, cost)

    monkeypatch.setattr(MemoryStore, "apply", counting)
    settings = SimSettings(
        clients=2, duration_s=3700.0, traffic="poisson", rate=0.5, seed=2, latency_s=0.02
    )
    config = tmp_path / "quota.toml"
    config.write_text('[limits.m2m_quota]\nlimit = 20\nperiod = "hour"\n', encoding="utf-8")
    settings = dataclasses.replace(settings, config_path=str(config), strategies=("naive",))
    scripted = run_strategy(settings, "naive")
    quota_applies = sum(key.startswith("m2m_quota:") for key in applied)
    applied.clear()
    played = run_strategy(dataclasses.replace(settings, fast_path=False), "naive")
    assert observable(scripted) == observable(played)
    tallies = scripted.result.tallies.values()
    assert sum(t.tokens_issued for t in tallies) > 1000
    assert 40 <= quota_applies < 50  # 20 an hour, then nothing until the next hour
    assert sum(key.startswith("m2m_quota:") for key in applied) > 1000


@pytest.mark.parametrize("faults", ["token latency", "api latency"])
def test_an_injected_latency_ends_a_call_when_played(tmp_path: Path, faults: str) -> None:
    """A call handed to its flow resumes at ``t + (latency + injected)``, the engine's own
    sum: ``(t + latency) + injected`` rounds elsewhere (17 ms against 18 here)."""
    settings = SimSettings(
        clients=2, duration_s=20.0, traffic="poisson", rate=2.0, seed=0, latency_s=0.00125
    )
    scripted, played, _, _ = both_ways(tmp_path, settings, "none", faults)
    assert scripted == played

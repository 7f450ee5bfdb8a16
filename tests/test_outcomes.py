"""One classifier and one count model: a live run and a simulation count answers alike."""

from __future__ import annotations

import pytest

from quotalab.outcomes import KIND_NAMES, ClientTally, answer_kind
from quotalab.report.counted import measurements_from_counts
from quotalab.run.live_measurements import figures_of
from quotalab.run.live_tally import Tally, classify
from quotalab.run.reporting import measurements_of
from quotalab.wire import HttpResponse, TransportError

CODE_99 = b'{"errors":[{"code":99,"message":"Unable to verify your credentials"}]}'
LOOP = b'{"error":"invalid_grant","error_description":"AADSTS50196: The server terminated...'
START = 1_800_000_000.0

ANSWERS: list[tuple[str, HttpResponse | TransportError]] = [
    ("token", HttpResponse(200)),
    ("api", HttpResponse(200)),
    ("token", HttpResponse(429)),
    ("api", HttpResponse(429)),
    ("token", HttpResponse(403, body=CODE_99)),
    ("token", HttpResponse(401)),
    ("api", HttpResponse(403, body=b'{"error":"access_denied"}')),
    ("api", HttpResponse(401)),
    ("token", HttpResponse(503)),
    ("api", TransportError("refused")),
    ("api", HttpResponse(500)),
    ("token", HttpResponse(400, body=LOOP)),
]


@pytest.mark.parametrize(("purpose", "answer"), ANSWERS)
def test_the_live_tally_names_the_simulations_kind(
    purpose: str, answer: HttpResponse | TransportError
) -> None:
    name = classify(answer)
    assert name == KIND_NAMES[answer_kind(answer)] or (
        name == "transport" and KIND_NAMES[answer_kind(answer)] == "fault_503"
    )


def test_a_live_tally_and_a_simulated_tally_make_the_same_measurements() -> None:
    simulated = ClientTally()
    live = Tally()
    for purpose, answer in ANSWERS:
        simulated.count(purpose, answer_kind(answer))
        live.record_exchange(START, purpose, classify(answer), 1.0)
    for ending in ("ok", "ok", "ThrottledError"):
        simulated.count_call(None if ending == "ok" else ending)
        live.record_flow(ending)
        live.record_call_latency(1.0)  # whole calls are timed, live as in the simulation
    from_live = measurements_of(figures_of("s", live, None, START, 1.0))
    from_sim = measurements_from_counts(
        simulated, duration_s=1.0, latency_histogram_ms={1: 3}, series=from_live.series
    )
    assert from_live == from_sim
    assert (from_sim.auth_failures_401_403, from_sim.faults_503) == (3, 2)
    assert (from_sim.throttled_429, from_sim.forbidden_403_99) == (2, 1)
    assert from_sim.throttled_4xx == 1  # Entra's loop detection is a throttle too
    assert (from_sim.calls, from_sim.calls_ok) == (3, 2)


def test_entras_loop_detection_counts_in_the_throttled_ratio_of_reports() -> None:
    """A gate on ``throttled_ratio`` must not let a looping client through."""
    from quotalab.report.figures import figures_of as report_figures
    from quotalab.report.values import QuotaPlan
    from quotalab.sim.scenario import SimSettings, run_strategy

    settings = SimSettings(
        profile="entra", clients=1, duration_s=120.0, rate=2.0, strategies=("naive",), seed=3
    )
    tally = ClientTally()
    for client in run_strategy(settings, "naive").result.tallies.values():
        tally.merge(client)
    assert tally.throttled_4xx > tally.throttled_429 > 0  # the loop detector answers most
    measured = measurements_from_counts(
        tally, duration_s=120.0, latency_histogram_ms={1: 1}, series=None
    )
    figures = report_figures("naive", measured, QuotaPlan())
    wire = tally.api_calls + tally.token_requests
    assert figures.throttled_4xx == tally.throttled_4xx
    expected = (tally.throttled_429 + tally.throttled_4xx) / wire
    assert figures.throttled_ratio == pytest.approx(expected, abs=1e-4)


def test_a_live_run_reads_the_servers_4xx_throttles() -> None:
    from quotalab.run.live_measurements import server_counts

    counts = server_counts({"token_requests": 220, "throttled_429": 10, "throttled_4xx": 190})
    assert (counts.token_throttled, counts.throttled_4xx) == (200, 190)

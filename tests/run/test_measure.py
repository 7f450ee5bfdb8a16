"""Figures: server counts win where the server saw the traffic; series per second."""

from __future__ import annotations

from quotalab.gate.checks import check_evidence
from quotalab.outcomes import ClientTally
from quotalab.report import RunMeta, TimeSeries, build_report, to_document
from quotalab.run.live_measurements import count_flows, disagreements, figures_of, server_totals
from quotalab.run.live_tally import Tally
from quotalab.run.orchestrate import untrustworthy
from quotalab.run.reporting import measurements_of

START = 1_800_000_000.0
META = RunMeta(mode="live", profile="auth0", scenario="steady", generated_at="2025-01-01T00:00:00Z")

SERVER = {
    "token_requests": 3,
    "tokens_issued": 1,
    "throttled_429": 1,
    "api_calls": 1,
    "api_ok": 1,
    "api_429": 4,
}


def tally() -> Tally:
    t = Tally()
    t.record_exchange(START + 0.2, "token", "ok", 5)
    t.record_exchange(START + 0.4, "api", "ok", 10)
    t.record_exchange(START + 1.1, "token", "throttled_429", 2)
    t.record_exchange(START + 1.3, "token", "auth_401_403", 2)
    t.record_exchange(START + 2.5, "api", "transport", 1)
    return t


def test_counts_come_from_the_server_and_unseen_failures_from_the_client() -> None:
    stats = {"clients": {"demo-client": SERVER, "someone-else": {"token_requests": 100}}}
    server = server_totals(stats, ["demo-client"])
    figures = figures_of("naive", tally(), server, START, 3)
    counts = figures.counts
    assert figures.source == "server"
    assert counts.throttled_429 == 1 + 4  # token and API 429s
    assert counts.auth_failures_401_403 == 1  # the token endpoint's 401, seen by the client
    assert counts.faults_503 == 1  # a transport error never reaches the server
    assert figures.series.token_requests == (1, 2, 0)
    assert figures.series.throttled == (0, 1, 0)
    assert figures.series.api_ok == (1, 0, 0)
    assert disagreements(figures) == ["api_calls: server 1, client 2"]


def test_without_server_counts_the_client_tally_stands_alone() -> None:
    figures = figures_of("naive", tally(), None, START, 3)
    counts = figures.counts
    assert figures.source == "client"
    assert (counts.token_requests, counts.tokens_issued, counts.api_calls) == (3, 1, 2)
    assert disagreements(figures) == []


def test_calls_cut_off_at_stop_are_attempted_calls_that_did_not_succeed() -> None:
    counts = ClientTally()
    count_flows(counts, {"ok": 361, "ThrottledError": 89, "abandoned": 4})
    assert (counts.calls, counts.ok, counts.failed) == (454, 361, 93)
    assert counts.errors == {"ThrottledError": 89, "abandoned": 4}


def test_a_call_that_never_ended_is_no_call_whatever_the_server_saw() -> None:
    """A call_api that hangs after its requests reached the server: the report says no
    call was made (so every gate fails it), not the server's 2 API requests as 2 calls."""
    server = {**SERVER, "token_requests": 1, "tokens_issued": 1, "api_calls": 2, "api_ok": 2}
    measured = measurements_of(figures_of("hangs:factory", Tally(), server, START, 2.0))
    assert (measured.calls, measured.calls_ok, measured.api_calls) == (0, 0, 2)
    report = build_report(META, {"hangs:factory": measured})
    assert [r.name for r in check_evidence(to_document(report))] == ["made_calls"]


def test_per_1k_calls_divides_by_every_call_that_made_the_requests() -> None:
    # 10 naive calls each took a token; 2 were cut off at stop before their API call.
    tally = Tally()
    for i in range(10):
        tally.record_exchange(START + i, "token", "ok", 3)
    for i in range(8):
        tally.record_exchange(START + i, "api", "ok", 3)
        tally.record_flow("ok")
    tally.record_flow("abandoned")
    tally.record_flow("abandoned")
    server = {"token_requests": 10, "tokens_issued": 10, "api_calls": 8, "api_ok": 8}
    figures = figures_of("naive", tally, server, START, 10.0)
    measured = measurements_of(figures)
    assert measured.token_requests / measured.calls * 1000 == 1000  # by design, not 1,250
    assert figures.first_messages["abandoned"].startswith("cut off when the run stopped")


def own_client_tally() -> Tally:
    """An own client: 8 calls returned 200, 2 raised its SDK's rate-limit error."""
    t = Tally()
    for i in range(8):
        t.record_exchange(START + i * 0.3, "call", "ok", 12)
        t.record_flow("ok")
    for _ in range(2):
        t.record_exchange(START + 2.9, "call", "throttled_429", 3)
        t.record_flow("RateLimitError", throttled=True, message="429: Too Many Requests")
    return t


def test_an_own_client_takes_every_request_count_from_the_server() -> None:
    server = {**SERVER, "token_requests": 10, "tokens_issued": 8, "api_calls": 8, "api_ok": 8}
    series = TimeSeries(1.0, (4, 6, 0), (0, 2, 0), (3, 5, 0))
    figures = figures_of("mine:factory", own_client_tally(), server, START, 3, series)
    assert figures.counts.token_requests == 10
    assert figures.counts.throttled_429 == 1 + 4
    assert (figures.counts.calls, figures.counts.ok) == (10, 8)
    assert figures.series is series and figures.series_source == "server"
    # The client never saw its own requests: nothing to compare, no false warning.
    assert figures.client_counts == {}
    assert disagreements(figures) == []
    assert sum(figures.latency_histogram.values()) == 10  # every call's latency, raised too


def test_an_own_client_raising_fails_its_calls_in_the_report() -> None:
    figures = figures_of("mine:factory", own_client_tally(), dict(SERVER), START, 3)
    measured = measurements_of(figures)
    assert (measured.calls, measured.calls_ok) == (10, 8)
    (failed,) = measured.failures
    assert (failed.reason, failed.calls, failed.throttled) == ("RateLimitError", 2, 2)
    assert failed.first_message == "429: Too Many Requests"


def test_an_own_clients_refused_credentials_are_auth_failures_from_the_server() -> None:
    tally = Tally()
    for i in range(6):
        tally.record_exchange(START + i, "call", "other", 3)
        tally.record_flow("HTTPError", message="401 Client Error")
    server = server_totals(
        {"clients": {"anonymous": {"api_calls": 2, "api_401": 2}, "x": {"token_401": 4}}}, []
    )
    figures = figures_of("mine:factory", tally, server, START, 6.0)
    assert figures.counts.auth_failures_401_403 == 6
    assert figures.counts.api_calls == 2  # anonymous calls of the run are the run's


def test_calls_none_of_whose_requests_the_server_counted_are_no_evidence() -> None:
    """A wrong --target (every token request a 404 the server counts nowhere): the run
    says so and fails, as the gate does, instead of reporting 0 token requests per 1k."""
    tally = Tally()
    for i in range(14):
        tally.record_exchange(START + i * 0.1, "token", "http_404", 3)
        tally.record_flow("StrategyError", message="token request: failed (HTTP 404)")
    figures = figures_of("naive", tally, {}, START, 2.0)
    assert (figures.counts.calls, figures.counts.token_requests) == (14, 0)
    assert untrustworthy(figures, own_client=False) == [
        "naive: none of its 14 calls sent a request the server counted, so nothing was "
        "measured (a wrong --target or token URL?)"
    ]
    report = build_report(META, {"naive": measurements_of(figures)})
    assert [r.name for r in check_evidence(to_document(report))] == ["reached_server"]

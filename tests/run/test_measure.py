"""Figures: server counts win where the server saw the traffic; series per second."""

from __future__ import annotations

from quotalab.run.live_measurements import disagreements, figures_of, server_totals
from quotalab.run.live_tally import Tally

START = 1_800_000_000.0


def tally() -> Tally:
    t = Tally()
    t.record_exchange(START + 0.2, "token", "ok", 5)
    t.record_exchange(START + 0.4, "api", "ok", 10)
    t.record_exchange(START + 1.1, "token", "throttled_429", 2)
    t.record_exchange(START + 1.3, "token", "auth_401", 2)
    t.record_exchange(START + 2.5, "api", "transport", 1)
    return t


def test_counts_come_from_the_server_and_unseen_failures_from_the_client() -> None:
    stats = {
        "clients": {
            "demo-client": {
                "token_requests": 3,
                "tokens_issued": 1,
                "throttled_429": 1,
                "api_calls": 1,
                "api_ok": 1,
                "api_429": 4,
            },
            "someone-else": {"token_requests": 100},
        }
    }
    server = server_totals(stats, ["demo-client"])
    figures = figures_of("naive", tally(), server, START, 3)
    assert figures.source == "server"
    assert figures.throttled_429 == 1 + 4  # token and API 429s
    assert figures.auth_failures_401_403 == 1  # the token endpoint's 401, seen by the client
    assert figures.faults_503 == 1  # a transport error never reaches the server
    assert figures.series.token_requests == (1, 2, 0)
    assert figures.series.throttled == (0, 1, 0)
    assert figures.series.api_ok == (1, 0, 0)
    assert disagreements(figures) == ["api_calls: server 1, client 2"]


def test_without_server_counts_the_client_tally_stands_alone() -> None:
    figures = figures_of("naive", tally(), None, START, 3)
    assert figures.source == "client"
    assert (figures.token_requests, figures.tokens_issued, figures.api_calls) == (3, 1, 2)
    assert disagreements(figures) == []


def test_calls_count_finished_flows_and_ignore_abandoned_ones() -> None:
    from quotalab.run.reporting import calls_of

    flows = {"ok": 361, "ThrottledError": 89, "abandoned": 4}
    assert calls_of(flows) == (450, 361)
    assert calls_of({"abandoned": 3}) == (None, None)
    assert calls_of({}) == (None, None)

"""What the locust process records for an own client, and the server's per-second series."""

from __future__ import annotations

import requests

from quotalab.clock import VirtualClock
from quotalab.counters import MemoryCounters
from quotalab.locust.recorder import Recorder, status_of
from quotalab.run.server_series import SeriesCounters

START = 1_800_000_000.0


class Answer:
    status_code = 204


def test_a_raised_call_is_a_failed_call_never_a_lost_one() -> None:
    recorder = Recorder()
    response = requests.Response()
    response.status_code = 429
    response._content = b'{"error":"too_many_requests"}'
    recorder.record_own_call(START, 200, 5.0)
    recorder.record_own_call(START, 429, 5.0)
    recorder.record_own_failure(
        START + 0.5, requests.HTTPError("429 Too Many", response=response), 2
    )
    recorder.record_own_failure(START + 0.6, KeyError("access_token"), 1.0)
    tally = recorder.tally
    assert tally.flows == {"ok": 1, "http_429": 1, "HTTPError": 1, "KeyError": 1}
    assert tally.throttled_flows == {"http_429": 1, "HTTPError": 1}
    assert tally.first_messages == {"HTTPError": "429 Too Many", "KeyError": "'access_token'"}
    # Only calls are counted: the requests behind them are the server's to count.
    assert tally.total("token") == tally.total("api") == 0
    assert tally.total("call") == 4


def test_a_strategy_giving_up_is_listed_with_its_message() -> None:
    from quotalab.errors import CredentialsError, ThrottledError

    recorder = Recorder()
    recorder.record_strategy_error(ThrottledError("still throttled after 3 tries", 429))
    recorder.record_strategy_error(CredentialsError("invalid_client", 401))
    assert recorder.tally.throttled_flows == {"ThrottledError": 1}
    assert recorder.tally.first_messages["CredentialsError"] == "invalid_client"


def test_call_api_answers_read_as_statuses() -> None:
    assert [status_of(a) for a in (200, Answer(), None, "200", True)] == [200, 204, 0, 0, 0]


def test_the_server_keeps_per_second_series_per_client() -> None:
    clock = VirtualClock(START)
    counters = SeriesCounters(MemoryCounters(), clock.now)
    counters.incr("mine", "token_requests")
    counters.incr("mine", "throttled_429")
    counters.incr("someone-else", "token_requests", 5)
    clock.advance(2.2)
    counters.incr("mine", "api_ok", 3)
    counters.incr("mine", "api_429")
    series = counters.series(["mine"], START, 3.0)
    assert series.token_requests == (1, 0, 0)
    assert series.throttled == (1, 0, 1)
    assert series.api_ok == (0, 0, 3)
    assert counters.snapshot()["mine"]["api_ok"] == 3
    counters.reset()
    assert counters.series(["mine"], START, 1.0).token_requests == (0,)
    assert counters.snapshot() == {}

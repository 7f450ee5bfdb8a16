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
    assert [status_of(a) for a in (200, Answer(), 599, 100)] == [200, 204, 599, 100]
    for not_a_status in (None, "200", 200.0, True, 10**30, -200, 0, 99, 600):
        assert status_of(not_a_status) is None, not_a_status


def test_an_answer_that_is_no_status_is_a_failed_call_saying_so() -> None:
    recorder = Recorder()
    for answer in (None, "200", 200.0, True, 10**30, -200):
        recorder.record_own_call(START, answer, 1.0)
    recorder.record_own_call(START, 200, 1.0)
    tally = recorder.tally
    assert tally.flows == {"not_an_http_status": 6, "ok": 1}
    message = tally.first_messages["not_an_http_status"]
    assert message.startswith("call_api returned None, which is not an HTTP status")
    assert "100 to 599" in message


def test_an_exception_that_cannot_be_printed_is_still_counted() -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    recorder = Recorder()
    recorder.record_own_failure(START, Unprintable(), 1.0)
    recorder.record_own_failure(START, ValueError("\x1b[31mred\x07 <b>"), 1.0)
    assert recorder.tally.flows == {"Unprintable": 1, "ValueError": 1}
    assert "could not be read" in recorder.tally.first_messages["Unprintable"]
    assert recorder.tally.first_messages["ValueError"] == "\\x1b[31mred\\x07 <b>"


def test_a_custom_strategy_raising_its_own_exception_is_a_classified_failed_call() -> None:
    from quotalab.errors import ThrottledError

    recorder = Recorder()
    try:
        try:
            raise ThrottledError("still throttled", 429)
        except ThrottledError as inner:
            raise RuntimeError("rate limited") from inner
    except RuntimeError as error:
        recorder.record_strategy_error(error)
    recorder.record_strategy_error(KeyError("policy bug"))
    assert recorder.tally.flows == {"RuntimeError": 1, "KeyError": 1}
    assert recorder.tally.throttled_flows == {"RuntimeError": 1}


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

"""The tally: outcome classes, exact merging across processes, percentiles."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quotalab.run.live_tally import OUTCOMES, Tally, classify, percentile_ms
from quotalab.wire import HttpResponse, TransportError

CODE_99 = (
    b'{"errors":[{"label":"authenticity_token_error","code":99,'
    b'"message":"Unable to verify your credentials"}]}'
)


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        (HttpResponse(200), "ok"),
        (HttpResponse(204), "ok"),
        (HttpResponse(429), "throttled_429"),
        (HttpResponse(403, body=CODE_99), "forbidden_403_99"),
        (HttpResponse(403, body=b'{"error":"access_denied"}'), "auth_401_403"),
        (HttpResponse(403, body=b"not json"), "auth_401_403"),
        (HttpResponse(401), "auth_401_403"),
        (HttpResponse(503), "fault_503"),
        (HttpResponse(500), "other"),
        (TransportError("refused"), "transport"),
    ],
)
def test_classifies_each_outcome(reply: HttpResponse | TransportError, outcome: str) -> None:
    assert classify(reply) == outcome


exchange = st.tuples(
    st.floats(min_value=1e9, max_value=1e9 + 100),
    st.sampled_from(["token", "api"]),
    st.sampled_from(OUTCOMES),
    st.floats(min_value=0, max_value=5000),
)


@given(st.lists(exchange, max_size=60), st.lists(st.booleans(), max_size=60))
def test_split_across_processes_merges_to_the_same_tally(
    exchanges: list[tuple[float, str, str, float]], sides: list[bool]
) -> None:
    whole, left, right = Tally(), Tally(), Tally()
    for i, (at, purpose, outcome, latency) in enumerate(exchanges):
        whole.record_exchange(at, purpose, outcome, latency)  # type: ignore[arg-type]
        side = left if (sides[i] if i < len(sides) else False) else right
        side.record_exchange(at, purpose, outcome, latency)  # type: ignore[arg-type]
    merged = Tally()
    # Through JSON, as a worker's report travels to the master.
    merged.merge(Tally.from_json(json.loads(json.dumps(left.to_json()))))
    merged.merge(Tally.from_json(json.loads(json.dumps(right.to_json()))))
    assert merged.exchanges == whole.exchanges
    assert merged.latency == whole.latency
    assert merged.total("token") + merged.total("api") == len(exchanges)


def test_totals_filter_by_outcome() -> None:
    tally = Tally()
    tally.record_exchange(1.5, "token", "ok", 3)
    tally.record_exchange(1.7, "token", "throttled_429", 2)
    tally.record_exchange(2.1, "api", "ok", 9)
    assert tally.total("token") == 2
    assert tally.total("token", ["throttled_429"]) == 1
    assert tally.total("api", ["ok"]) == 1


def test_percentiles_come_from_the_histogram() -> None:
    histogram = {k: 1 for k in range(1, 101)}  # one sample at each of 1..100 ms
    assert percentile_ms(histogram, 0.5) == 50
    assert percentile_ms(histogram, 0.95) == 95
    assert percentile_ms(histogram, 0.99) == 99
    assert percentile_ms({}, 0.5) == 0.0


def test_rejects_a_tally_of_another_version() -> None:
    with pytest.raises(ValueError, match="version"):
        Tally.from_json({"version": 99, "exchanges": [], "latency_ms": [], "flows": {}})

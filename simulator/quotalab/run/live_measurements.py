"""Turn what locust counted and what the server counted into one strategy's figures.

The server is the truth for what reached it (token requests, tokens issued,
API calls, throttling answers, and their per-second series when the run
serves it): it counts per client id in ``/_admin/stats``. The locust tally
adds what only the client sees: latency, refusals of the token endpoint,
transport errors and how each call ended (an own client's exceptions
included). Without server counts (a ``--target`` with no admin API) the tally
stands alone. Both become a ``quotalab.outcomes.ClientTally``, the count model
the simulation uses too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from quotalab.outcomes import ABANDONED, ClientTally
from quotalab.report.values import TimeSeries
from quotalab.run.live_tally import CALL, TRANSPORT, Tally, kind_of

WIRE_PURPOSES = ("token", "api")
"""Purposes of requests the client itself sent (an own client's calls are ``call``)."""

COMPARED = ("api_calls", "token_requests", "tokens_issued")
"""Counts both sides measure when the client sends its requests through quotalab."""


def server_totals(stats: Mapping[str, Any], client_ids: Iterable[str]) -> dict[str, int]:
    """Sum the ``/_admin/stats`` counters of ``client_ids`` (all clients when empty)."""
    clients = stats.get("clients", {})
    if not isinstance(clients, Mapping):
        return {}
    wanted = set(client_ids) or set(clients)
    totals: dict[str, int] = {}
    for client_id, counters in clients.items():
        if client_id not in wanted or not isinstance(counters, Mapping):
            continue
        for name, value in counters.items():
            if isinstance(value, int):
                totals[name] = totals.get(name, 0) + value
    return totals


@dataclass(frozen=True, slots=True)
class Figures:
    """One strategy's measured counts and where each part came from."""

    strategy: str
    duration_s: float
    counts: ClientTally
    latency_histogram: dict[int, int]
    series: TimeSeries
    throttled_flows: dict[str, int]
    first_messages: dict[str, str]
    source: str  # "server" or "client": where the request counts came from
    series_source: str  # "server" or "client": where the per-second series came from
    client_counts: dict[str, int] = field(default_factory=dict)
    """The client's own count of each of ``COMPARED``; empty when it sent no request itself."""


def series_of(tally: Tally, started_s: float, duration_s: float) -> TimeSeries:
    """Per-second counts over ``[started_s, started_s + duration_s)``, plus any tail."""
    first = int(started_s)
    last = max([first + max(1, round(duration_s)) - 1, *(s for s, _, _ in tally.exchanges)])
    size = last - first + 1
    token, throttled, api_ok = [0] * size, [0] * size, [0] * size
    for (second, purpose, outcome), n in tally.exchanges.items():
        index = second - first
        if not 0 <= index < size or purpose not in WIRE_PURPOSES:
            continue
        if purpose == "token":
            token[index] += n
        if outcome in ("throttled_429", "forbidden_403_99", "throttled_4xx"):
            throttled[index] += n
        if purpose == "api" and outcome == "ok":
            api_ok[index] += n
    return TimeSeries(1.0, tuple(token), tuple(throttled), tuple(api_ok))


ABANDONED_MESSAGE = "cut off when the run stopped, while waiting to retry"


def count_flows(counts: ClientTally, flows: Mapping[str, int]) -> None:
    """Count attempted calls into ``counts``, by how each ended.

    A call cut off when the run stopped (``abandoned``: it was sleeping before
    a retry) was attempted, and its requests are in the server's counts: it
    counts as a call that did not succeed, so every per-call figure divides
    the requests by the calls that made them (docs/reports.md).
    """
    for ending, n in flows.items():
        if n > 0:
            counts.count_call(None if ending == "ok" else ending, n)


def tally_counts(tally: Tally) -> ClientTally:
    """The requests the client sent through quotalab, by kind, as the client saw them."""
    counts = ClientTally()
    for (_, purpose, outcome), n in tally.exchanges.items():
        if purpose in WIRE_PURPOSES:
            counts.count(purpose, kind_of(outcome), n)
    return counts


def server_counts(server: Mapping[str, int]) -> ClientTally:
    """The requests the server answered for the client, from its per-client counters."""
    return ClientTally(
        api_calls=server.get("api_calls", 0),
        api_ok=server.get("api_ok", 0),
        token_requests=server.get("token_requests", 0),
        tokens_issued=server.get("tokens_issued", 0),
        token_throttled=server.get("throttled_429", 0)
        + server.get("forbidden_403_99", 0)
        + server.get("throttled_4xx", 0),
        api_throttled=server.get("api_429", 0),
        throttled_429=server.get("throttled_429", 0) + server.get("api_429", 0),
        forbidden_403_99=server.get("forbidden_403_99", 0),
        throttled_4xx=server.get("throttled_4xx", 0),
        auth_failures_401_403=sum(
            server.get(name, 0) for name in ("token_401", "token_403", "api_401", "api_403")
        ),
        faults_503=server.get("faults_503", 0),
    )


def figures_of(
    strategy: str,
    tally: Tally,
    server: Mapping[str, int] | None,
    started_s: float,
    duration_s: float,
    server_series: TimeSeries | None = None,
) -> Figures:
    """Combine server truth (when there is any) with the client's tally."""
    seen = tally_counts(tally)
    sent_itself = seen.token_requests + seen.api_calls > 0
    if server is not None:
        counts = server_counts(server)
        if sent_itself:
            # The client saw refusals of the token endpoint the server does not
            # count as such, and transport errors that never reached the server.
            counts.auth_failures_401_403 = seen.auth_failures_401_403
            counts.faults_503 += _transport_errors(tally)
    else:
        counts = seen
    # quotalab's locust user records every call that ends, so these are the calls: none
    # ended is none made (a call_api that never returns), never the server's API requests.
    count_flows(counts, tally.flows)
    first_messages = dict(tally.first_messages)
    if tally.flows.get(ABANDONED, 0) > 0:
        first_messages.setdefault(ABANDONED, ABANDONED_MESSAGE)
    if server_series is not None:
        series = server_series
    elif sent_itself:
        series = series_of(tally, started_s, duration_s)
    else:  # an own client's requests, and no server series: nothing to chart
        series = TimeSeries(1.0)
    return Figures(
        strategy=strategy,
        duration_s=duration_s,
        counts=counts,
        latency_histogram=tally.histogram(CALL),
        series=series,
        throttled_flows=dict(tally.throttled_flows),
        first_messages=first_messages,
        source="server" if server is not None else "client",
        series_source="server" if server_series is not None else "client",
        client_counts={name: getattr(seen, name) for name in COMPARED} if sent_itself else {},
    )


def _transport_errors(tally: Tally) -> int:
    """Requests of the client that got no answer (so the server never counted them)."""
    return sum(
        n
        for (_, purpose, outcome), n in tally.exchanges.items()
        if purpose in WIRE_PURPOSES and outcome == TRANSPORT
    )


def disagreements(figures: Figures) -> list[str]:
    """Counts both sides measured that differ (lost or unseen requests).

    Only for clients that send their requests through quotalab: an own client
    hides its requests, so the server alone counts them and nothing is compared.
    """
    if figures.source != "server" or not figures.client_counts:
        return []
    return [
        f"{name}: server {getattr(figures.counts, name)}, client {figures.client_counts[name]}"
        for name in COMPARED
        if figures.client_counts[name] != getattr(figures.counts, name)
    ]

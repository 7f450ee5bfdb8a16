"""Turn what locust counted and what the server counted into one strategy's figures.

The server is the truth for what reached it (token requests, tokens issued,
API calls, throttling answers): it counts per client id in ``/_admin/stats``.
The locust tally adds what only the client sees: latency, the time series,
refusals of the token endpoint, transport errors and how each call ended.
Without server counts (a ``--target`` with no admin API) the tally stands alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from quotalab.run.live_tally import Tally, percentile_ms

THROTTLED = ("throttled_429", "forbidden_403_99")
AUTH = ("auth_401", "auth_403")
FAULTS = ("fault_503", "transport")


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
class LiveSeries:
    """Counts per one-second bucket from the start of the strategy's run."""

    token_requests: tuple[int, ...]
    throttled: tuple[int, ...]
    api_ok: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Figures:
    """One strategy's measured figures, named as the report names them."""

    strategy: str
    duration_s: float
    api_calls: int
    api_ok: int
    token_requests: int
    tokens_issued: int
    throttled_429: int
    forbidden_403_99: int
    auth_failures_401_403: int
    faults_503: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    latency_histogram: dict[int, int]
    series: LiveSeries
    flows: dict[str, int]
    source: str  # "server" or "client": where the counts came from
    client_counts: dict[str, int] = field(default_factory=dict)


def series_of(tally: Tally, started_s: float, duration_s: float) -> LiveSeries:
    """Per-second counts over ``[started_s, started_s + duration_s)``, plus any tail."""
    first = int(started_s)
    last = max([first + max(1, round(duration_s)) - 1, *(s for s, _, _ in tally.exchanges)])
    size = last - first + 1
    token, throttled, api_ok = [0] * size, [0] * size, [0] * size
    for (second, purpose, outcome), n in tally.exchanges.items():
        index = second - first
        if not 0 <= index < size:
            continue
        if purpose == "token":
            token[index] += n
        if outcome in THROTTLED:
            throttled[index] += n
        if purpose == "api" and outcome == "ok":
            api_ok[index] += n
    return LiveSeries(tuple(token), tuple(throttled), tuple(api_ok))


def client_counts(tally: Tally) -> dict[str, int]:
    """The report's counts as the client saw them."""
    issued = tally.total("token", ["ok"])
    return {
        "api_calls": tally.total("api"),
        "api_ok": tally.total("api", ["ok"]),
        "token_requests": tally.total("token"),
        "tokens_issued": issued,
        "throttled_429": tally.total("token", ["throttled_429"])
        + tally.total("api", ["throttled_429"]),
        "forbidden_403_99": tally.total("token", ["forbidden_403_99"])
        + tally.total("api", ["forbidden_403_99"]),
        "faults_503": tally.total("token", FAULTS) + tally.total("api", FAULTS),
    }


def counts_from_server(server: Mapping[str, int]) -> dict[str, int]:
    """The report's counts from the server's per-client counters."""
    return {
        "api_calls": server.get("api_calls", 0),
        "api_ok": server.get("api_ok", 0),
        "token_requests": server.get("token_requests", 0),
        "tokens_issued": server.get("tokens_issued", 0),
        "throttled_429": server.get("throttled_429", 0) + server.get("api_429", 0),
        "forbidden_403_99": server.get("forbidden_403_99", 0),
        "faults_503": server.get("faults_503", 0),
    }


def figures_of(
    strategy: str,
    tally: Tally,
    server: Mapping[str, int] | None,
    started_s: float,
    duration_s: float,
) -> Figures:
    """Combine server truth (when there is any) with the client's tally."""
    seen = client_counts(tally)
    counts = counts_from_server(server) if server else seen
    histogram = tally.histogram("api")
    auth = tally.total("token", AUTH) + tally.total("api", AUTH)
    # Transport errors never reach the server: add the client's count of them.
    unseen = tally.total("token", ["transport"]) + tally.total("api", ["transport"])
    return Figures(
        strategy=strategy,
        duration_s=duration_s,
        api_calls=counts["api_calls"],
        api_ok=counts["api_ok"],
        token_requests=counts["token_requests"],
        tokens_issued=counts["tokens_issued"],
        throttled_429=counts["throttled_429"],
        forbidden_403_99=counts["forbidden_403_99"],
        auth_failures_401_403=auth,
        faults_503=counts["faults_503"] + (unseen if server else 0),
        p50_ms=percentile_ms(histogram, 0.50),
        p95_ms=percentile_ms(histogram, 0.95),
        p99_ms=percentile_ms(histogram, 0.99),
        latency_histogram=histogram,
        series=series_of(tally, started_s, duration_s),
        flows=dict(tally.flows),
        source="server" if server else "client",
        client_counts=seen,
    )


def disagreements(figures: Figures) -> list[str]:
    """Counts where the client's tally and the server differ (lost or unseen requests)."""
    if figures.source != "server":
        return []
    server_view = {
        "api_calls": figures.api_calls,
        "token_requests": figures.token_requests,
        "tokens_issued": figures.tokens_issued,
    }
    return [
        f"{name}: server {value}, client {figures.client_counts.get(name, 0)}"
        for name, value in server_view.items()
        if figures.client_counts.get(name, 0) != value
    ]

"""``GET /metrics``: Prometheus text from a per-app registry.

Client counters and limit levels are read from the provider when scraped,
so nothing is counted twice; the app adds responses by status.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from quotalab.server.mock_provider import MockProvider

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ProviderCollector(Collector):
    """Exposes the provider's counters, limits and the app's response counts."""

    def __init__(self, provider: MockProvider) -> None:
        self.provider = provider
        self.responses: dict[int, int] = {}

    def collect(self) -> Iterator[Metric]:
        stats = self.provider.stats()
        events = CounterMetricFamily(
            "quotalab_client_events",
            "Per-client events (see docs/server.md)",
            labels=["client", "event"],
        )
        for client, names in sorted(stats["clients"].items()):
            for name, value in sorted(names.items()):
                events.add_metric([client, name], value)
        yield events
        remaining = GaugeMetricFamily(
            "quotalab_limit_remaining", "Requests left under a limit key", labels=["key"]
        )
        limit = GaugeMetricFamily("quotalab_limit_limit", "Size of a limit key", labels=["key"])
        for key, values in sorted(stats["limits"].items()):
            remaining.add_metric([key], values["remaining"])
            limit.add_metric([key], values["limit"])
        yield remaining
        yield limit
        responses = CounterMetricFamily(
            "quotalab_http_responses", "HTTP responses sent, by status", labels=["status"]
        )
        for status, count in sorted(self.responses.items()):
            responses.add_metric([str(status)], count)
        yield responses


class ProviderMetrics:
    """A registry of its own (never the global one) holding one collector."""

    def __init__(self, provider: MockProvider) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.collector = ProviderCollector(provider)
        self.registry.register(self.collector)
        self.responses_by_status = self.collector.responses
        """Responses sent, by status: the app adds to it inline (one per response)."""

    def render(self) -> bytes:
        return generate_latest(self.registry)

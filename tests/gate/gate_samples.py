"""Reports and thresholds files for the gate tests, built through the real report code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from quotalab.report import (
    LatencyPercentiles,
    RunMeta,
    StrategyMeasurements,
    build_report,
    to_document,
)

META = RunMeta(
    mode="live",
    profile="auth0",
    scenario="steady",
    generated_at="2025-01-01T00:00:00Z",
    settings={
        "users": 10,
        "rate_per_user": 4.0,
        "duration_s": 60.0,
        "config": None,
        "processes": 1,
        "workers": None,
    },
)

GOOD_THRESHOLDS = """
[strategies."cached+backoff"]
max_token_requests_per_1k_calls = 5
max_throttled_ratio = 0.01
min_success_ratio = 0.99
max_p95_ms = 250
"""


def measured(
    *,
    api_calls: int = 10_000,
    api_ok: int = 10_000,
    token_requests: int = 10,
    throttled_429: int = 0,
    p95_ms: float = 100.0,
) -> StrategyMeasurements:
    return StrategyMeasurements(
        api_calls=api_calls,
        api_ok=api_ok,
        token_requests=token_requests,
        tokens_issued=token_requests,
        duration_s=60,
        throttled_429=throttled_429,
        latency_percentiles=LatencyPercentiles(p50_ms=p95_ms / 2, p95_ms=p95_ms, p99_ms=p95_ms * 2),
    )


def document(**strategies: StrategyMeasurements) -> dict[str, Any]:
    """A report document; keyword ``cached_backoff`` names the strategy ``cached+backoff``."""
    named = {name.replace("_", "+"): value for name, value in strategies.items()}
    return to_document(build_report(META, named))


def write_json(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data))
    return path

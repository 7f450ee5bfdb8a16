"""Reading an injected-fault description (TOML ``[faults.*]`` or ``PUT /_admin/faults``)."""

from __future__ import annotations

from typing import Any

from quotalab.errors import ConfigError
from quotalab.profiles.profile_model import FaultSpec

MAX_LATENCY_MS = 60_000.0
"""Injected latency is at most a minute: longer only holds connections open."""
MAX_RETRY_AFTER_S = 86_400
MAX_SCHEDULE_S = 31_536_000.0
"""Fault schedules and clock offsets stay within a year of the server's start."""


def fault_from_json(
    name: str, data: Any, source: str = "PUT /_admin/faults", section: str = "endpoints"
) -> FaultSpec:
    """A ``FaultSpec`` from an admin JSON object, or ``ConfigError`` naming the bad key."""
    if not isinstance(data, dict):
        raise ConfigError(source, f"{section}.{name}", "an object")
    unknown = set(data) - {"probability", "schedule", "retry_after_s", "latency_ms"}
    if unknown:
        raise ConfigError(
            source,
            f"{section}.{name}.{sorted(unknown)[0]}",
            "one of probability, schedule, retry_after_s, latency_ms",
        )

    def number(key: str, low: float, high: float) -> float:
        value = data.get(key, 0.0)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise ConfigError(
                source, f"{section}.{name}.{key}", f"a number from {low:g} to {high:g}"
            )
        return float(value)

    schedule_raw = data.get("schedule", [])
    schedule: list[tuple[float, float]] = []
    if not isinstance(schedule_raw, list):
        raise ConfigError(source, f"{section}.{name}.schedule", "a list of [start_s, end_s] pairs")
    for pair in schedule_raw:
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in pair)
            or not 0 <= pair[0] <= pair[1] <= MAX_SCHEDULE_S
        ):
            raise ConfigError(
                source,
                f"{section}.{name}.schedule",
                f"a list of [start_s, end_s] pairs, 0 <= start_s <= end_s <= {MAX_SCHEDULE_S:,.0f}",
            )
        schedule.append((float(pair[0]), float(pair[1])))
    retry = data.get("retry_after_s")
    if retry is not None and (
        isinstance(retry, bool) or not isinstance(retry, int) or not 0 <= retry <= MAX_RETRY_AFTER_S
    ):
        raise ConfigError(
            source,
            f"{section}.{name}.retry_after_s",
            f"an integer from 0 to {MAX_RETRY_AFTER_S} or null",
        )
    return FaultSpec(
        probability=number("probability", 0.0, 1.0),
        schedule=tuple(schedule),
        retry_after_s=retry,
        latency_ms=number("latency_ms", 0.0, MAX_LATENCY_MS),
    )

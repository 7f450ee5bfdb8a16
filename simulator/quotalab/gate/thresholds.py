"""Thresholds files: per strategy, upper and lower bounds on report figures (TOML).

::

    [strategies."cached+backoff"]
    max_token_requests_per_1k_calls = 5
    max_throttled_ratio = 0.01
    min_success_ratio = 0.99
    max_p95_ms = 250
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from quotalab.errors import ConfigError
from quotalab.gate.gated_figures import FIGURES
from quotalab.user_files import UnusableText, read_text, read_toml

Kind = Literal["max", "min"]

# Every key a thresholds file may set, and the figure it bounds.
BOUND_KEYS: dict[str, tuple[Kind, str]] = {
    "max_token_requests_per_1k_calls": ("max", "token_requests_per_1k_calls"),
    "max_token_requests": ("max", "token_requests"),
    "max_throttled_ratio": ("max", "throttled_ratio"),
    "min_success_ratio": ("min", "success_ratio"),
    "max_p95_ms": ("max", "p95_ms"),
    "max_p99_ms": ("max", "p99_ms"),
    "max_tokens_per_day": ("max", "tokens_per_day"),
    "min_days_until_quota_exhausted": ("min", "days_until_quota_exhausted"),
}


@dataclass(frozen=True, slots=True)
class Bound:
    """One bound: ``figure`` of ``strategy`` must stay at most / at least ``limit``."""

    strategy: str
    key: str
    kind: Kind
    figure: str
    limit: float


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Every bound of a thresholds file, in file order."""

    source: str
    bounds: tuple[Bound, ...]

    @property
    def strategies(self) -> tuple[str, ...]:
        """The strategies the file bounds, each once, in file order."""
        return tuple(dict.fromkeys(bound.strategy for bound in self.bounds))


def _limit(source: str, where: str, value: object, is_ratio: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(source, where, f"expected a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ConfigError(source, where, f"expected a finite number >= 0, got {value!r}")
    if is_ratio and number > 1:
        raise ConfigError(source, where, f"expected a ratio between 0 and 1, got {value!r}")
    return number


def parse_thresholds(data: dict[str, Any], source: str) -> Thresholds:
    """Check a parsed thresholds document; ConfigError names the first bad key."""
    unknown = sorted(set(data) - {"strategies"})
    if unknown:
        raise ConfigError(source, unknown[0], 'unknown key (expected only [strategies."<name>"])')
    strategies = data.get("strategies")
    if not isinstance(strategies, dict) or not strategies:
        raise ConfigError(source, "strategies", 'expected at least one [strategies."<name>"] table')
    bounds: list[Bound] = []
    accepted = ", ".join(BOUND_KEYS)
    for strategy, table in strategies.items():
        where = f"strategies.{strategy!r}"
        if not isinstance(table, dict) or not table:
            raise ConfigError(source, where, f"expected a table with one or more of: {accepted}")
        for key, value in table.items():
            if key not in BOUND_KEYS:
                raise ConfigError(source, f"{where}.{key}", f"unknown key (expected {accepted})")
            kind, figure = BOUND_KEYS[key]
            limit = _limit(source, f"{where}.{key}", value, FIGURES[figure].is_ratio)
            bounds.append(Bound(strategy, key, kind, figure, limit))
    return Thresholds(source=source, bounds=tuple(bounds))


def load_thresholds(path: Path | str) -> Thresholds:
    """Read a thresholds TOML file; ConfigError for a missing, unreadable or bad file."""
    path = Path(path)
    try:
        data = read_toml(read_text(path))
    except FileNotFoundError:
        raise ConfigError(str(path), "", "thresholds file not found") from None
    except OSError as error:
        raise ConfigError(str(path), "", f"cannot read thresholds ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise ConfigError(str(path), "", f"not UTF-8 text (byte {error.start})") from None
    except UnusableText as error:
        raise ConfigError(str(path), "", f"not valid TOML ({error})") from None
    return parse_thresholds(data, str(path))

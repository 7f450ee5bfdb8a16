"""Durations written as ``90s``, ``15m``, ``24h`` or ``7d``."""

from __future__ import annotations

import re

from quotalab.errors import InputError

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_duration(text: str) -> float:
    """Seconds in ``text``; a bare number means seconds."""
    match = _PATTERN.match(text)
    if match is None:
        raise InputError(f"bad duration {text!r}: expected a number with a unit s/m/h/d, e.g. 24h")
    number, unit = float(match.group(1)), match.group(2).lower() or "s"
    if unit not in _UNITS:
        raise InputError(f"bad duration unit {unit!r} in {text!r}: expected one of s, m, h, d")
    seconds = number * _UNITS[unit]
    if seconds <= 0:
        raise InputError(f"duration must be positive, got {text!r}")
    return seconds

"""``build_settings`` as the ``quotalab run`` command calls it, with its defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from quotalab.run.settings import RunSettings, build_settings
from quotalab.strategies.registry import NAMES


def run_settings(**overrides: Any) -> RunSettings:
    """The settings of ``quotalab run`` with every option left out but ``overrides``."""
    options: dict[str, Any] = {
        "scenario": "steady",
        "strategies": None,
        "known_strategies": NAMES,
        "users": None,
        "rate": None,
        "duration": None,
        "profile": None,
        "processes": 1,
        "config": None,
        "target": None,
        "out_dir": Path("reports"),
        "gate": None,
    }
    options.update(overrides)
    return build_settings(**options)

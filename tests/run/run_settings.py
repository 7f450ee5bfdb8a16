"""``build_settings`` as the ``quotalab run`` command calls it, with its defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from quotalab.run.locust_process import ClientArgs, LocustJob
from quotalab.run.scenarios import SCENARIOS
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


def locust_job(tmp_path: Path, **overrides: Any) -> LocustJob:
    """One strategy's locust run against the demo client, with ``overrides``; its tallies
    and log under ``tmp_path``."""
    fields: dict[str, Any] = {
        "strategy": "cached",
        "scenario": SCENARIOS["steady"],
        "host": "http://127.0.0.1:8080",
        "users": 4,
        "rate": 2.0,
        "duration_s": 7.0,
        "processes": 1,
        "client": ClientArgs("auth0", "/oauth/token", "/api/data", "demo-client", "demo-secret"),
        "tally_dir": tmp_path / "tally",
        "log_file": tmp_path / "locust.log",
    }
    fields.update(overrides)
    return LocustJob(**fields)

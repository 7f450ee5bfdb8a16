"""One simulation played both ways: through the fast path (scripted calls, the fast
provider) and through the full provider path with real flows (``fast_path=False``).

The tests of the fast path compare what the two report (``observable``).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from quotalab.sim.core_build import compiled_modules
from quotalab.sim.scenario import SimSettings, StrategyRun, run_strategy

plain_python_only = pytest.mark.skipif(
    bool(compiled_modules()),
    reason="counts by patching a class of the simulation core, which compiled has no "
    "patchable attributes (the plain-Python run of this suite covers it)",
)
"""For a test that replaces a method of a compiled module's class to count its calls."""


def play_both_ways(
    tmp_path: Path,
    settings: SimSettings,
    strategy: str,
    overlay: str,
    faults: dict[str, Any] | None,
) -> tuple[StrategyRun, StrategyRun]:
    """``strategy`` under ``settings`` played fast, then in full.

    ``overlay`` is a profile TOML written for Auth0, laid over the profile only
    when it is Auth0; ``faults`` (None: none) names Auth0's API endpoint, renamed
    for Twitter's.
    """
    faults_path = None
    if faults is not None:
        faults_path = str(tmp_path / "faults.json")
        text = json.dumps(faults)
        if settings.profile == "twitter":
            text = text.replace('"api_data"', '"search_v2"')
        Path(faults_path).write_text(text, encoding="utf-8")
    if settings.profile == "auth0":
        config = tmp_path / "tweak.toml"
        config.write_text(overlay, encoding="utf-8")
        settings = dataclasses.replace(settings, config_path=str(config))
    settings = dataclasses.replace(settings, strategies=(strategy,))
    fast = run_strategy(settings, strategy, faults_path=faults_path)
    full = run_strategy(
        dataclasses.replace(settings, fast_path=False), strategy, faults_path=faults_path
    )
    return fast, full

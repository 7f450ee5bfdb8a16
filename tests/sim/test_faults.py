"""Faults (as PUT /_admin/faults takes them) reach the simulated provider."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from quotalab.errors import InputError
from quotalab.sim.scenario import SimSettings, run_strategy
from tests.sim.test_fast_forward import observable

SETTINGS = SimSettings(clients=2, duration_s=600.0, traffic="poisson", seed=4)


def faults_file(tmp_path: Path, document: object) -> str:
    path = tmp_path / "faults.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def test_token_endpoint_503s_are_counted_and_retried(tmp_path: Path) -> None:
    path = faults_file(tmp_path, {"endpoints": {"token": {"probability": 0.5}}})
    naive = run_strategy(SETTINGS, "naive", faults_path=path)
    retried = run_strategy(SETTINGS, "backoff", faults_path=path)
    plain = run_strategy(SETTINGS, "naive")
    faults = sum(t.faults_503 for t in naive.result.tallies.values())
    calls = sum(t.calls for t in naive.result.tallies.values())
    assert 0.4 * calls < faults < 0.6 * calls
    assert sum(t.faults_503 for t in plain.result.tallies.values()) == 0
    assert sum(t.failed for t in naive.result.tallies.values()) == faults
    assert sum(t.failed for t in retried.result.tallies.values()) < faults / 10


def test_injected_latency_shows_in_call_durations(tmp_path: Path) -> None:
    path = faults_file(tmp_path, {"endpoints": {"api_data": {"latency_ms": 500}}})
    slow = run_strategy(SETTINGS, "cached", faults_path=path)
    assert slow.result.latencies.quantile_ms(0.5) >= 500.0
    assert run_strategy(SETTINGS, "cached").result.latencies.quantile_ms(0.5) < 500.0


def test_fast_forward_equals_event_by_event_under_token_faults(tmp_path: Path) -> None:
    path = faults_file(tmp_path, {"endpoints": {"token": {"probability": 0.3}}})
    short = tmp_path / "short.toml"
    short.write_text("[provider]\ntoken_lifetime_s = 400\n", encoding="utf-8")
    settings = dataclasses.replace(SETTINGS, config_path=str(short))
    fast = run_strategy(settings, "cached+backoff", faults_path=path)
    slow = run_strategy(
        dataclasses.replace(settings, fast_forward=False), "cached+backoff", faults_path=path
    )
    assert fast.result.skipped_calls > 0
    assert observable(fast) == observable(slow)


def test_unreadable_faults_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot be read"):
        run_strategy(SETTINGS, "naive", faults_path=str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{nope", encoding="utf-8")
    with pytest.raises(InputError, match="not JSON"):
        run_strategy(SETTINGS, "naive", faults_path=str(bad))

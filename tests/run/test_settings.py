"""Run options: defaults come from the scenario, impossible values are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from quotalab.errors import InputError
from quotalab.run.scenarios import SCENARIOS, spike_users
from quotalab.run.settings import DEFAULT_STRATEGIES, parse_duration_s
from tests.run.run_settings import run_settings as settings


def test_defaults_come_from_the_scenario() -> None:
    chosen = settings(scenario="twitter")
    assert chosen.strategies == DEFAULT_STRATEGIES
    assert chosen.users == SCENARIOS["twitter"].users
    assert chosen.rate == SCENARIOS["twitter"].rate
    assert chosen.profile == "twitter"


def test_options_override_the_scenario() -> None:
    chosen = settings(users=3, rate=0.5, duration="2m", strategies="cached, my.mod:factory")
    assert (chosen.users, chosen.rate, chosen.duration_s) == (3, 0.5, 120.0)
    assert chosen.strategies == ("cached", "my.mod:factory")


@pytest.mark.parametrize(("text", "seconds"), [("12", 12), ("12s", 12), ("1.5m", 90), ("1h", 3600)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration_s(text) == seconds


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"scenario": "tsunami"}, "unknown scenario 'tsunami'"),
        ({"strategies": "naive,teleport"}, "unknown strategy 'teleport'"),
        ({"strategies": "naive,,cached"}, "empty name"),
        ({"strategies": "naive,naive"}, "more than once"),
        ({"users": 0}, "--users 0"),
        ({"rate": 0.0}, "--rate 0.0"),
        ({"rate": float("nan")}, "--rate nan"),
        ({"duration": "soon"}, "--duration 'soon'"),
        ({"duration": "0s"}, "--duration 0s"),
        ({"processes": 0}, "--processes 0"),
        ({"target": "ftp://example.test"}, "--target"),
        ({"target": "http://127.0.0.1:99999"}, "impossible port"),
        ({"config": Path("/nonexistent/quotalab.toml")}, "--config"),
        ({"gate": Path("/nonexistent/gate.toml")}, "--gate"),
        ({"expect_workers": 2}, "--expect-workers needs --master"),
        ({"master_bind_port": 6000}, "--master-bind-port needs --master"),
        ({"master_bind_host": "0.0.0.0"}, "--master-bind-host needs --master"),
        ({"master": True, "processes": 2}, "--processes and --master exclude each other"),
        ({"master": True, "scenario": "spike"}, "--scenario spike has a load shape"),
        ({"master": True, "tls": True}, "--tls and --master exclude each other"),
        ({"master": True, "expect_workers": 0}, "--expect-workers 0"),
        ({"master": True, "master_bind_port": 70000}, "--master-bind-port 70000"),
        ({"master": True, "master_bind_host": " "}, "--master-bind-host is empty"),
    ],
)
def test_impossible_values_are_one_clear_error(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(")) as error:
        settings(**overrides)
    assert "\n" not in str(error.value)


def test_master_settings_default_and_override() -> None:
    assert settings().master is None
    default = settings(master=True).master
    assert (default.expect_workers, default.bind_host, default.bind_port) == (1, "127.0.0.1", 5557)
    chosen = settings(master=True, expect_workers=3, master_bind_port=6001).master
    assert (chosen.expect_workers, chosen.bind_port) == (3, 6001)


def test_a_directory_given_as_a_file_is_named_as_one(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--config .*: is a directory, not a file"):
        settings(config=tmp_path)
    with pytest.raises(InputError, match=r"--gate .*: is a directory, not a file"):
        settings(gate=tmp_path)


def test_config_cannot_apply_to_a_remote_target(tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text("")
    with pytest.raises(InputError, match="--target"):
        settings(config=config, target="http://127.0.0.1:8080")


def test_spike_triples_the_users_in_the_middle_third() -> None:
    assert [spike_users(4, 3, t, 30) for t in (0, 9.9, 10, 19.9, 20, 29)] == [4, 4, 12, 12, 4, 4]

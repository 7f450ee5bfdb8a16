"""--token-lifetime, --plan and plans as profile data: checked before any load starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from quotalab.errors import ConfigError, InputError
from quotalab.profiles import load_config
from quotalab.run.orchestrate import provider_config, run_plan, token_lifetimes
from tests.cli_process import quotalab
from tests.run.run_settings import run_settings as settings


def test_short_lived_tokens_run_two_lifetimes_and_project_at_the_profiles() -> None:
    chosen = settings(token_lifetime="60s")
    assert chosen.token_lifetime_s == 60 and chosen.duration_s == 120
    config = provider_config(chosen)
    assert config.settings.token_lifetime_s == 60
    assert token_lifetimes(chosen, config) == (60.0, 86400.0)


def test_without_the_option_the_profiles_lifetime_stands() -> None:
    chosen = settings()
    assert token_lifetimes(chosen, provider_config(chosen)) == (86400.0, 86400.0)


def test_twitter_tokens_never_expire() -> None:
    chosen = settings(scenario="twitter")
    assert token_lifetimes(chosen, provider_config(chosen)) == (None, None)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"scenario": "twitter", "token_lifetime": "60s"},
            "--token-lifetime 60s: the twitter profile's app-only bearer tokens never expire",
        ),
        (
            {"scenario": "expiry-herd", "profile": "twitter"},
            "the expiry-herd scenario's 6s tokens: the twitter profile's",
        ),
    ],
)
def test_a_lifetime_for_tokens_that_never_expire_is_refused(
    overrides: dict[str, Any], message: str
) -> None:
    """Twitter's tokens ignore a lifetime: the run would measure no refresh, stretch
    past its API window and report the throttling as the client's."""
    with pytest.raises(InputError, match=message) as error:
        provider_config(settings(**overrides))
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"token_lifetime": "soon"}, "--token-lifetime 'soon' is impossible"),
        ({"token_lifetime": "1s"}, "--token-lifetime '1s' is impossible"),
        ({"token_lifetime": "1.5s"}, "--token-lifetime '1.5s' is impossible"),
        ({"token_lifetime": "2d"}, "--token-lifetime '2d' is impossible"),
        ({"token_lifetime": "60s", "duration": "30s"}, "shorter than --token-lifetime 60s"),
        (
            {"token_lifetime": "60s", "target": "http://127.0.0.1:8080"},
            "--token-lifetime configures the local mock server",
        ),
    ],
)
def test_impossible_lifetimes_are_one_clear_error(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message) as error:
        settings(**overrides)
    assert "\n" not in str(error.value)


def test_plans_are_profile_data_with_the_free_plan_first() -> None:
    assert load_config("auth0").plans == {"free": 1000, "paid": 5000}
    chosen = settings()
    plan = run_plan(chosen, provider_config(chosen))
    assert (plan.name, plan.monthly_m2m_tokens) == ("auth0-free", 1000)
    paid = settings(plan="paid")
    assert run_plan(paid, provider_config(paid)).monthly_m2m_tokens == 5000


def test_a_config_adds_or_changes_a_plan(tmp_path: Path) -> None:
    config = tmp_path / "plans.toml"
    config.write_text(
        "[plans.ours]\nmonthly_m2m_tokens = 25000\n[plans.free]\nmonthly_m2m_tokens = 900\n"
    )
    chosen = settings(config=config, plan="ours")
    assert run_plan(chosen, provider_config(chosen)).monthly_m2m_tokens == 25000
    free = settings(config=config)
    assert run_plan(free, provider_config(free)).monthly_m2m_tokens == 900


def test_an_unknown_plan_names_the_known_ones() -> None:
    chosen = settings(plan="platinum")
    with pytest.raises(
        InputError, match="--plan 'platinum' is not a plan of profile 'auth0'; use free, paid"
    ):
        run_plan(chosen, provider_config(chosen))


def test_a_plan_without_a_quota_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "plans.toml"
    config.write_text("[plans.broken]\nmonthly_m2m_tokens = 0\n")
    with pytest.raises(ConfigError, match=r"plans\.broken\.monthly_m2m_tokens"):
        load_config("auth0", config)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--plan", "gold"], "--plan 'gold' is not a plan of profile 'auth0'"),
        (["run", "--token-lifetime", "0s"], "--token-lifetime '0s' is impossible"),
        (["run", "--token-lifetime", "60s", "--duration", "10s"], "no token would expire"),
        (["run", "--scenario", "twitter", "--token-lifetime", "60s"], "tokens never expire"),
        (["simulate", "--plan", "gold"], "--plan 'gold' is not a plan of profile 'auth0'"),
    ],
)
def test_the_cli_refuses_bad_plans_and_lifetimes_with_one_line(
    args: list[str], message: str, tmp_path: Path
) -> None:
    done = quotalab(*args, "--out", str(tmp_path / "r"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert not (tmp_path / "r").exists()

"""Real locust comparisons against the real mock server on loopback (short, bounded)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from quotalab.report import validate_document
from quotalab.run.orchestrate import run_comparison
from quotalab.run.settings import build_settings
from quotalab.strategies.registry import NAMES
from tests.cli_process import quotalab as run_quotalab

# A token endpoint far tighter than Auth0's free plan, so a naive client trips it in seconds.
TIGHT = """
[limits.oauth_token]
burst = 5
refill_rate = 5
"""


def quotalab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_quotalab(*args, cwd=cwd, timeout=120)


@pytest.mark.live
def test_short_comparison_orders_the_strategies(tmp_path: Path) -> None:
    config = tmp_path / "tight.toml"
    config.write_text(TIGHT)
    done = quotalab(
        "run",
        "--strategies",
        "naive,cached,cached+backoff",
        "--users",
        "6",
        "--rate",
        "4",
        "--duration",
        "2s",
        "--config",
        str(config),
        "--out",
        str(tmp_path / "reports"),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    latest = tmp_path / "reports" / "latest"
    document = validate_document(json.loads((latest / "report.json").read_text()))
    figures = document["strategies"]
    naive, cached, best = figures["naive"], figures["cached"], figures["cached+backoff"]
    assert naive["api_calls"] > 0 and cached["api_calls"] > 0
    assert naive["token_requests_per_1k_calls"] > 10 * cached["token_requests_per_1k_calls"]
    assert naive["throttled_429"] > 0
    assert best["throttled_429"] == 0 and best["forbidden_403_99"] == 0
    assert best["api_ok"] == best["api_calls"]
    # naive has no retry: every throttled token request is a failed call
    assert naive["calls"] > naive["calls_ok"] and naive["success_ratio"] < 1
    assert best["success_ratio"] == 1
    # a day of a cache is its warm-up token repeated once per 24 h lifetime, not x43,200
    for caching in (cached, best):
        projection = caching["projection"]
        assert projection["method"] == "steady_state" and projection["warmup_tokens"] >= 1
        assert projection["tokens_per_day"] <= 5
        assert projection["quota_exhausted_within_month"] is False
        assert projection["days_until_quota_exhausted"] is None
        # the simulated day agrees (unless a busy machine left it out over its wall budget)
        assert projection["simulated"] is None or projection["simulated"]["agrees"]
    # naive keeps the linear figure
    assert naive["projection"]["method"] == "linear"
    assert naive["projection"]["tokens_per_day"] == round(naive["tokens_issued"] * 86400 / 2, 4)
    assert str(latest.resolve() / "report.html") in done.stdout.replace("\n", "")
    assert "Verdict" in done.stdout


@pytest.mark.live
def test_processes_merge_to_the_server_counts(tmp_path: Path) -> None:
    settings = build_settings(
        scenario="steady",
        strategies="cached,naive",
        known_strategies=NAMES,
        users=4,
        rate=3.0,
        duration="3s",
        profile=None,
        processes=2,
        config=None,
        target=None,
        out_dir=tmp_path,
        gate=None,
    )
    result = run_comparison(settings, tmp_path / "work")
    cached, naive = result.figures
    for figures in result.figures:
        assert figures.source == "server"
        assert figures.counts.api_calls > 0
        for name in ("api_calls", "token_requests", "tokens_issued"):
            assert figures.client_counts[name] == getattr(figures.counts, name), name
    # One shared cache per locust process: two worker processes fetch two tokens.
    assert cached.counts.tokens_issued == 2
    assert naive.counts.token_requests >= naive.counts.api_calls
    assert result.warnings == ()


@pytest.mark.live
@pytest.mark.parametrize(("profile", "tls"), [("entra", True), ("okta", False)])
def test_new_providers_run_and_entra_runs_over_tls(tmp_path: Path, profile: str, tls: bool) -> None:
    settings = build_settings(
        scenario="steady",
        strategies="naive,cached+backoff",
        known_strategies=NAMES,
        users=4,
        rate=4.0,
        duration="3s",
        profile=profile,
        processes=1,
        config=None,
        target=None,
        out_dir=tmp_path,
        gate=None,
        tls=tls,
    )
    result = run_comparison(settings, tmp_path / "work")
    naive, best = (figures.counts for figures in result.figures)
    assert result.base_url.startswith("https://" if tls else "http://")
    assert naive.api_calls > 0 and best.api_calls > 0
    assert best.tokens_issued == 1 and best.api_ok == best.api_calls
    assert naive.token_requests >= naive.api_calls
    if profile == "entra":  # 4 users x 4 calls/s trip the 20 tokens per minute at once
        assert naive.throttled_429 > 0
    assert result.warnings == ()
    from quotalab.clock import SystemClock
    from quotalab.run.reporting import meta_of

    assert meta_of(settings, SystemClock()).settings["tls"] is tls  # the report says so


@pytest.mark.live
def test_a_tls_server_without_a_work_dir_removes_its_ca_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from quotalab.profiles import load_config
    from quotalab.run.orchestrate import server_for

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    settings = build_settings(
        scenario="steady",
        strategies="naive",
        known_strategies=NAMES,
        users=1,
        rate=1.0,
        duration="1s",
        profile="okta",
        processes=1,
        config=None,
        target=None,
        out_dir=tmp_path / "out",
        gate=None,
        tls=True,
    )
    with server_for(settings, load_config("okta")) as (base_url, _):
        assert base_url.startswith("https://")
        assert list(tmp_path.glob("quotalab-tls-*/server.pem"))
    assert not list(tmp_path.glob("quotalab-tls-*"))


@pytest.mark.live
def test_short_lived_tokens_measure_an_own_clients_refreshes(tmp_path: Path) -> None:
    # examples/own_client.py refreshes only once its token has expired (no margin)
    done = quotalab(
        "run",
        "--strategies",
        "examples.own_client:factory",
        "--users",
        "3",
        "--rate",
        "4",
        "--token-lifetime",
        "3s",
        "--duration",
        "8s",
        "--no-simulate",
        "--out",
        str(tmp_path / "reports"),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads((tmp_path / "reports" / "latest" / "report.json").read_text())
    validate_document(document)
    assert document["meta"]["settings"]["token_lifetime_s"] == 3
    own = document["strategies"]["examples.own_client:factory"]
    projection = own["projection"]
    assert projection["method"] == "refresh_cadence"
    # it refreshes when the 3 s token expires: the cadence is the lifetime, margin ~0
    assert 2.5 <= projection["observed_refresh_interval_s"] <= 4.0
    assert projection["margin_s"] <= 0.5
    # at 24 h tokens: a refresh a day, as many tokens as callers raced for it
    assert 1 <= projection["tokens_per_day"] <= 3.01
    assert projection["quota_exhausted_within_month"] is False

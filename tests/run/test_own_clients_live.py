"""Own clients on real SDKs, run as a user runs them: from their folder, no PYTHONPATH.

The commands are the ones docs/strategies.md shows, run verbatim from a copy
of examples/ in a temporary folder with the installed ``quotalab`` script.
An SDK that raises on 429 must be measured like the built-in naive client:
its failed calls counted (and throttled), its token figures from the server,
no false disagreement warning, and a gate on its success ratio fails.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC_COMMAND = re.compile(r"^\$ (quotalab (?:run|simulate) --strategies \S*examples\.\S*.*)$")


def doc_commands() -> list[str]:
    text = (ROOT / "docs" / "strategies.md").read_text("utf-8")
    return [m.group(1) for line in text.splitlines() if (m := DOC_COMMAND.match(line))]


def script() -> str:
    """The installed ``quotalab`` console script (not ``python -m``, which adds the cwd)."""
    beside = Path(sys.executable).with_name("quotalab")
    found = str(beside) if beside.exists() else shutil.which("quotalab")
    assert found, "quotalab is not installed as a command"
    return found


def as_user(args: list[str], cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [script(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def user_folder(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path


def test_the_docs_show_both_commands() -> None:
    commands = doc_commands()
    assert [c.split()[1] for c in commands] == ["run", "simulate"]


@pytest.mark.live
def test_sdk_clients_are_measured_like_the_builtin_naive(user_folder: Path) -> None:
    (command,) = [c for c in doc_commands() if c.startswith("quotalab run")]
    # The documented command, with a tenant bucket small enough that a naive
    # client is throttled even when a busy machine slows locust down.
    tight = user_folder / "tight.toml"
    tight.write_text("[limits.oauth_token]\nburst = 10\nrefill_rate = 5\n", encoding="utf-8")
    done = as_user([*shlex.split(command)[1:], "--config", str(tight)], user_folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "counts differ" not in done.stdout
    report: dict[str, Any] = json.loads(
        (user_folder / "reports" / "latest" / "report.json").read_text("utf-8")
    )
    figures = report["strategies"]
    naive = figures["naive"]
    assert naive["success_ratio"] < 1, "the run must throttle a naive client to mean anything"
    for sdk, error in (("auth0_sdk_client", "RateLimitError"), ("authlib_client", "OAuthError")):
        own = figures[f"examples.{sdk}:naive"]
        # Same figures as the built-in naive client, within noise.
        assert abs(own["success_ratio"] - naive["success_ratio"]) < 0.1, sdk
        assert own["token_requests_per_1k_calls"] == pytest.approx(1000, rel=0.05), sdk
        assert own["calls"] == own["calls_ok"] + sum(f["calls"] for f in own["failures"])
        (failed,) = own["failures"]
        assert failed["reason"] == error and failed["throttled"] == failed["calls"] > 0
        assert failed["first_message"]
        assert own["throttled_429"] >= failed["calls"]  # the server's count of its 429s
        assert sum(own["series"]["token_requests_per_s"]) > 0  # the server's series
        cached = figures[f"examples.{sdk}:cached"]
        assert cached["success_ratio"] == 1 and cached["failures"] == []
        assert cached["token_requests_per_1k_calls"] < 0.2 * own["token_requests_per_1k_calls"]
    assert "Failed calls:" in done.stdout and "RateLimitError" in done.stdout

    thresholds = user_folder / "thresholds.toml"
    thresholds.write_text(
        '[strategies."examples.auth0_sdk_client:naive"]\nmin_success_ratio = 0.99\n'
    )
    gate = as_user(
        ["gate", "reports/latest/report.json", "--thresholds", str(thresholds)], user_folder
    )
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "FAIL examples.auth0_sdk_client:naive: success_ratio" in gate.stdout


@pytest.mark.live
def test_simulate_runs_a_custom_strategy_from_its_folder(user_folder: Path) -> None:
    (command,) = [c for c in doc_commands() if c.startswith("quotalab simulate")]
    done = as_user(shlex.split(command)[1:], user_folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "examples.custom_strategy:factory" in done.stdout


def test_simulate_refuses_an_own_client_in_one_line(user_folder: Path) -> None:
    done = as_user(
        ["simulate", "--strategies", "examples.own_client:factory", "--duration", "10s"],
        user_folder,
    )
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "own client" in line and "quotalab run" in line


EAGER = """
import requests

class Eager:
    name = "eager"

    def __init__(self, settings):
        self.settings = settings
        self.http = requests.Session()
        body = {"client_id": settings.client_id, "client_secret": settings.client_secret,
                "audience": settings.audience, "grant_type": "client_credentials"}
        answer = self.http.post(settings.token_url, json=body, timeout=5)
        answer.raise_for_status()  # a client that cannot get a token cannot be built
        self.token = answer.json()["access_token"]

    def call_api(self, path):
        url = self.settings.api_base_url.rstrip("/") + path
        return self.http.get(url, headers={"Authorization": "Bearer " + self.token}).status_code

def factory(settings, *, clock, rng):
    return Eager(settings)
"""


@pytest.mark.live
def test_a_client_fetching_its_token_as_it_is_built_is_measured(tmp_path: Path) -> None:
    # Its factory reaches the server: it is called only against the run's own server.
    (tmp_path / "eager.py").write_text(EAGER, encoding="utf-8")
    done = as_user(["run", "--strategies", "eager:factory", "--duration", "2s"], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    report: dict[str, Any] = json.loads(
        (tmp_path / "reports" / "latest" / "report.json").read_text("utf-8")
    )
    eager = report["strategies"]["eager:factory"]
    assert eager["calls"] > 0 and eager["success_ratio"] == 1
    # One client per locust process, built once though its constructor waits on the
    # network while the other users start: one token, fetched as it was built.
    assert eager["tokens_issued"] == 1


ASYNC = """
import asyncio
import httpx

class AsyncNaive:
    name = "async-naive"

    def __init__(self, settings):
        self.settings = settings
        self.http = httpx.AsyncClient(timeout=10)

    async def call_api(self, path):
        s = self.settings
        body = {"client_id": s.client_id, "client_secret": s.client_secret,
                "audience": s.audience, "grant_type": "client_credentials"}
        token = await self.http.post(s.token_url, json=body)
        if token.status_code != 200:
            return token.status_code
        bearer = {"Authorization": "Bearer " + token.json()["access_token"]}
        return (await self.http.get(s.api_base_url.rstrip("/") + path, headers=bearer)).status_code

class Raises(AsyncNaive):
    async def call_api(self, path):
        await asyncio.sleep(0)
        raise LookupError("no such tenant")

class Exits(AsyncNaive):
    async def call_api(self, path):
        await asyncio.sleep(0)
        raise SystemExit(3)

def naive(settings, *, clock, rng):
    return AsyncNaive(settings)

def raises(settings, *, clock, rng):
    return Raises(settings)

def exits(settings, *, clock, rng):
    return Exits(settings)
"""


@pytest.mark.live
def test_async_clients_are_awaited_and_measured_like_blocking_ones(tmp_path: Path) -> None:
    (tmp_path / "async_client.py").write_text(ASYNC, encoding="utf-8")
    tight = tmp_path / "tight.toml"
    tight.write_text("[limits.oauth_token]\nburst = 10\nrefill_rate = 5\n", encoding="utf-8")
    strategies = "naive,async_client:naive,async_client:raises"
    args = ["run", "--strategies", strategies, "--duration", "3s", "--config", str(tight)]
    done = as_user(args, tmp_path)
    report: dict[str, Any] = json.loads(
        (tmp_path / "reports" / "latest" / "report.json").read_text("utf-8")
    )
    figures = report["strategies"]
    naive, own = figures["naive"], figures["async_client:naive"]
    assert naive["success_ratio"] < 1, "the run must throttle a naive client to mean anything"
    assert abs(own["success_ratio"] - naive["success_ratio"]) < 0.15
    assert own["token_requests_per_1k_calls"] == pytest.approx(1000, rel=0.05)
    assert own["calls"] > 10 and own["tokens_issued"] > 0
    failed = figures["async_client:raises"]["failures"]
    assert [f["reason"] for f in failed] == ["LookupError"], failed
    assert done.returncode == 1  # the raiser sent no request: no evidence, the run fails
    stopped = as_user(["run", "--strategies", "async_client:exits", "--duration", "3s"], tmp_path)
    assert stopped.returncode == 2
    assert stopped.stderr.strip().splitlines()[-1] == (
        "quotalab: error: async_client:exits: call_api raised SystemExit; the run stopped"
    )

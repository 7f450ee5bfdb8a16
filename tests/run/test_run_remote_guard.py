"""A run loads only this machine unless told otherwise, and keeps the secret out of ps."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from quotalab.errors import InputError
from quotalab.run import locust_process
from quotalab.run.locust_process import ClientArgs, run_locust
from quotalab.server.runner import build_provider, serve_in_thread
from tests.run.run_settings import locust_job, run_settings


def _settings(**options: Any) -> Any:
    chosen: dict[str, Any] = {"strategies": "naive", "users": 1, "rate": 1.0, "duration": "2s"}
    return run_settings(**{**chosen, **options})


@pytest.mark.parametrize(
    "target", ["http://10.1.2.3:8000", "https://auth.example.com", "http://0.0.0.0:8000"]
)
def test_a_target_beyond_this_machine_needs_allow_remote(target: str) -> None:
    with pytest.raises(InputError, match="is another machine: a run sends it load and POST"):
        _settings(target=target)
    assert _settings(target=target, allow_remote=True).target == target


@pytest.mark.parametrize(
    "target", ["http://127.0.0.1:8000", "http://localhost:9", "http://[::1]:80"]
)
def test_a_loopback_target_needs_nothing_more(target: str) -> None:
    assert _settings(target=target).target == target


@pytest.mark.parametrize(
    "target",
    ["http://10.1.2.3\\@127.0.0.1:9", "http://user:pw@127.0.0.1:9", "http://127.0.0.1:9\\x"],
)
def test_a_target_clients_could_read_as_another_host_is_refused(target: str) -> None:
    for allow_remote in (False, True):
        with pytest.raises(InputError, match="has a backslash or user information"):
            _settings(target=target, allow_remote=allow_remote)


def test_a_master_listens_on_loopback_unless_allowed_beyond() -> None:
    assert _settings(master=True).master.bind_host == "127.0.0.1"
    for host in ("*", "0.0.0.0", "192.168.1.5"):
        with pytest.raises(InputError, match="listens beyond this machine"):
            _settings(master=True, master_bind_host=host)
        assert _settings(master=True, master_bind_host=host, allow_remote=True).master


def test_locust_gets_the_client_secret_by_environment_never_by_argv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "only-in-the-environment-42"
    config = tmp_path / "secret.toml"
    config.write_text(f'[clients.demo-client]\nsecret = "{secret}"\n')
    spawned: list[subprocess.Popen[bytes]] = []
    real_popen = subprocess.Popen

    def recording_popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        process = real_popen(*args, **kwargs)
        spawned.append(process)
        return process

    monkeypatch.setattr(locust_process.subprocess, "Popen", recording_popen)
    provider = build_provider("auth0", config)
    with serve_in_thread(provider) as base_url:
        client = ClientArgs(
            "auth0",
            "/oauth/token",
            "/api/data",
            "demo-client",
            secret,
            "https://api.quotalab.test/",
        )
        job = locust_job(tmp_path, host=base_url, users=1, duration_s=1.0, client=client)
        run_locust(job)
    (locust,) = spawned
    argv = [str(part) for part in locust.args]  # what ps shows
    assert argv[1:3] == ["-m", "locust"]
    assert not any(secret in part for part in argv)
    # The secret did reach locust: the server issued tokens to it, and refused none.
    counts = provider.stats()["clients"]["demo-client"]
    assert counts["tokens_issued"] >= 1
    assert provider.stats()["clients"].keys() == {"demo-client"}

"""``quotalab serve``: help, one-line errors, the start banner, and worker settings."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from quotalab.cli import serve as serve_module
from quotalab.cli.serve import banner, builtin_secrets
from quotalab.errors import InputError
from quotalab.profiles import load_config
from quotalab.server import runner
from quotalab.server.keys import generate_private_pem
from tests.cli_process import quotalab

ROOT = Path(__file__).resolve().parents[2]
BASE = "http://127.0.0.1:8000"


def test_help_has_an_example() -> None:
    result = quotalab("serve", "--help")
    assert result.returncode == 0
    assert "Example: quotalab serve" in result.stdout


def test_an_unknown_http_stack_is_one_line_naming_the_choices() -> None:
    result = quotalab("serve", "--http", "hyper")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "quotalab: error: --http 'hyper': expected one of auto, h11, httptools"
    ]


def test_a_missing_fast_stack_names_the_extra_that_brings_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(serve_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(
        InputError, match=r"--loop uvloop: not installed; pip install 'quotalab\[fast\]'"
    ):
        serve_module.check_stack("auto", "uvloop")
    serve_module.check_stack("h11", "asyncio")  # the pure-Python stack needs nothing more


def test_broken_config_is_one_line_naming_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[limits.oauth_token]\nburst = -1\n")
    result = quotalab("serve", "--config", str(path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [f"quotalab: error: {path}: limits.oauth_token.burst: an integer >= 1"]


@pytest.mark.parametrize("command", ["serve", "run"])
def test_a_limit_bound_of_the_user_file_is_one_line_naming_it(tmp_path: Path, command: str) -> None:
    path = tmp_path / "fast.toml"
    path.write_text("[limits.oauth_token]\nrefill = 'interval'\ninterval_s = 0.0001\n")
    result = quotalab(command, "--config", str(path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"quotalab: error: {path}: limits.oauth_token.interval_s: a number >= 0.001"
    ]


def test_a_header_h11_cannot_send_stops_serve_at_load(tmp_path: Path) -> None:
    # Once accepted: the server started and every answer using it was a dropped connection.
    path = tmp_path / "bad.toml"
    path.write_text('[responses.service_not_found.headers]\n"x(a)" = "b"\n')
    result = quotalab("serve", "--config", str(path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"quotalab: error: {path}: responses.service_not_found.headers.x(a): "
        "a header name (letters, digits and !#$%&'*+-.^_`|~ only)"
    ]


def test_several_workers_need_a_shared_store() -> None:
    result = quotalab("serve", "--workers", "2")
    assert result.returncode == 2
    assert "needs a shared store" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_empty_store_url_is_refused_not_read_as_memory() -> None:
    # An empty URL (an unset variable in a CI script) had meant memory://, so two
    # workers kept separate limits without a word.
    result = quotalab("serve", "--workers", "2", "--store", "")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "quotalab: error: unsupported store URL '': expected memory:// or redis://host:port/db"
    ]


@pytest.mark.parametrize(
    "store",
    [
        "redis://:S3CR3T@127.0.0.1:notaport/0",
        "redis://:S3CR3T@127.0.0.1:99999/0",
        "redis://u:S3CR3T@[::1/0",
        "redis://:S3#CR3T@127.0.0.1:6379/0",
        "redis://:S3/CR3T@127.0.0.1:6379/0",
    ],
)
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_bad_store_url_is_one_line_without_its_secret(store: str, workers: str) -> None:
    port = str(_free_port())
    result = quotalab("serve", "--store", store, "--workers", workers, "--port", port)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("quotalab: error: bad Redis URL"), lines
    assert "S3" not in result.stderr + result.stdout
    assert "CR3T" not in result.stderr + result.stdout


def test_banner_prints_urls_credentials_and_a_curl() -> None:
    text = banner(load_config("auth0"), BASE, False, builtin_secrets("auth0"))
    assert "POST  http://127.0.0.1:8000/oauth/token" in text
    assert "demo-client / demo-secret" in text
    assert "curl -s -X POST http://127.0.0.1:8000/oauth/token" in text
    twitter = banner(load_config("twitter"), BASE, True, builtin_secrets("twitter"))
    assert "curl -s -u 'demo-key:demo-secret'" in twitter
    assert "OFF" in twitter


def test_banner_curl_is_one_shell_command_with_a_json_body() -> None:
    text = banner(load_config("auth0"), BASE, False, builtin_secrets("auth0"))
    line = next(line for line in text.splitlines() if line.startswith("try:"))
    argv = shlex.split(line.removeprefix("try:"))
    body = json.loads(argv[argv.index("-d") + 1])
    assert body == {
        "grant_type": "client_credentials",
        "client_id": "demo-client",
        "client_secret": "demo-secret",
        "audience": "https://api.quotalab.test/",
    }


def test_worker_apps_built_from_the_environment_share_the_signing_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(generate_private_pem())
    monkeypatch.setenv(runner.ENV_PROFILE, "auth0")
    monkeypatch.setenv(runner.ENV_KEY_FILE, str(key_file))
    monkeypatch.setenv(runner.ENV_BASE_URL, "http://127.0.0.1:9000")
    monkeypatch.setenv(runner.ENV_NO_LIMITS, "1")
    first, second = runner.create_app_from_env(), runner.create_app_from_env()
    assert first.provider.keys.jwks == second.provider.keys.jwks
    assert first.provider.limiter.enabled is False
    assert first.provider.base_url == "http://127.0.0.1:9000"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _first_answer(
    process: subprocess.Popen[bytes], send: Callable[[], httpx.Response]
) -> httpx.Response | None:
    """``send()`` until the server answers (30 s at most, or until it exits)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            return send()
        except (httpx.TransportError, FileNotFoundError):
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.1)  # not bound yet; also notices an early exit
    return None


@pytest.mark.live
@pytest.mark.parametrize("stack", [(), ("--http", "h11", "--loop", "asyncio")])
def test_serve_starts_and_answers_on_loopback(stack: tuple[str, ...]) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "quotalab", "serve", "--profile", "twitter"),
            *("--port", str(port), *stack),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        response = _first_answer(
            process,
            lambda: httpx.post(
                f"http://127.0.0.1:{port}/oauth2/token",
                auth=("demo-key", "demo-secret"),
                data={"grant_type": "client_credentials"},
                timeout=2,
            ),
        )
        assert response is not None and response.status_code == 200
        assert response.json()["token_type"] == "bearer"
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/oauth2/token" in out.decode()


def test_a_busy_port_is_one_line_before_start_up() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = quotalab("serve", "--port", str(port))
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"quotalab: error: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
    assert "quotalab mock" not in result.stdout


@pytest.mark.live
def test_serve_tls_writes_a_ca_that_clients_trust(tmp_path: Path) -> None:
    port = _free_port()
    tls_dir = tmp_path / "tls"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "quotalab", "serve", "--profile", "okta", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--tls", "--tls-dir", str(tls_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:

        def token() -> httpx.Response:
            trust = ssl.create_default_context(cafile=str(tls_dir / "ca.pem"))  # once written
            return httpx.post(
                f"https://localhost:{port}/oauth2/default/v1/token",
                auth=("demo-client", "demo-secret"),
                data={"grant_type": "client_credentials", "scope": "quotalab.read"},
                verify=trust,
                timeout=2,
            )

        response = _first_answer(process, token)
        assert response is not None and response.status_code == 200
        assert response.headers["x-rate-limit-limit"] == "1200"
        with pytest.raises(httpx.ConnectError):  # the system's CAs do not know it
            httpx.get(f"https://127.0.0.1:{port}/oauth2/default/v1/keys", timeout=2)
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    printed = out.decode()
    assert f"https://127.0.0.1:{port}/oauth2/default/v1/token" in printed
    assert f"SSL_CERT_FILE={tls_dir / 'ca.pem'}" in printed
    assert f"REQUESTS_CA_BUNDLE={tls_dir / 'ca.pem'}" in printed


@pytest.mark.live
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serve_tls_removes_its_temporary_ca_and_key_on_exit(
    tmp_path: Path, stop: signal.Signals
) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    command = [sys.executable, "-m", "quotalab", "serve", "--profile", "okta", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--tls"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:

        def keys() -> httpx.Response:
            (ca,) = tmp_path.glob("quotalab-tls-*/ca.pem")  # ValueError until written
            trust = ssl.create_default_context(cafile=str(ca))
            return httpx.get(f"https://127.0.0.1:{port}/oauth2/default/v1/keys", verify=trust)

        def first() -> httpx.Response:
            try:
                return keys()
            except ValueError:
                raise httpx.ConnectError("not written yet") from None

        response = _first_answer(process, first)
        assert response is not None and response.status_code == 200
        assert list(tmp_path.glob("quotalab-tls-*/server.pem"))  # the key existed
    finally:
        process.send_signal(stop)
        out, _ = process.communicate(timeout=15)
    assert not list(tmp_path.glob("quotalab-tls-*")), "CA and server key left behind"
    (ca_dir,) = {
        line.split("--cacert ")[1].split()[0]
        for line in out.decode().splitlines()
        if line.startswith("try:")
    }
    assert ca_dir.startswith(str(tmp_path))  # the banner's curl trusts the CA


def test_tls_dir_without_tls_is_one_line() -> None:
    result = quotalab("serve", "--tls-dir", "/tmp/somewhere")
    assert result.returncode == 2
    assert "--tls-dir needs --tls" in result.stderr

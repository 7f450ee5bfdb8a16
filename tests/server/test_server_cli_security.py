"""``quotalab serve`` keeps secrets off the screen and guards a server beyond loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from quotalab.cli import serve as serve_cli
from quotalab.server.asgi import ProviderApp
from tests.cli_process import ROOT

SECRET_CONFIG = """
[clients.billing-service]
secret = "prod-like-secret-value-123"
grant_types = ["client_credentials"]
scopes = ["read:data"]
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(monkeypatch: pytest.MonkeyPatch, **options: Any) -> dict[str, Any]:
    """Run the serve command up to the point uvicorn would start; what uvicorn got."""
    started: dict[str, Any] = {}
    monkeypatch.setattr(serve_cli.uvicorn, "run", lambda app, **kw: started.update(app=app, **kw))
    settings: dict[str, Any] = {
        "profile": "auth0",
        "host": "127.0.0.1",
        "port": _free_port(),
        "config": None,
        "no_limits": False,
        "store": "memory://",
        "workers": 1,
        "max_tracked_clients": 10_000,
        "admin_token": "",
        "read_timeout": 10.0,
        "tls": False,
        "tls_dir": None,
        "http": "auto",
        "loop": "auto",
    }
    settings.update(options)
    serve_cli.serve(**settings)
    return started


def test_secrets_from_a_config_never_reach_the_banner(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "clients.toml"
    config.write_text(SECRET_CONFIG)
    _serve(monkeypatch, config=config)
    out = capsys.readouterr().out
    assert f"billing-service / {serve_cli.SECRET_MASK}  " in out  # neither its start nor length
    assert "prod-like-secret-value-123" not in out
    assert '"client_secret":"YOUR_SECRET"' in out
    assert "demo-client / demo-secret" in out  # the documented demo client stays usable


def test_loopback_needs_no_admin_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    started = _serve(monkeypatch)
    app = started["app"]
    assert isinstance(app, ProviderApp)
    assert app.provider.admin_token == ""
    captured = capsys.readouterr()
    assert "warning" not in captured.err
    assert started["http"].read_timeout_s == 10.0


def test_listening_beyond_loopback_warns_and_requires_a_printed_admin_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    started = _serve(monkeypatch, host="0.0.0.0", read_timeout=3.0)
    token = started["app"].provider.admin_token
    assert len(token) >= 24
    captured = capsys.readouterr()
    assert "warning: listening on 0.0.0.0, beyond this machine" in captured.err
    assert f"admin token: {token}" in captured.out
    assert started["http"].read_timeout_s == 3.0
    again = _serve(monkeypatch, host="0.0.0.0", admin_token="chosen-token")
    assert again["app"].provider.admin_token == "chosen-token"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("max_tracked_clients", 0, "--max-tracked-clients must be >= 1, got 0"),
        ("read_timeout", 0.0, "--read-timeout must be between 0 and 3600 seconds, got 0"),
    ],
)
def test_bad_limits_are_one_line_errors(
    monkeypatch: pytest.MonkeyPatch, option: str, value: object, message: str
) -> None:
    with pytest.raises(serve_cli.InputError, match=message):
        _serve(monkeypatch, **{option: value})


@pytest.mark.parametrize("token", ["\udcff\udcfe", "中", "two words", "tab\t", "nul\x00"])
def test_an_admin_token_no_header_can_carry_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    # Once accepted: every /_admin/* request was then a 500 (UnicodeEncodeError).
    message = "--admin-token (or QUOTALAB_ADMIN_TOKEN) must be printable ASCII without spaces"
    with pytest.raises(serve_cli.InputError) as caught:
        _serve(monkeypatch, admin_token=token)
    assert str(caught.value) == message


def test_an_admin_token_of_raw_bytes_in_the_environment_stops_serve_in_one_line() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QUOTALAB_ADMIN_TOKEN": "\udcff\udcfe"}
    result = subprocess.run(
        [sys.executable, "-m", "quotalab", "serve", "--port", str(_free_port())],
        env=env,  # the surrogates go out as the bytes 0xFF 0xFE
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "quotalab: error: --admin-token (or QUOTALAB_ADMIN_TOKEN) must be printable ASCII "
        "without spaces"
    ]


def test_an_ipv6_loopback_server_serves_its_own_admin_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from quotalab.wire import HttpRequest

    try:
        started = _serve(monkeypatch, host="::1")
    except serve_cli.InputError as error:  # no IPv6 on this machine
        pytest.skip(str(error))
    provider = started["app"].provider
    port = started["port"]
    assert provider.base_url == f"http://[::1]:{port}"
    reset = HttpRequest("POST", "/_admin/reset", (("host", f"[::1]:{port}"),))
    assert provider.handle(reset).status == 200


def test_the_workers_banner_masks_every_credential_of_the_store_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(serve_cli, "open_store", lambda url: None)
    monkeypatch.setattr(serve_cli.os, "environ", dict(serve_cli.os.environ))
    store = "redis://u:S3CR3T@127.0.0.1:6390/0?username=R00TUSER&password=S3CR3T"
    started = _serve(monkeypatch, workers=2, store=store)
    assert started["workers"] == 2
    out = capsys.readouterr().out
    assert "S3CR3T" not in out and "R00TUSER" not in out
    assert "redis://***@127.0.0.1:6390/0?username=***&password=***" in out

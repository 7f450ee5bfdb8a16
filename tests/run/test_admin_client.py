"""The run's use of the mock server's admin API: a target that is no quotalab server
fails before any load, in one line, never as counts of 0 that a gate reads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
import respx

from quotalab.clock import SystemClock
from quotalab.counters import MemoryCounters
from quotalab.errors import InputError
from quotalab.limits import open_store
from quotalab.profiles import load_config
from quotalab.run import admin_client as admin
from quotalab.server.mock_provider import MockProvider
from quotalab.server.runner import serve_in_thread
from tests.cli_process import quotalab

BASE = "http://127.0.0.1:9"


@respx.mock
def test_a_quotalab_answer_to_reset_and_stats_is_taken() -> None:
    respx.post(f"{BASE}/_admin/reset").respond(200, json={"reset": True})
    respx.get(f"{BASE}/_admin/stats").respond(200, json={"provider": "auth0", "clients": {}})
    admin.reset(BASE)
    assert admin.stats(BASE)["clients"] == {}


@respx.mock
@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (httpx.Response(200, json={}), 'the answer is not {"reset": true}'),
        (httpx.Response(200, text="<html>ok</html>"), 'the answer is not {"reset": true}'),
        (httpx.Response(200, json={"reset": False}), 'the answer is not {"reset": true}'),
        (httpx.Response(404, json={}), "HTTP 404"),
    ],
)
def test_a_reset_no_quotalab_server_would_answer_is_refused(
    answer: httpx.Response, why: str
) -> None:
    respx.post(f"{BASE}/_admin/reset").mock(return_value=answer)
    with pytest.raises(InputError) as caught:
        admin.reset(BASE)
    assert str(caught.value) == (
        f"{BASE}: cannot reset the server ({why}); is it a quotalab mock server?"
    )


@respx.mock
@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, json={}),
        httpx.Response(200, json={"clients": []}),
        httpx.Response(200, json=[1, 2]),
        httpx.Response(200, text="not json"),
    ],
)
def test_stats_without_per_client_counts_are_refused(answer: httpx.Response) -> None:
    respx.get(f"{BASE}/_admin/stats").mock(return_value=answer)
    with pytest.raises(InputError, match=r"cannot read /_admin/stats .*quotalab mock server\?$"):
        admin.stats(BASE)


class _AnswersEmptyObjects(BaseHTTPRequestHandler):
    """A server that is not quotalab: ``200 {}`` to every request, counted."""

    requests: ClassVar[list[str]] = []

    def _answer(self) -> None:
        self.requests.append(f"{self.command} {self.path}")
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def not_quotalab() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AnswersEmptyObjects)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_run_against_a_server_that_is_not_quotalab_stops_before_any_load(
    not_quotalab: str, tmp_path: Path
) -> None:
    _AnswersEmptyObjects.requests.clear()
    done = quotalab(
        "run", "--target", not_quotalab, "--strategies", "naive", "--duration", "3s",
        "--out", str(tmp_path / "out"), cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"quotalab: error: {not_quotalab}: cannot read /_admin/stats (the answer has no "
        "per-client counts); is it a quotalab mock server?"
    )
    assert _AnswersEmptyObjects.requests == ["GET /_admin/stats"]  # no load was sent
    assert not (tmp_path / "out" / "latest").exists()


def test_a_run_against_a_server_of_another_provider_stops_before_any_load(tmp_path: Path) -> None:
    """An Auth0 run at an Okta server: every token request would be a 404, measured as
    the client's. One line before any load instead, naming both."""
    okta = MockProvider(
        load_config("okta", None), SystemClock(), open_store("memory://"), MemoryCounters()
    )
    with serve_in_thread(okta, "127.0.0.1", 0) as target:
        done = quotalab(
            "run", "--target", target, "--strategies", "naive", "--duration", "3s",
            "--out", str(tmp_path / "out"), cwd=tmp_path, timeout=120,
        )  # fmt: skip
        assert okta.stats()["clients"] == {}  # no load reached it
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        f"quotalab: error: --target {target} serves the 'okta' provider, this run's profile "
        "is 'auth0': pass the --profile (and --config) the target was started with"
    ]


@respx.mock
def test_a_server_asking_for_the_admin_token_says_which_variable_gives_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    respx.post(f"{BASE}/_admin/reset").respond(403, json={"error": "forbidden"})
    monkeypatch.delenv("QUOTALAB_ADMIN_TOKEN", raising=False)
    with pytest.raises(InputError, match=r"HTTP 403.*set QUOTALAB_ADMIN_TOKEN to the token"):
        admin.reset(BASE)
    monkeypatch.setenv("QUOTALAB_ADMIN_TOKEN", "wrong")
    with pytest.raises(InputError, match="QUOTALAB_ADMIN_TOKEN is not the token the server"):
        admin.reset(BASE)


@respx.mock
@pytest.mark.parametrize("token", ["é-token", "two words", "tab\there"])
def test_an_admin_token_no_header_can_carry_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    """httpx raised mid-run on a token no header can carry; the server refuses such a
    token at start, so the run says what is wrong with it, without repeating it."""
    respx.post(f"{BASE}/_admin/reset").respond(200, json={"reset": True})
    monkeypatch.setenv("QUOTALAB_ADMIN_TOKEN", token)
    with pytest.raises(InputError, match="QUOTALAB_ADMIN_TOKEN must be printable ASCII") as error:
        admin.reset(BASE)
    assert token not in str(error.value)

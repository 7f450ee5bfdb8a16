"""The benchmark scripts parse their options and their pure parts work; no load is run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.bare_app import fixed_response_app
from bench.locust_process import aggregated_row
from bench.machine import cpu_model
from bench.table import Verdict
from bench.wrk import WrkRequest, WrkResult, lua_script, parse_summary
from quotalab.sim.core_build import core_build

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ["reject_path", "issuance", "vs_oauth2_mock_server", "locust_overhead"]


@pytest.mark.parametrize("name", [*SCRIPTS, "profile_server"])
def test_each_benchmark_has_help_with_an_example(name: str, tmp_path: Path) -> None:
    # Run as a file from elsewhere: the one command works from any directory.
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / f"{name}.py"), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"example: python bench/{name}.py" in done.stdout
    assert "--duration" in done.stdout


def test_readme_refresh_has_help() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "refresh_readme.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "example: python bench/refresh_readme.py" in done.stdout


def test_readme_has_the_figures_markers() -> None:
    text = (ROOT / "bench" / "README.md").read_text()
    assert text.count("<!-- figures:start -->") == 1
    assert text.index("<!-- figures:start -->") < text.index("<!-- figures:end -->")


def test_lua_script_quotes_a_body_that_contains_closing_brackets() -> None:
    script = lua_script(WrkRequest("http://127.0.0.1:1/x", "POST", 'a]=]b]]"', {"X-A": "1"}))
    assert 'wrk.method = "POST"' in script
    assert 'wrk.body = [==[a]=]b]]"]==]' in script
    assert "wrk.headers[ [=[X-A]=] ] = [=[1]=]" in script


def test_wrk_summary_line_becomes_numbers() -> None:
    line = (
        'QUOTALAB_WRK {"requests":500,"duration_us":2000000,"bytes":1,"non_2xx":490,'
        '"connect":0,"read":1,"write":0,"timeout":2,"p50_us":1500,"p99_us":9000}'
    )
    result = parse_summary(f"Running 2s test\n{line}\nRequests/sec: 250\n")
    assert result.rps == 250
    assert result.non_2xx_share == 0.98
    assert result.socket_errors == 3
    assert result.p99_ms == 9.0


def test_wrk_output_without_summary_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="no summary"):
        parse_summary("Running 2s test\n", "script.lua:4: unexpected symbol")


def test_verdict_direction() -> None:
    assert Verdict("ratio", 0.7, 0.7).passed
    assert not Verdict("ratio", 0.69, 0.7).passed
    assert Verdict("overhead", 0.1, 0.2, higher_is_better=False).passed
    assert not Verdict("overhead", 0.25, 0.2, higher_is_better=False).passed


def test_cpu_model_read_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Example CPU @ 3.0GHz\n")
    assert cpu_model(cpuinfo) == "Example CPU @ 3.0GHz"


def test_locust_aggregated_row(tmp_path: Path) -> None:
    stats = tmp_path / "run_stats.csv"
    stats.write_text(
        "Type,Name,Request Count,Failure Count,Requests/s\n"
        "GET,/api/data,10,0,5.0\n"
        ",Aggregated,12,1,6.0\n"
    )
    assert aggregated_row(stats)["Request Count"] == "12"


@pytest.mark.anyio
async def test_bare_app_answers_the_fixed_response() -> None:
    body = json.dumps({"statusCode": 429}).encode()
    app = fixed_response_app(429, [("content-type", "application/json"), ("x-a", "1")], body)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        response = await client.post("/oauth/token", content=b"grant_type=client_credentials")
    assert response.status_code == 429
    assert response.content == body
    assert response.headers["x-a"] == "1"
    assert response.headers["content-length"] == str(len(body))


def test_oauth2_mock_server_is_skipped_with_a_reason_without_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import vs_oauth2_mock_server as module

    monkeypatch.setattr(module.shutil, "which", lambda _name: None)
    script, reason = module.install(tmp_path)
    assert script is None
    assert "node and npm are needed" in reason
    assert not any(tmp_path.iterdir())  # nothing was installed


@pytest.mark.anyio
async def test_replay_app_answers_each_route_and_404_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bench.bare_app import RESPONSE_ENV, create_app

    routes = {
        "POST /oauth/token": {"status": 200, "headers": [["x-kind", "token"]], "body": "{}"},
        "GET /api/data": {"status": 200, "headers": [["x-kind", "api"]], "body": "[]"},
    }
    monkeypatch.setenv(RESPONSE_ENV, json.dumps({"routes": routes}))
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        token = await client.post("/oauth/token", content=b"{}")
        api = await client.get("/api/data")
        other = await client.get("/api/other")
    assert (token.headers["x-kind"], token.text) == ("token", "{}")
    assert (api.headers["x-kind"], api.text) == ("api", "[]")
    assert other.status_code == 404


def simulate_speed(*args: str) -> list[str]:
    """The lines ``bench/simulate_speed.py args`` prints; it must exit 0."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "simulate_speed.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_simulate_speed_runs_smoke_sized() -> None:
    """Both parts run end to end on a tiny scenario: the ratio lines and a day line each."""
    lines = simulate_speed(
        *("--clients", "2", "--spans", "5s,15s", "--rounds", "1", "--day", "1m"),
        *("--traffics", "burst", "--strategies", "naive,cached+backoff"),
    )
    for strategy in ("naive", "backoff"):
        assert any(line.split()[:2] == [strategy, "quotalab"] for line in lines), lines
    assert sum("ratio" in line and "target <= 5x" in line for line in lines) == 2
    day = [line for line in lines if line.split()[:1] == ["burst"]]
    assert [line.split()[1] for line in day] == ["naive", "cached+backoff"]
    assert all("peak RSS" in line for line in day)


def test_simulate_speed_measures_the_day_alone() -> None:
    lines = simulate_speed(
        *("--skip-ratio", "--clients", "2", "--day", "1m"),
        *("--traffics", "poisson", "--strategies", "article"),
    )
    assert not any("ratio" in line for line in lines), lines
    day = [line.split()[:2] for line in lines if line.split()[:1] == ["poisson"]]
    assert day == [["poisson", "article"]]


def test_simulate_speed_measures_another_providers_day() -> None:
    lines = simulate_speed(
        *("--skip-ratio", "--clients", "2", "--day", "1m", "--profile", "okta"),
        *("--traffics", "poisson", "--strategies", "backoff"),
    )
    assert "on the okta profile" in lines[2], lines
    assert lines[1] == f"simulation core: {core_build()}"  # the one this Python imports
    day = [line.split() for line in lines if line.split()[:1] == ["poisson"]]
    assert [words[:2] for words in day] == [["poisson", "backoff"]]
    assert int(day[0][2].replace(",", "")) > 0  # calls played


def test_reject_path_holds_the_fast_stack_to_its_own_target() -> None:
    from bench.reject_path import http_target

    assert http_target("uvicorn (httptools + uvloop)") == 0.8
    assert http_target("uvicorn (h11 + asyncio)") == 0.7
    assert http_target("uvicorn (httptools + asyncio)") == 0.7


def test_a_second_verdict_is_printed_with_its_own_result() -> None:
    from bench.machine import Machine
    from bench.table import BenchResult, Figure, render

    result = BenchResult(
        "reject",
        Machine("cpu", 2, "3.11", "now"),
        (Figure("quotalab", 1.0, "us"),),
        Verdict("ratio quotalab / bare", 0.85, 0.8),
        more_verdicts=(Verdict("in-process", 13.5, 10.0, higher_is_better=False),),
    )
    lines = [" ".join(line.split()) for line in render(result, "text").splitlines()]
    assert "in-process: target <= 10.00" in lines
    assert "in-process: result MISS" in lines
    assert "| result | PASS |" in render(result, "markdown")
    data = json.loads(render(result, "json"))
    assert data["verdict"]["passed"] is True
    assert data["more_verdicts"][0]["passed"] is False


def test_a_proc_stat_line_gives_group_and_cpu_ticks() -> None:
    from bench.processes import stat_group_and_ticks

    # The command name may hold spaces and parentheses: fields count from the last ")".
    line = "4242 (python (x) y) S 1 4242 4242 0 -1 4194560 9 0 0 0 150 25 0 0 20 0 3 0 1"
    assert stat_group_and_ticks(line) == (4242, 175)


def test_a_servers_cpu_time_is_its_process_groups(tmp_path: Path) -> None:
    import os

    from bench.processes import group_cpu_s

    stats = {"10": (10, 300, 100), "11": (10, 50, 50), "12": (99, 1000, 0)}  # 12: not ours
    for pid, (group, user, system) in stats.items():
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "stat").write_text(
            f"{pid} (uvicorn) S 1 {group} {group} 0 -1 0 0 0 0 0 {user} {system} 0 0\n"
        )
    (tmp_path / "self").mkdir()  # not a process id: skipped
    (tmp_path / "13").mkdir()  # a process gone meanwhile: skipped
    assert group_cpu_s(10, tmp_path) == 500 / os.sysconf("SC_CLK_TCK")


def _wrk(requests: int, duration_s: float = 1.0) -> WrkResult:
    return WrkResult(requests, duration_s, requests, 0, 1.0, 2.0)


def test_the_cpu_ratio_is_the_median_of_the_rounds_own_ratios() -> None:
    from bench.rounds import SideBySide

    # Round 2 is noisy (side A's CPU time doubled): the median does not follow it.
    runs = SideBySide(
        a=(_wrk(1000), _wrk(1000), _wrk(1000)),
        b=(_wrk(2000), _wrk(500), _wrk(1000)),
        a_cpu_s=(0.040, 0.080, 0.040),
        b_cpu_s=(0.060, 0.015, 0.030),
    )
    assert runs.measured_cpu
    assert runs.a_cpu_us == pytest.approx(40.0)
    assert runs.b_cpu_us == pytest.approx(30.0)
    assert runs.cpu_ratio == pytest.approx(0.75)  # rounds: 0.75, 0.375, 0.75
    assert runs.ratio == pytest.approx(1.0)  # req/s rounds: 0.5, 2.0, 1.0
    assert runs.a_busy == pytest.approx(0.04)


def test_side_by_side_alternates_which_side_goes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import rounds

    order: list[str] = []
    used = {"a": 0.0, "b": 0.0}

    def fake_wrk(request: WrkRequest, *, duration_s: float, connections: int) -> WrkResult:
        side = request.url.rsplit("/", 1)[1]
        order.append(side)
        used[side] += 0.01 if side == "a" else 0.02  # each run costs its server this much CPU
        return _wrk(1000, duration_s)

    monkeypatch.setattr(rounds, "run_wrk", fake_wrk)
    runs = rounds.side_by_side(
        WrkRequest("http://127.0.0.1:1/a"),
        WrkRequest("http://127.0.0.1:1/b"),
        rounds=4,
        duration_s=1,
        connections=2,
        cpu=(lambda: used["a"], lambda: used["b"]),
    )
    assert order[:2] == ["a", "b"]  # the warm-up
    assert order[2:] == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert runs.a_cpu_s == pytest.approx((0.01,) * 4)
    assert runs.cpu_ratio == pytest.approx(2.0)


def test_refreshing_one_benchmark_keeps_the_others_tables_as_they_are() -> None:
    from bench.refresh_readme import END, README, START, section, tables_in

    held = README.read_text().partition(START)[2].partition(END)[0]
    tables = tables_in(held)
    assert list(tables) == ["reject_path", "issuance", "vs_oauth2_mock_server", "locust_overhead"]
    assert section(tables) == held.strip("\n")  # read back and written out: the same text


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_the_protocol_is_timed_with_the_app_answering_every_request(http: str) -> None:
    from bench.protocol_cost import protocol_seconds_per_request, request_bytes
    from quotalab.server.read_timeouts import protocol_for

    answered: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        answered.append(1)
        await send({"type": "http.response.start", "status": 429, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    request = request_bytes("POST", "/oauth/token", {"Content-Type": "text/plain"}, b"x")
    seconds = protocol_seconds_per_request(protocol_for(http), app, request, duration_s=0.01)
    assert 0 < seconds < 0.01
    assert len(answered) >= 4000  # the warm-up and at least one timed batch

"""``quotalab gate`` end to end through ``main()``: exit codes 0, 1 and 2."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from gate_samples import GOOD_THRESHOLDS, document, measured, write_json

from quotalab.cli import main
from quotalab.report import StrategyMeasurements


def gate(monkeypatch: pytest.MonkeyPatch, *args: str | Path) -> int:
    monkeypatch.setattr("sys.argv", ["quotalab", "gate", *map(str, args)])
    with pytest.raises(SystemExit) as stopped:
        main()
    code = stopped.value.code
    return 0 if code is None else int(code)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    thresholds = tmp_path / "thresholds.toml"
    thresholds.write_text(GOOD_THRESHOLDS)
    return {
        "good": write_json(tmp_path / "good.json", document(cached_backoff=measured())),
        "bad": write_json(
            tmp_path / "bad.json", document(cached_backoff=measured(token_requests=60))
        ),
        "thresholds": thresholds,
    }


def test_all_bounds_hold_exit_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    assert gate(monkeypatch, files["good"], "--thresholds", files["thresholds"]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and "4 checks, 0 failed" in out


def test_a_violation_exits_1_and_prints_figure_and_bound(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    assert gate(monkeypatch, files["bad"], "--thresholds", files["thresholds"]) == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("FAIL")]
    assert lines == ["FAIL cached+backoff: token_requests_per_1k_calls = 6 above the maximum 5"]


def test_baseline_regression_exits_1_and_improvement_exits_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    loose = files["thresholds"].parent / "loose.toml"
    loose.write_text('[strategies."cached+backoff"]\nmax_token_requests_per_1k_calls = 100\n')
    args = ("--thresholds", loose, "--tolerance", "0.1")
    assert gate(monkeypatch, files["bad"], *args, "--baseline", files["good"]) == 1
    assert "than the baseline" in capsys.readouterr().out
    assert gate(monkeypatch, files["good"], *args, "--baseline", files["bad"]) == 0


def test_junit_file_is_written_even_when_failing(
    monkeypatch: pytest.MonkeyPatch, files: dict[str, Path], tmp_path: Path
) -> None:
    junit = tmp_path / "gate.xml"
    code = gate(monkeypatch, files["bad"], "--thresholds", files["thresholds"], "--junit", junit)
    assert code == 1
    root = ET.parse(junit).getroot()
    assert root.get("tests") == "4" and root.get("failures") == "1"


HOSTILE_BASELINES = {
    "NaN in the baseline": '"token_requests_per_1k_calls": NaN',
    "Infinity in the baseline": '"token_requests_per_1k_calls": Infinity',
    "1e400 in the baseline": '"token_requests_per_1k_calls": 1e400',  # infinity to json.loads
}


def unusable(tmp_path: Path, files: dict[str, Path], case: str) -> list[str | Path]:
    """Arguments for one kind of unusable input."""
    thresholds = tmp_path / "t.toml"
    report = files["good"]
    if case == "missing report":
        return [tmp_path / "none.json", "--thresholds", files["thresholds"]]
    if case == "missing thresholds":
        return [report, "--thresholds", tmp_path / "none.toml"]
    if case == "missing baseline":
        return [report, "--thresholds", files["thresholds"], "--baseline", tmp_path / "x.json"]
    if case == "bad toml":
        thresholds.write_text("[strategies.\n")
        return [report, "--thresholds", thresholds]
    if case == "unknown key":
        thresholds.write_text('[strategies."cached+backoff"]\nmax_latency = 3\n')
        return [report, "--thresholds", thresholds]
    if case == "strategy not in report":
        thresholds.write_text("[strategies.naive]\nmax_p95_ms = 3\n")
        return [report, "--thresholds", thresholds]
    data = json.loads(report.read_text())
    if case == "other schema version":
        data["schema_version"] = 2
    elif case == "schema violation":
        data["strategies"]["cached+backoff"]["success_ratio"] = "high"
    elif case == "not json":
        (tmp_path / "r.json").write_text("not json")
        return [tmp_path / "r.json", "--thresholds", files["thresholds"]]
    elif case == "nan tolerance without baseline":
        return [report, "--thresholds", files["thresholds"], "--tolerance", "nan"]
    elif case == "negative tolerance":
        return [
            report,
            "--thresholds",
            files["thresholds"],
            "--baseline",
            report,
            "--tolerance",
            "-1",
        ]
    elif case == "option value of the wrong type":
        return [report, "--thresholds", files["thresholds"], "--tolerance", "ten"]
    elif case == "tolerance without baseline":
        return [report, "--thresholds", files["thresholds"], "--tolerance", "0.2"]
    elif case == "figure tolerance without baseline":
        return [report, "--thresholds", files["thresholds"], "--figure-tolerance", "p95_ms=1"]
    elif case == "compare latency without baseline":
        return [report, "--thresholds", files["thresholds"], "--compare-latency"]
    elif case == "baseline without strategies":
        empty = dict(data, strategies={})
        baseline = write_json(tmp_path / "empty.json", empty)
        return [report, "--thresholds", files["thresholds"], "--baseline", baseline]
    elif case in HOSTILE_BASELINES:  # what json.loads reads as a number that is none
        text = report.read_text().replace(
            '"token_requests_per_1k_calls": 1.0', HOSTILE_BASELINES[case]
        )
        assert text != report.read_text()
        (tmp_path / "b.json").write_text(text)
        return [report, "--thresholds", files["thresholds"], "--baseline", tmp_path / "b.json"]
    elif case == "report nested 100,000 deep":
        (tmp_path / "r.json").write_text("[" * 100_000 + "]" * 100_000)
        return [tmp_path / "r.json", "--thresholds", files["thresholds"]]
    elif case == "report nested 70 deep":  # within the parser's recursion, past the checks'
        (tmp_path / "r.json").write_text('{"a":' * 70 + "1" + "}" * 70)
        return [tmp_path / "r.json", "--thresholds", files["thresholds"]]
    elif case == "5,000-digit integer in the report":
        (tmp_path / "r.json").write_text('{"schema_version": ' + "9" * 5000 + "}")
        return [tmp_path / "r.json", "--thresholds", files["thresholds"]]
    elif case == "401-digit integer in the thresholds":  # within int's limit, past a float
        thresholds.write_text('[strategies."cached+backoff"]\nmax_p95_ms = 1' + "0" * 400 + "\n")
        return [report, "--thresholds", thresholds]
    elif case == "401-digit integer in the baseline":
        text = report.read_text().replace(
            '"token_requests_per_1k_calls": 1.0', '"token_requests_per_1k_calls": 1' + "0" * 400
        )
        (tmp_path / "b.json").write_text(text)
        return [report, "--thresholds", files["thresholds"], "--baseline", tmp_path / "b.json"]
    elif case == "thresholds nested 100,000 deep":
        thresholds.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
        return [report, "--thresholds", thresholds]
    elif case == "5,000-digit integer in the thresholds":
        thresholds.write_text('[strategies."cached+backoff"]\nmax_p95_ms = ' + "9" * 5000 + "\n")
        return [report, "--thresholds", thresholds]
    elif case == "unknown option":
        return [report, "--thresholds", files["thresholds"], "--bogus"]
    elif case == "report is an endless device":
        return ["/dev/zero", "--thresholds", files["thresholds"]]
    elif case == "thresholds are an endless device":
        return [report, "--thresholds", "/dev/zero"]
    elif case == "baseline is an endless device":
        return [report, "--thresholds", files["thresholds"], "--baseline", "/dev/zero"]
    elif case == "report not UTF-8":
        (tmp_path / "r.json").write_bytes(b'{"caf\xe9": 1}')
        return [tmp_path / "r.json", "--thresholds", files["thresholds"]]
    elif case == "missing thresholds option":
        return [report]
    return [write_json(tmp_path / "r.json", data), "--thresholds", files["thresholds"]]


@pytest.mark.parametrize(
    "case",
    [
        "missing report",
        "missing thresholds",
        "missing baseline",
        "bad toml",
        "unknown key",
        "strategy not in report",
        "other schema version",
        "schema violation",
        "not json",
        "negative tolerance",
        "nan tolerance without baseline",
        "tolerance without baseline",
        "figure tolerance without baseline",
        "compare latency without baseline",
        "baseline without strategies",
        "option value of the wrong type",
        "unknown option",
        "missing thresholds option",
        "report is an endless device",
        "thresholds are an endless device",
        "baseline is an endless device",
        "report not UTF-8",
        *HOSTILE_BASELINES,
        "report nested 100,000 deep",
        "report nested 70 deep",
        "5,000-digit integer in the report",
        "thresholds nested 100,000 deep",
        "5,000-digit integer in the thresholds",
        "401-digit integer in the thresholds",
        "401-digit integer in the baseline",
    ],
)
def test_unusable_input_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, Path],
    tmp_path: Path,
    case: str,
) -> None:
    assert gate(monkeypatch, *unusable(tmp_path, files, case)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("quotalab: error: ")
    assert "Traceback" not in err[0]


@pytest.mark.parametrize(
    ("path", "value", "said"),
    [
        (("mode",), "simulated", "the baseline's mode is 'simulated', the report's 'live'"),
        (("profile",), "okta", "the baseline's profile is 'okta', the report's"),
        (("scenario",), "spike", "the baseline's scenario is 'spike', the report's"),
        (("plan", "name"), "auth0-b2b", "the baseline's plan is 'auth0-b2b', the report's"),
        # A 2-minute baseline against a 2-hour run: a cache's warm-up weighs 60x more.
        (("settings", "duration_s"), 120.0, "the baseline's settings.duration_s is 120.0"),
        (("settings", "rate_per_user"), 99.0, "the baseline's settings.rate_per_user is 99.0"),
        # Each locust process keeps a token cache: two processes warm up twice.
        (("settings", "processes"), 2, "the baseline's settings.processes is 2"),
        (("settings", "workers"), 3, "the baseline's settings.workers is 3"),
        (("settings", "config"), "/ci/tight.toml", "the baseline's config is 'a --config file'"),
    ],
)
def test_a_baseline_of_another_kind_of_run_is_refused_whichever_way(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, Path],
    tmp_path: Path,
    path: tuple[str, ...],
    value: str,
    said: str,
) -> None:
    """A live 5 s run against a simulated day (or another profile, scenario or plan) would
    fail a good change by 877,100%, or pass a bad one as an improvement the other way:
    exit 2 in one line, whichever report is the baseline."""
    other = json.loads(files["good"].read_text())
    meta = other["meta"]
    for key in path[:-1]:
        meta = meta[key]
    meta[path[-1]] = value
    baseline = write_json(tmp_path / "other.json", other)
    said_first = []
    for report, earlier in ((files["good"], baseline), (baseline, files["good"])):
        assert gate(monkeypatch, report, "--thresholds", files["thresholds"], "--baseline",
                    earlier) == 2  # fmt: skip
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "compare like with like" in err[0]
        said_first.append(err[0])
    assert said in said_first[0]  # the report is the good one, the baseline the other


def test_per_figure_tolerances_and_latency_on_request(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    folder = files["thresholds"].parent
    loose = folder / "loose.toml"
    loose.write_text('[strategies."cached+backoff"]\nmax_token_requests_per_1k_calls = 100\n')
    slow = write_json(folder / "slow.json", document(cached_backoff=measured(p95_ms=200.0)))
    args = ("--thresholds", loose, "--baseline", files["good"])
    # Latency doubled: no regression unless latency is asked for.
    assert gate(monkeypatch, slow, *args) == 0
    assert "p95_ms" not in capsys.readouterr().out
    assert gate(monkeypatch, slow, *args, "--compare-latency") == 1
    assert "FAIL cached+backoff: p95_ms" in capsys.readouterr().out
    assert gate(monkeypatch, slow, *args, "--figure-tolerance", "p95_ms=1.5") == 0
    # 6 vs 1 token request per 1k calls: fails at 10%, passes with its own tolerance.
    assert gate(monkeypatch, files["bad"], *args) == 1
    loosened = ("--figure-tolerance", "token_requests_per_1k_calls=5")
    assert gate(monkeypatch, files["bad"], *args, *loosened) == 0
    capsys.readouterr()
    assert gate(monkeypatch, files["bad"], *args, "--figure-tolerance", "p95=1") == 2
    assert "unknown figure 'p95'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("made", "reason"),
    [
        (measured(api_calls=0, api_ok=0, token_requests=0), "made no call"),
        (
            StrategyMeasurements(
                api_calls=0,
                api_ok=0,
                token_requests=0,
                tokens_issued=0,
                duration_s=5,
                calls=40,
                calls_ok=40,
            ),
            "40 calls succeeded but the server counted no API request",
        ),
        (  # a wrong target: every token request got a 404 the server counts nowhere
            StrategyMeasurements(
                api_calls=0,
                api_ok=0,
                token_requests=0,
                tokens_issued=0,
                duration_s=2,
                calls=14,
                calls_ok=0,
            ),
            "none of its 14 calls sent a request the server counted",
        ),
        (  # a client that swallows its throttles and says 200: 100% success, not true
            StrategyMeasurements(
                api_calls=135,
                api_ok=135,
                token_requests=380,
                tokens_issued=135,
                duration_s=4,
                calls=380,
                calls_ok=380,
            ),
            "380 calls succeeded but the server answered only 135 API requests with success",
        ),
    ],
)
def test_a_strategy_that_measured_nothing_fails_the_gate_whatever_the_bounds(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    made: StrategyMeasurements,
    reason: str,
) -> None:
    report = write_json(tmp_path / "r.json", document(mine=made))
    thresholds = tmp_path / "t.toml"
    thresholds.write_text("[strategies.mine]\nmax_token_requests = 1000\n")
    assert gate(monkeypatch, report, "--thresholds", thresholds) == 1
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("FAIL")]
    assert line.startswith("FAIL mine: ") and reason in line


def test_a_report_whose_ratios_are_not_its_counts_is_refused(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, Path],
    tmp_path: Path,
) -> None:
    """A success ratio edited to 1 beside 946 successful calls of 1,000 must not pass a
    gate; nor a baseline edited so: both are read as quotalab wrote them."""
    edited = json.loads(files["good"].read_text())
    strategy = edited["strategies"]["cached+backoff"]
    strategy["calls_ok"] = strategy["calls"] - 54
    strategy["api_ok"] = strategy["api_calls"] - 54
    path = write_json(tmp_path / "edited.json", edited)
    for args in ((path,), (files["good"], "--baseline", path)):
        assert gate(monkeypatch, *args[:1], "--thresholds", files["thresholds"], *args[1:]) == 2
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert "'cached+backoff' gives success_ratio = 1.0, but its counts make it 0.9946" in line


def test_a_report_with_a_key_twice_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    """JSON readers differ on which of two values of one key counts: no reading is the file's."""
    text = files["good"].read_text()
    twice = text.replace('"strategies": {', '"strategies": {"cached+backoff": {}, ', 1)
    assert twice != text
    files["good"].write_text(twice)
    assert gate(monkeypatch, files["good"], "--thresholds", files["thresholds"]) == 2
    assert "key 'cached+backoff' appears twice in one object" in capsys.readouterr().err


def test_a_baseline_that_measured_nothing_is_refused(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, Path],
    tmp_path: Path,
) -> None:
    """Every comparison with it would say "nothing to compare" and pass."""
    empty = document(cached_backoff=measured(api_calls=0, api_ok=0, token_requests=0))
    baseline = write_json(tmp_path / "empty.json", empty)
    args = ("--thresholds", files["thresholds"], "--baseline", baseline)
    assert gate(monkeypatch, files["good"], *args) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "the baseline is no evidence (cached+backoff: made no call" in line


def test_control_characters_in_a_strategy_name_reach_no_screen_and_no_xml(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, Path],
    tmp_path: Path,
) -> None:
    """An ESC in a name must not recolour the CI log, nor make the JUnit file no XML."""
    name = "own\x1b[31m\x00:factory"
    report = write_json(tmp_path / "esc.json", document(**{name: measured()}))
    thresholds = tmp_path / "esc.toml"
    thresholds.write_text(
        '[strategies."own\\u001b[31m\\u0000:factory"]\nmax_token_requests_per_1k_calls = 0.5\n'
    )
    junit = tmp_path / "gate.xml"
    assert gate(monkeypatch, report, "--thresholds", thresholds, "--junit", junit) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "own\\x1b[31m\\x00:factory" in out
    (case,) = ET.parse(junit).getroot().iter("testcase")
    assert case.get("classname") == "quotalab.gate.own\\x1b[31m\\x00:factory"


def test_a_report_rounded_to_the_nearest_step_is_still_read(
    monkeypatch: pytest.MonkeyPatch, files: dict[str, Path], tmp_path: Path
) -> None:
    """Reports of earlier 0.2.0 builds rounded ratios to the nearest step, not worse-ward:
    one step off their counts is how quotalab wrote them, two steps is not."""
    older = json.loads(files["good"].read_text())
    strategy = older["strategies"]["cached+backoff"]
    assert strategy["calls"] == 10_000
    strategy["calls_ok"] = strategy["api_ok"] = 9_993  # a success ratio of 0.9993
    for ratio, code in ((0.9993, 0), (0.9994, 0), (0.9992, 0), (0.9995, 2), (0.9991, 2)):
        strategy["success_ratio"] = ratio
        path = write_json(tmp_path / "older.json", older)
        assert gate(monkeypatch, path, "--thresholds", files["thresholds"]) == code, ratio

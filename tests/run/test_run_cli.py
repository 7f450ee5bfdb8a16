"""``quotalab run`` refuses impossible options with one line and exit 2, before any load."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_process import quotalab


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--users", "0"], "--users 0"),
        (["--rate", "-1"], "--rate -1"),
        (["--duration", "forever"], "--duration"),
        (["--scenario", "tsunami"], "unknown scenario"),
        (["--strategies", "naive,teleport"], "unknown strategy 'teleport'"),
        (["--strategies", "no_such_module_xyz:factory"], "cannot import"),
        (["--profile", "keycloak"], "keycloak"),
        (["--tls", "--target", "https://127.0.0.1:9"], "--tls"),
        (["--processes", "0"], "--processes 0"),
        (["--target", "ftp://example.test"], "--target"),
        (["--gate", "/nonexistent/thresholds.toml"], "--gate"),
        (["--expect-workers", "2"], "--expect-workers needs --master"),
        (["--master", "--processes", "2"], "--processes and --master exclude each other"),
        (["--master", "--scenario", "spike"], "load shape"),
        (["--master", "--tls"], "--tls and --master exclude each other"),
    ],
)
def test_impossible_options_exit_2_with_one_line(
    args: list[str], message: str, tmp_path: Path
) -> None:
    done = quotalab("run", *args, "--out", str(tmp_path / "r"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "r").exists()  # nothing ran, nothing written


def test_help_shows_an_example() -> None:
    done = quotalab("run", "--help")
    assert done.returncode == 0
    assert "Example: quotalab run" in done.stdout


BROKEN = """
class Ret:
    name = "ret"
    def call_api(self, path):
        return 200

def boom(settings, *, clock, rng):
    raise ValueError("cannot build client: missing env CLIENT_REGION")

def forty_two(settings, *, clock, rng):
    return 42

def nothing(settings, *, clock, rng):
    return None

def no_keywords(settings):
    return Ret()
"""


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("broken:boom", "the factory failed (ValueError: cannot build client"),
        ("broken:forty_two", "the factory returned int"),
        ("broken:nothing", "the factory returned NoneType"),
        ("broken:no_keywords", "the factory failed (TypeError"),
        ("syntax_error:factory", "cannot import 'syntax_error' (SyntaxError"),
        ("raises_at_import:factory", "cannot import 'raises_at_import' (RuntimeError: boom"),
    ],
)
def test_a_factory_or_module_that_fails_stops_the_run_before_any_load(
    spec: str, message: str, tmp_path: Path
) -> None:
    (tmp_path / "broken.py").write_text(BROKEN)
    (tmp_path / "syntax_error.py").write_text("def factory(:\n")
    (tmp_path / "raises_at_import.py").write_text("raise RuntimeError('boom')\n")
    done = quotalab("run", "--strategies", f"naive,{spec}", "--duration", "1s", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"quotalab: error: --strategies '{spec}': ") and message in line
    assert not (tmp_path / "reports").exists()  # nothing ran, nothing written


def test_a_broken_gate_file_stops_the_run_before_any_load(tmp_path: Path) -> None:
    thresholds = tmp_path / "gate.toml"
    thresholds.write_text("[strategies.naive]\nmax_foo = 1\n")
    done = quotalab("run", "--strategies", "naive", "--gate", str(thresholds), cwd=tmp_path)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "max_foo: unknown key" in line
    thresholds.write_text("[strategies.cached]\nmax_token_requests = 5\n")
    done = quotalab("run", "--strategies", "naive", "--gate", str(thresholds), cwd=tmp_path)
    assert done.returncode == 2
    assert "strategy 'cached' is bounded but not run" in done.stderr
    assert not (tmp_path / "reports").exists()

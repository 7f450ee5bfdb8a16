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

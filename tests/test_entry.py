"""The entry point: whatever stops a command, one line and a status, never a traceback."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from quotalab.cli import entry


def test_ctrl_c_while_the_commands_load_is_one_line_and_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Loading the commands is most of the start-up, so a Ctrl-C lands there most often."""

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(entry, "_register_commands", interrupted)
    with pytest.raises(SystemExit) as stopped:
        entry.main()
    assert stopped.value.code == 130
    assert capsys.readouterr().err == "quotalab: aborted\n"


CTRL_C_IN_IMPORT = """
import builtins, sys
real_import = builtins.__import__

def interrupting(name, *args, **kwargs):
    if name == "typer":  # the CLI's first heavy import: a Ctrl-C lands in such imports
        raise KeyboardInterrupt
    return real_import(name, *args, **kwargs)

builtins.__import__ = interrupting
from quotalab.command import main
main()
"""


def test_ctrl_c_while_the_cli_is_imported_is_one_line_and_exit_130() -> None:
    """Before the commands load, the ``quotalab`` script imports the CLI (typer, rich):
    a Ctrl-C there ends it alike, without an import traceback."""
    done = subprocess.run(
        [sys.executable, "-c", CTRL_C_IN_IMPORT], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr) == (130, "quotalab: aborted\n")


def test_the_command_and_python_m_run_the_guarded_entry_point() -> None:
    scripts = tomllib.loads(Path("pyproject.toml").read_text("utf-8"))["project"]["scripts"]
    assert scripts == {"quotalab": "quotalab.command:main"}
    done = subprocess.run(
        [sys.executable, "-m", "quotalab", "version"], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout.count(".")) == (0, 2), done.stderr


def test_importing_quotalab_loads_neither_typing_nor_package_metadata() -> None:
    """What the command runs before its guard: the package's ``__init__`` alone."""
    check = (
        "import sys, quotalab; print(sorted({'typing', 'importlib.metadata'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr

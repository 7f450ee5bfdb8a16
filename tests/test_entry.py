"""The entry point: whatever stops a command, one line and a status, never a traceback."""

from __future__ import annotations

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

"""The locustfiles run directly with ``locust -f``: a rate that is no rate is refused."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.cli_process import ROOT


@pytest.mark.parametrize("rate", ["nan", "inf", "-1", "fast"])
def test_a_rate_that_is_no_rate_is_one_line_and_exit_2(rate: str) -> None:
    """``--rate nan`` let every user call at once, unthrottled (6,000 calls where 14 were
    asked); a negative one gave a traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "locustfiles" / "steady.py"),
         "--headless", "-u", "1", "-t", "1s", "--host", "http://127.0.0.1:9", "--rate", rate],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .endswith(f": error: argument --rate: {rate!r} is no rate: a number >= 0 of calls/s")
    )
    assert "Traceback" not in done.stderr

"""report.html opened in a real headless Chromium: the charts are laid out."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from report_samples import META, both

from quotalab.report import build_report, write_report

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium() -> str:
    """The browser binary; missing is a skip locally and a failure in CI."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required in CI (CI=true) but was not found")
        pytest.skip("chromium is not installed")
    return found


@pytest.mark.browser
def test_chromium_lays_out_every_chart(tmp_path: Path) -> None:
    report = build_report(META, both())
    paths = write_report(report, tmp_path / "run")
    result = subprocess.run(
        [
            chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            paths.html.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    series = re.search(r'data-rendered-series="(\d+)"', dom)
    bars = re.search(r'data-rendered-bars="(\d+)"', dom)
    assert series is not None and bars is not None, "the render check did not run"
    assert int(series.group(1)) == 3 * len(report.strategies)
    assert int(bars.group(1)) == len(report.strategies)

"""Write a report's three files and keep ``reports/latest`` pointing at the newest run."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from quotalab.clock import Clock
from quotalab.errors import InputError
from quotalab.report.document import dumps_report
from quotalab.report.html import render_html
from quotalab.report.markdown import render_markdown
from quotalab.report.values import Report

LATEST = "latest"


@dataclass(frozen=True, slots=True)
class ReportPaths:
    """Where ``write_report`` put each file."""

    directory: Path
    json: Path
    markdown: Path
    html: Path


def write_report(report: Report, out_dir: Path | str) -> ReportPaths:
    """Write report.json, report.md and report.html into ``out_dir`` (created if needed)."""
    directory = Path(out_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        paths = ReportPaths(
            directory=directory,
            json=directory / "report.json",
            markdown=directory / "report.md",
            html=directory / "report.html",
        )
        paths.json.write_text(dumps_report(report), encoding="utf-8")
        paths.markdown.write_text(render_markdown(report), encoding="utf-8")
        paths.html.write_text(render_html(report), encoding="utf-8")
    except OSError as error:
        raise InputError(f"{directory}: cannot write the report ({error.strerror})") from None
    return paths


def generated_at(clock: Clock) -> str:
    """The clock's instant as an ISO 8601 UTC timestamp, for ``RunMeta.generated_at``."""
    return datetime.fromtimestamp(clock.now(), tz=UTC).isoformat(timespec="seconds")


def run_directory(reports_root: Path | str, scenario: str, clock: Clock) -> Path:
    """A fresh ``<root>/<YYYYmmdd-HHMMSS>-<scenario>/`` path (created; suffixed if taken)."""
    stamp = datetime.fromtimestamp(clock.now(), tz=UTC).strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^A-Za-z0-9_.+-]+", "-", scenario).strip("-.") or "run"
    root = Path(reports_root)
    _check_latest_is_ours(root / LATEST)  # before the run, not after it
    candidate = root / f"{stamp}-{slug}"
    suffix = 2
    while candidate.exists():
        candidate = root / f"{stamp}-{slug}-{suffix}"
        suffix += 1
    try:
        candidate.mkdir(parents=True)
    except OSError as error:
        raise InputError(
            f"{candidate}: cannot create the run directory ({error.strerror})"
        ) from None
    return candidate


def _check_latest_is_ours(link: Path) -> None:
    """``InputError`` when ``link`` is a file or directory of the user's (a CI artifact
    unpacked in place, say), which ``point_latest`` must not replace."""
    if link.is_symlink() or not link.exists():
        return
    kind = "directory" if link.is_dir() else "file"
    raise InputError(
        f"{link}: a {kind}, not the link to the latest run that quotalab keeps there; "
        "move it away or write the reports elsewhere (--out)"
    )


def point_latest(run_dir: Path | str) -> Path:
    """Point ``<parent>/latest`` at ``run_dir`` (a relative symlink, replaced atomically)."""
    run_dir = Path(run_dir)
    link = run_dir.parent / LATEST
    _check_latest_is_ours(link)  # it may have appeared while the run went on
    temporary = run_dir.parent / f".{LATEST}.{os.getpid()}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(run_dir.name, target_is_directory=True)
    try:
        os.replace(temporary, link)
    except OSError as error:
        temporary.unlink()
        raise InputError(f"{link}: cannot point it at {run_dir.name} ({error.strerror})") from None
    return link

"""Run every benchmark of this folder once and put their tables into bench/README.md.

Replaces only the text between the ``figures:start`` and ``figures:end`` markers;
the analysis of missed targets around it is written by hand. Takes about five
minutes; extra options (e.g. ``--rounds 3``) are passed to every benchmark.
``--only NAME`` runs one benchmark and replaces its table and summary row only.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
README = BENCH / "README.md"
START, END = "<!-- figures:start -->", "<!-- figures:end -->"
BENCHMARKS = {
    "reject_path": ("quotalab 429 / bare ASGI 429", ">= 0.80"),  # 0.70 on h11
    "issuance": ("quotalab 200 / RS256 signing ceiling", ">= 0.80"),
    "vs_oauth2_mock_server": ("quotalab / oauth2-mock-server", ">= 2.50"),
    "locust_overhead": ("strategy vs FastHttpUser, CPU per request", "<= 0.20"),
}
_RATIO = re.compile(r"\| \*\*[^|]*\*\* \| \*\*([-0-9.]+)\*\* \|")
_RESULT = re.compile(r"\| result \| (\w+) \|")
_TARGET = re.compile(r"\| target \| ([^|]+?) \|")


def run(name: str, extra: list[str]) -> str:
    """One benchmark's Markdown table, or the line it printed when it skipped or failed."""
    print(f"running {name} ...", file=sys.stderr)
    done = subprocess.run(
        [sys.executable, str(BENCH / f"{name}.py"), "--output", "markdown", *extra],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return f"Failed (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}"
    return done.stdout.strip()


def section(tables: dict[str, str]) -> str:
    """The summary table and each benchmark's own table."""
    lines = ["| benchmark | ratio | target | result |", "| --- | --- | --- | --- |"]
    for name, (what, target) in BENCHMARKS.items():
        ratio, result = _RATIO.search(tables[name]), _RESULT.search(tables[name])
        measured_target = _TARGET.search(tables[name])  # a table's own target wins
        target = measured_target.group(1) if measured_target else target
        lines.append(
            f"| {name}: {what} | {ratio.group(1) if ratio else '-'} | {target} "
            f"| {result.group(1) if result else 'not run'} |"
        )
    for name in BENCHMARKS:
        lines += ["", f"### {name}", "", tables[name]]
    return "\n".join(lines)


def tables_in(section_text: str) -> dict[str, str]:
    """Each benchmark's table as the section holds it (``### name`` and what follows)."""
    tables = {}
    for part in section_text.split("\n### ")[1:]:
        name, _, table = part.partition("\n")
        tables[name.strip()] = table.strip()
    return tables


def main(argv: list[str] | None = None) -> int:
    extra = list(sys.argv[1:] if argv is None else argv)
    if extra[:1] in (["-h"], ["--help"]):
        print(__doc__ + "\nexample: python bench/refresh_readme.py --only reject_path --rounds 5")
        return 0
    text = README.read_text()
    before, _, rest = text.partition(START)
    held, _, after = rest.partition(END)
    if extra[:1] == ["--only"]:
        if len(extra) < 2 or extra[1] not in BENCHMARKS:
            print(f"refresh_readme: --only takes one of {', '.join(BENCHMARKS)}", file=sys.stderr)
            return 2
        tables = tables_in(held)
        missing = [name for name in BENCHMARKS if name not in tables]
        if missing:
            print(f"refresh_readme: README has no table for {missing}", file=sys.stderr)
            return 2
        tables[extra[1]] = run(extra[1], extra[2:])
    else:
        tables = {name: run(name, extra) for name in BENCHMARKS}
    README.write_text(f"{before}{START}\n{section(tables)}\n{END}{after}")
    print(f"updated {README}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

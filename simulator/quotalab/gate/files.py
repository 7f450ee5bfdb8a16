"""The gate over files: what ``quotalab gate`` and the ``--gate`` option of run/simulate call."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from quotalab.errors import InputError
from quotalab.gate.checks import (
    CheckResult,
    check_comparable,
    check_evidence,
    check_thresholds,
    check_tolerance,
    compare_baseline,
)
from quotalab.gate.junit import junit_xml
from quotalab.gate.thresholds import load_thresholds
from quotalab.report.document import load_report
from quotalab.strategies.raised_calls import printable


def gate_files(
    report: Path | str,
    thresholds: Path | str,
    *,
    baseline: Path | str | None = None,
    tolerance: float = 0.1,
    tolerances: Mapping[str, float] | None = None,
    compare_latency: bool = False,
    junit: Path | str | None = None,
) -> list[CheckResult]:
    """Load and check; writes JUnit XML when asked. Raises InputError/ConfigError (exit 2).

    ``tolerances``: per-figure tolerances of the baseline comparison;
    ``compare_latency``: compare p95/p99 with the baseline too.
    """
    check_tolerance(tolerance)  # even without --baseline: a bad option is never silently ignored
    document = load_report(report)
    results = check_evidence(document) + check_thresholds(document, load_thresholds(thresholds))
    if baseline is not None:
        earlier = load_report(baseline)
        if not earlier["strategies"]:
            raise InputError(f"{baseline}: the baseline has no strategies, so nothing to compare")
        check_comparable(document, earlier, str(baseline))
        unmeasured = check_evidence(earlier)
        if unmeasured:  # every comparison with it would be "nothing to compare", a pass
            raise InputError(
                f"{baseline}: the baseline is no evidence ({unmeasured[0].message}): write it "
                "from a run that measured"
            )
        results += compare_baseline(
            document,
            earlier,
            tolerance,
            tolerances=tolerances,
            compare_latency=compare_latency,
        )
    if junit is not None:
        try:
            Path(junit).write_text(junit_xml(results), encoding="utf-8")
        except OSError as error:
            raise InputError(f"{junit}: cannot write JUnit XML ({error.strerror})") from None
    return results


def check_gate_file(thresholds: Path | str, strategies: Sequence[str]) -> None:
    """Check a ``--gate`` file before a run or simulation starts, not after its load.

    ConfigError for an unusable file; InputError when it bounds a strategy
    the run will not measure.
    """
    loaded = load_thresholds(thresholds)
    missing = [name for name in loaded.strategies if name not in strategies]
    if missing:
        raise InputError(
            f"--gate {thresholds}: strategy {missing[0]!r} is bounded but not run "
            f"(--strategies {','.join(strategies)})"
        )


def echo_results(results: Sequence[CheckResult], echo: Callable[[str], object]) -> int:
    """Print one line per check and a summary; returns how many checks failed."""
    for result in results:
        echo(f"{'ok  ' if result.passed else 'FAIL'} {printable(result.message)}")
    failed = sum(1 for result in results if not result.passed)
    echo(f"gate: {len(results)} checks, {failed} failed")
    return failed

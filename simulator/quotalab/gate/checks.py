"""The gate's pure core: bounds and baseline comparisons in, one CheckResult per check out."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from quotalab.errors import InputError
from quotalab.evidence import Lack, lack_of_evidence
from quotalab.gate.gated_figures import (
    BASELINE_FIGURES,
    DAY_FIGURES,
    FIGURES,
    LATENCY_FIGURES,
    Figure,
    show,
    trusted_day,
    trusts_simulation,
)
from quotalab.gate.thresholds import Bound, Thresholds


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check of one strategy: passed or not, and a line saying figure and bound."""

    name: str
    strategy: str
    figure: str
    passed: bool
    message: str
    value: float | None
    bound: float | None


def _strategies(document: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    strategies: Mapping[str, Mapping[str, Any]] = document["strategies"]
    return strategies


def never_exhausted(strategy: Mapping[str, Any]) -> bool:
    """True when the projection says the monthly quota outlasts the month."""
    if strategy.get("tokens_issued") == 0:
        return True
    return trusted_day(strategy)[2] is False


def check_bound(bound: Bound, strategy: Mapping[str, Any]) -> CheckResult:
    """Hold one figure of one strategy against one bound."""
    figure = FIGURES[bound.figure]
    value = figure.read(strategy)
    label = _label(bound.strategy, bound.figure, strategy)
    if value is None:
        # "never exhausted" (no token taken, or a month's use below the quota, which
        # renews first) meets any minimum; any other missing figure is no evidence,
        # tokens taken in a run of no measured time included.
        never = figure.null_is_unbounded and never_exhausted(strategy)
        passed = never and bound.kind == "min"
        shown = "not within the month" if never else "none (nothing was measured)"
        relation = "meets" if passed else "cannot be checked against"
        message = f"{label} = {shown}, {relation} the {bound.kind}imum {show(bound.limit)}"
        return CheckResult(
            bound.key, bound.strategy, bound.figure, passed, message, None, bound.limit
        )
    if bound.kind == "max":
        passed = value <= bound.limit
        relation = "<=" if passed else "above the maximum"
    else:
        passed = value >= bound.limit
        relation = ">=" if passed else "below the minimum"
    message = f"{label} = {show(value)} {relation} {show(bound.limit)}"
    return CheckResult(bound.key, bound.strategy, bound.figure, passed, message, value, bound.limit)


GATE_HINTS: dict[Lack, str] = {
    "no_call": "",
    "unseen": "",
    "swallowed": " (an error swallowed?)",
    "uncounted": " (a wrong target or token URL?)",
}
"""What the gate adds to each reason of ``lack_of_evidence``."""


def check_evidence(document: Mapping[str, Any]) -> list[CheckResult]:
    """A failed check for each strategy whose figures are no evidence at all
    (``quotalab.evidence``): whatever the thresholds say, they pass no bound honestly."""
    results: list[CheckResult] = []
    for name, strategy in _strategies(document).items():
        found = lack_of_evidence(
            strategy.get("calls", 0),
            strategy.get("calls_ok", 0),
            strategy.get("api_calls", 0),
            strategy.get("api_ok", 0),
            strategy.get("token_requests", 0),
        )
        if found is None:
            continue
        lack, reason = found
        message = f"{name}: {reason}{GATE_HINTS[lack]}"
        if lack == "no_call":
            results.append(CheckResult("made_calls", name, "calls", False, message, 0, None))
        else:
            results.append(
                CheckResult("reached_server", name, "api_calls", False, message, 0, None)
            )
    return results


def check_thresholds(document: Mapping[str, Any], thresholds: Thresholds) -> list[CheckResult]:
    """Every bound of ``thresholds`` against a validated report document.

    A strategy the thresholds name but the report lacks makes the pair unusable
    together (InputError, exit 2) rather than a silent pass.
    """
    strategies = _strategies(document)
    missing = [name for name in thresholds.strategies if name not in strategies]
    if missing:
        measured = ", ".join(sorted(strategies)) or "none"
        raise InputError(
            f"{thresholds.source}: strategy {missing[0]!r} is not in the report "
            f"(the report has: {measured})"
        )
    return [check_bound(bound, strategies[bound.strategy]) for bound in thresholds.bounds]


def _unbounded(figure: Figure, strategy: Mapping[str, Any]) -> float | None:
    """``figure`` of ``strategy``; a ``null`` that means "never" (the quota outlasts the
    month) as infinity, which any finite figure is worse than."""
    value = figure.read(strategy)
    if value is None and figure.null_is_unbounded and never_exhausted(strategy):
        return math.inf
    return value


def _shown(value: float | None) -> str:
    return "not within the month" if value == math.inf else show(value)


def _label(
    name: str,
    figure_name: str,
    strategy: Mapping[str, Any],
    baseline: Mapping[str, Any] | None = None,
) -> str:
    """``strategy: figure``, saying when a day's figure is the simulated day (and when
    the baseline's is the other kind of day)."""
    if figure_name not in DAY_FIGURES:
        return f"{name}: {figure_name}"
    simulated = trusts_simulation(strategy)
    said = " (of the simulated day, which the report trusts)" if simulated else ""
    if baseline is not None and trusts_simulation(baseline) != simulated:
        ours, theirs = ("simulated", "live") if simulated else ("live", "simulated")
        said = f" (the report's {ours} day against the baseline's {theirs} day, each trusted)"
    return f"{name}: {figure_name}{said}"


def _compare(
    name: str,
    figure_name: str,
    now: float | None,
    then: float | None,
    tolerance: float,
    label: str,
) -> CheckResult:
    figure = FIGURES[figure_name]
    check = f"baseline_{figure_name}"
    if None not in (now, then) and math.inf in (now, then):  # "never", against any figure
        passed = now == then or (now == math.inf) == (figure.worse == "lower")
        verdict = "within the tolerance" if passed else f"{figure.worse} than the baseline"
        message = f"{label} = {_shown(now)} vs baseline {_shown(then)}: {verdict}"
        shown_now = None if now == math.inf else now
        return CheckResult(check, name, figure_name, passed, message, shown_now, None)
    if then is None:
        message = f"{label} = {show(now)}, baseline has none: nothing to compare"
        return CheckResult(check, name, figure_name, True, message, now, None)
    if now is None:
        message = f"{label} = none, baseline was {_shown(then)}"
        return CheckResult(check, name, figure_name, False, message, None, then)
    if figure.worse == "higher":
        limit = then * (1 + tolerance)
        passed = now <= limit
        word = "higher"
    else:
        limit = then * (1 - tolerance)
        passed = now >= limit
        word = "lower"
    change = "" if then == 0 else f" ({(now - then) / then:+.1%})"
    verdict = "within" if passed else f"{word} than the baseline by more than"
    message = (
        f"{label} = {show(now)} vs baseline {show(then)}{change}: "
        f"{verdict} the tolerance {tolerance:.0%}"
    )
    return CheckResult(check, name, figure_name, passed, message, now, round(limit, 4))


def check_tolerance(tolerance: float, option: str = "--tolerance") -> None:
    """Refuse a tolerance no comparison could use: negative, infinite or NaN."""
    if not math.isfinite(tolerance) or tolerance < 0:
        raise InputError(f"{option} must be a finite number >= 0, got {tolerance}")


def parse_figure_tolerance(text: str) -> tuple[str, float]:
    """``FIGURE=TOLERANCE`` (``--figure-tolerance p95_ms=0.5``) as a pair; InputError if not."""
    option = f"--figure-tolerance {text!r}"
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise InputError(f"{option}: expected FIGURE=TOLERANCE, e.g. p95_ms=0.5")
    if name not in FIGURES:
        raise InputError(f"{option}: unknown figure {name!r} (one of {', '.join(FIGURES)})")
    try:
        tolerance = float(value)
    except ValueError:
        raise InputError(f"{option}: {value.strip()!r} is not a number") from None
    check_tolerance(tolerance, option)
    return name, tolerance


SHAPING_SETTINGS = (
    "clients",
    "workers_per_client",
    "shared_cache",
    "traffic",
    "rate_per_client",
    "latency_ms",
    "users",
    "rate_per_user",
    "token_lifetime_s",
    "duration_s",
    "processes",
    "workers",
)
"""The ``meta.settings`` that change a run's figures (a cache's warm-up weighs less
in a longer run; a faster rate meets the limits sooner; each locust process or
remote worker keeps a token cache of its own): a baseline must share them."""


def check_comparable(report: Mapping[str, Any], baseline: Mapping[str, Any], source: str) -> None:
    """``InputError`` when ``baseline`` (read from ``source``) measured another kind of run
    than ``report``: a live run against a simulated day, another profile, scenario,
    plan, duration, load or latency, a config or faults file on one side only. Their
    figures differ for reasons that have nothing to do with the client, so the
    comparison would fail or pass a change for the wrong reason."""
    now, then = report["meta"], baseline["meta"]
    pairs = [
        ("mode", now["mode"], then["mode"]),
        ("profile", now["profile"], then["profile"]),
        ("scenario", now["scenario"], then["scenario"]),
        ("plan", now["plan"]["name"], then["plan"]["name"]),
    ]
    ours_set, theirs_set = now["settings"], then["settings"]
    for key in SHAPING_SETTINGS:  # where both reports record it (older ones may not)
        if key in ours_set and key in theirs_set:
            pairs.append((f"settings.{key}", ours_set[key], theirs_set[key]))
    for key in ("config", "faults"):  # a file or none (paths differ between machines)
        if key in ours_set and key in theirs_set:
            given = (f"a --{key} file", f"no --{key} file")
            pairs.append((key, given[not ours_set[key]], given[not theirs_set[key]]))
    for what, ours, theirs in pairs:
        if ours != theirs:
            raise InputError(
                f"{source}: the baseline's {what} is {theirs!r}, the report's {ours!r}: "
                "compare like with like (write the baseline from the same kind of run)"
            )


def baseline_figures(
    tolerances: Mapping[str, float] | None = None, compare_latency: bool = False
) -> tuple[str, ...]:
    """The figures a comparison looks at: the defaults, latency when asked, and any given one."""
    chosen = list(BASELINE_FIGURES)
    if compare_latency:
        chosen += LATENCY_FIGURES
    chosen += [name for name in tolerances or {} if name not in chosen]
    return tuple(chosen)


def compare_baseline(
    document: Mapping[str, Any],
    baseline: Mapping[str, Any],
    tolerance: float,
    *,
    tolerances: Mapping[str, float] | None = None,
    compare_latency: bool = False,
) -> list[CheckResult]:
    """Each figure of each strategy against the baseline's, with a relative tolerance.

    ``tolerance`` applies to every figure without one in ``tolerances``; a
    figure given a tolerance there is compared even if it is not a default
    one. Latency (p95/p99) is compared only with ``compare_latency`` or a
    tolerance of its own: it measures the machine as much as the code.
    Direction-aware: more token requests, more throttling or higher latency is
    worse; a lower success ratio is worse. From a baseline of 0, any rise is a
    regression. A strategy of the baseline missing from the report fails.
    """
    check_tolerance(tolerance)
    tolerances = dict(tolerances or {})
    for name, value in tolerances.items():
        if name not in FIGURES:
            raise InputError(
                f"unknown figure {name!r} for a tolerance (one of {', '.join(FIGURES)})"
            )
        check_tolerance(value, f"the tolerance of {name}")
    current = _strategies(document)
    results: list[CheckResult] = []
    for name, before in _strategies(baseline).items():
        if name not in current:
            message = f"{name}: in the baseline but missing from the report"
            results.append(CheckResult("baseline_present", name, "", False, message, None, None))
            continue
        for figure_name in baseline_figures(tolerances, compare_latency):
            figure = FIGURES[figure_name]
            results.append(
                _compare(
                    name,
                    figure_name,
                    _unbounded(figure, current[name]),
                    _unbounded(figure, before),
                    tolerances.get(figure_name, tolerance),
                    _label(name, figure_name, current[name], before),
                )
            )
    return results

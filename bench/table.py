"""The small table each benchmark prints: measured figures, ratio, target, PASS/MISS."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from bench.machine import Machine


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured quantity, e.g. ``quotalab /oauth/token 429`` = 5210.4 req/s."""

    name: str
    value: float
    unit: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """A ratio against its target; ``higher_is_better`` says which way the target points."""

    ratio_name: str
    ratio: float
    target: float
    higher_is_better: bool = True

    @property
    def passed(self) -> bool:
        """True when the ratio meets the target."""
        if self.higher_is_better:
            return self.ratio >= self.target
        return self.ratio <= self.target

    @property
    def target_text(self) -> str:
        """The target as ``>= 0.70`` or ``<= 0.20``."""
        sign = ">=" if self.higher_is_better else "<="
        return f"{sign} {self.target:.2f}"


@dataclass(frozen=True, slots=True)
class BenchResult:
    """Everything one benchmark run reports."""

    benchmark: str
    machine: Machine
    figures: tuple[Figure, ...]
    verdict: Verdict
    settings: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    more_verdicts: tuple[Verdict, ...] = ()
    """Further ratios with their own targets, shown after the main one (plain rows)."""


def _more_rows(result: BenchResult) -> list[tuple[str, str]]:
    rows = []
    for more in result.more_verdicts:
        rows.append((more.ratio_name, f"{more.ratio:.2f}"))
        rows.append((f"{more.ratio_name}: target", more.target_text))
        rows.append((f"{more.ratio_name}: result", "PASS" if more.passed else "MISS"))
    return rows


def _value(figure: Figure) -> str:
    if abs(figure.value) >= 100:
        return f"{figure.value:,.0f} {figure.unit}"
    return f"{figure.value:,.3g} {figure.unit}"


def render_text(result: BenchResult) -> str:
    """A plain-text table for the terminal."""
    rows = [(f.name, _value(f)) for f in result.figures]
    verdict = result.verdict
    rows.append((verdict.ratio_name, f"{verdict.ratio:.2f}"))
    rows.append(("target", verdict.target_text))
    rows.append(("result", "PASS" if verdict.passed else "MISS"))
    rows += _more_rows(result)
    width = max(len(name) for name, _ in rows)
    lines = [f"== {result.benchmark}", f"machine: {result.machine.describe()}"]
    if result.settings:
        lines.append("settings: " + ", ".join(f"{k}={v}" for k, v in result.settings.items()))
    lines += [f"  {name:<{width}}  {value}" for name, value in rows]
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)


def render_markdown(result: BenchResult) -> str:
    """The same table as Markdown, to paste into bench/README.md."""
    verdict = result.verdict
    lines = [
        f"Machine: {result.machine.describe()}.",
        "",
        "| measured | value |",
        "| --- | --- |",
    ]
    lines += [f"| {f.name} | {_value(f)} |" for f in result.figures]
    lines.append(f"| **{verdict.ratio_name}** | **{verdict.ratio:.2f}** |")
    lines.append(f"| target | {verdict.target_text} |")
    lines.append(f"| result | {'PASS' if verdict.passed else 'MISS'} |")
    lines += [f"| {name} | {value} |" for name, value in _more_rows(result)]
    if result.settings:
        lines += ["", "Settings: " + ", ".join(f"`{k}={v}`" for k, v in result.settings.items())]
    lines += [f"\nNote: {note}" for note in result.notes]
    return "\n".join(lines)


def render_json(result: BenchResult) -> str:
    """Machine-readable form, for keeping a history of runs."""
    data = asdict(result)
    data["verdict"]["passed"] = result.verdict.passed
    for entry, more in zip(data["more_verdicts"], result.more_verdicts, strict=True):
        entry["passed"] = more.passed
    return json.dumps(data, indent=2)


def render(result: BenchResult, output: str) -> str:
    """Render in the format named by ``--output`` (text, markdown or json)."""
    if output == "markdown":
        return render_markdown(result)
    if output == "json":
        return render_json(result)
    return render_text(result)

"""The CI gate: hold a report's figures to thresholds and to a baseline report.

``load_thresholds`` reads the TOML, ``check_thresholds`` and ``compare_baseline``
return ``CheckResult`` values, ``junit_xml`` renders them for CI systems;
``gate_files`` + ``echo_results`` are the whole gate for a ``--gate FILE`` option.
"""

from quotalab.gate.checks import (
    CheckResult,
    baseline_figures,
    check_bound,
    check_evidence,
    check_thresholds,
    compare_baseline,
    parse_figure_tolerance,
)
from quotalab.gate.files import check_gate_file, echo_results, gate_files
from quotalab.gate.gated_figures import BASELINE_FIGURES, FIGURES, LATENCY_FIGURES, Figure
from quotalab.gate.junit import junit_xml
from quotalab.gate.thresholds import (
    BOUND_KEYS,
    Bound,
    Thresholds,
    load_thresholds,
    parse_thresholds,
)

__all__ = [
    "BASELINE_FIGURES",
    "BOUND_KEYS",
    "FIGURES",
    "LATENCY_FIGURES",
    "Bound",
    "CheckResult",
    "Figure",
    "Thresholds",
    "baseline_figures",
    "check_bound",
    "check_evidence",
    "check_gate_file",
    "check_thresholds",
    "compare_baseline",
    "echo_results",
    "gate_files",
    "junit_xml",
    "load_thresholds",
    "parse_figure_tolerance",
    "parse_thresholds",
]

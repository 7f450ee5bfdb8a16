"""report.json: the report as a JSON document, its schema, and reading one back.

The document is written with sorted keys, two-space indent and the figures'
fixed rounding, so the same report always gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from quotalab.errors import InputError
from quotalab.report.day_projection import Agreement
from quotalab.report.figures import DIGITS, count_ratios
from quotalab.report.values import Report, StrategyFigures
from quotalab.user_files import UnusableText, read_json, read_text

SCHEMA_VERSION = 1
SCHEMA_RESOURCE = "report-v1.json"


@cache
def report_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of report.json, shipped in the package."""
    text = resources.files("quotalab.report").joinpath("schema", SCHEMA_RESOURCE).read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def _simulated_document(agreement: Agreement | None) -> dict[str, Any] | None:
    if agreement is None:
        return None
    return {
        "tokens_per_day": agreement.simulated_tokens_per_day,
        "agrees": agreement.agrees,
        "trust": agreement.trust,
        "reason": agreement.reason,
    }


def _strategy_document(figures: StrategyFigures) -> dict[str, Any]:
    projection = figures.projection
    series = figures.series
    return {
        "calls": figures.calls,
        "calls_ok": figures.calls_ok,
        "api_calls": figures.api_calls,
        "api_ok": figures.api_ok,
        "token_requests": figures.token_requests,
        "tokens_issued": figures.tokens_issued,
        "token_requests_per_1k_calls": figures.token_requests_per_1k_calls,
        "throttled_429": figures.throttled_429,
        "forbidden_403_99": figures.forbidden_403_99,
        "throttled_4xx": figures.throttled_4xx,
        "auth_failures_401_403": figures.auth_failures_401_403,
        "faults_503": figures.faults_503,
        "throttled_ratio": figures.throttled_ratio,
        "success_ratio": figures.success_ratio,
        "duration_s": figures.duration_s,
        "latency_ms": {"p50": figures.p50_ms, "p95": figures.p95_ms, "p99": figures.p99_ms},
        "projection": {
            "basis": projection.basis,
            "tokens_per_day": projection.tokens_per_day,
            "tokens_per_month": projection.tokens_per_month,
            "monthly_quota": projection.monthly_quota,
            "quota_used_per_month": projection.quota_used_per_month,
            "days_until_quota_exhausted": projection.days_until_quota_exhausted,
            "quota_exhausted_within_month": projection.quota_exhausted_within_month,
            "method": projection.method,
            "note": projection.note,
            "warmup_tokens": projection.warmup_tokens,
            "steady_tokens": projection.steady_tokens,
            "refresh_interval_s": projection.refresh_interval_s,
            "observed_refresh_interval_s": projection.observed_refresh_interval_s,
            "margin_s": projection.margin_s,
            "simulated": _simulated_document(projection.simulated),
        },
        "series": {
            "bucket_s": series.bucket_s,
            "token_requests_per_s": list(series.token_requests_per_s),
            "throttled_per_s": list(series.throttled_per_s),
            "api_ok_per_s": list(series.api_ok_per_s),
        },
        "failures": [
            {
                "reason": failed.reason,
                "calls": failed.calls,
                "throttled": failed.throttled,
                "first_message": failed.first_message,
            }
            for failed in figures.failures
        ],
    }


def to_document(report: Report) -> dict[str, Any]:
    """The report as plain JSON values, in the shape of the schema."""
    meta = report.meta
    return {
        "schema_version": SCHEMA_VERSION,
        "meta": {
            "version": meta.version,
            "generated_at": meta.generated_at,
            "mode": meta.mode,
            "profile": meta.profile,
            "scenario": meta.scenario,
            "settings": dict(meta.settings),
            "plan": {
                "name": report.plan.name,
                "monthly_m2m_tokens": report.plan.monthly_m2m_tokens,
            },
        },
        "strategies": {
            name: _strategy_document(figures) for name, figures in report.strategies.items()
        },
        "verdict": report.verdict,
    }


def dumps_report(report: Report) -> str:
    """report.json's text: sorted keys, stable floats, trailing newline."""
    return json.dumps(to_document(report), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def validate_document(document: object, source: str = "report") -> dict[str, Any]:
    """Check a parsed report.json against the schema; InputError names the first fault."""
    if not isinstance(document, dict):
        raise InputError(f"{source}: not a quotalab report (expected a JSON object)")
    version = document.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InputError(
            f"{source}: schema_version {version!r} is not supported "
            f"(this quotalab reads schema_version {SCHEMA_VERSION})"
        )
    validator = jsonschema.Draft202012Validator(report_schema())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        error = errors[0]
        where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        raise InputError(f"{source}: does not match the report schema at {where}: {error.message}")
    check_counts_agree(document, source)
    return document


ONE_STEP = 10.0**-DIGITS * 1.000001
"""One step of a report's rounding (float noise included): how far a ratio written by
an earlier quotalab, which rounded to the nearest step, may be from today's."""


def check_counts_agree(document: Mapping[str, Any], source: str) -> None:
    """``InputError`` when a strategy's ratios are not those of its own counts (a report
    edited by hand, or written by something else): a gate reads the ratios, so a
    ``success_ratio`` of 1 beside 946 calls of 1,000 succeeded must not pass it."""
    for name, strategy in document["strategies"].items():
        if strategy["calls_ok"] > strategy["calls"] or strategy["api_ok"] > strategy["api_calls"]:
            raise InputError(f"{source}: strategy {name!r} counts more successes than calls")
        throttled = sum(
            strategy.get(key, 0) for key in ("throttled_429", "forbidden_403_99", "throttled_4xx")
        )
        derived = count_ratios(
            strategy["calls"],
            strategy["calls_ok"],
            strategy["api_calls"],
            strategy["token_requests"],
            throttled,
        )
        for figure, value in derived.items():
            given = strategy[figure]
            if given == value:
                continue
            # Reports rounded to the nearest step before they rounded worse-ward.
            if given is None or value is None or abs(given - value) > ONE_STEP:
                raise InputError(
                    f"{source}: strategy {name!r} gives {figure} = {given!r}, but "
                    f"its counts make it {value!r}: a report is read as quotalab wrote it"
                )


def load_report(path: Path | str) -> dict[str, Any]:
    """Read and validate a report.json; InputError for a missing or unusable file."""
    path = Path(path)
    try:
        text = read_text(path)
    except FileNotFoundError:
        raise InputError(f"{path}: report file not found") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read report ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text (byte {error.start})") from None
    try:
        document = read_json(text)
    except UnusableText as error:
        raise InputError(f"{path}: not valid JSON ({error})") from None
    return validate_document(document, str(path))

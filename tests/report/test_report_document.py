"""report.json: schema, determinism, and reading a report back."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from report_samples import META, both

from quotalab.errors import InputError
from quotalab.report import (
    build_report,
    dumps_report,
    load_report,
    report_schema,
    write_report,
)


def test_the_shipped_schema_is_valid_draft_2020_12() -> None:
    schema = report_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_a_generated_report_validates_and_round_trips(tmp_path: Path) -> None:
    report = build_report(META, both())
    paths = write_report(report, tmp_path)
    document = load_report(paths.json)
    jsonschema.validate(document, report_schema())
    assert document["schema_version"] == 1
    assert document["meta"]["mode"] == "simulated"
    assert document["meta"]["settings"] == dict(META.settings)
    assert set(document["strategies"]) == {"naive", "cached+backoff"}
    naive = document["strategies"]["naive"]
    assert naive["latency_ms"]["p95"] == report.strategies["naive"].p95_ms
    assert (
        naive["projection"]["tokens_per_day"]
        == report.strategies["naive"].projection.tokens_per_day
    )
    assert document["verdict"] == report.verdict


def test_same_measurements_give_the_same_bytes() -> None:
    first = dumps_report(build_report(META, both()))
    reordered = dict(reversed(list(both().items())))
    assert dumps_report(build_report(META, reordered)) == first
    assert first.endswith("\n")
    assert list(json.loads(first)) == sorted(json.loads(first))


def test_an_empty_report_validates() -> None:
    document = json.loads(dumps_report(build_report(META, {})))
    jsonschema.validate(document, report_schema())


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "report.json"
    path.write_text(text)
    return path


def test_missing_report_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_report(tmp_path / "nope.json")


def test_bad_json_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not valid JSON"):
        load_report(write(tmp_path, "{"))


def test_another_schema_version_is_refused(tmp_path: Path) -> None:
    document = json.loads(dumps_report(build_report(META, both())))
    document["schema_version"] = 2
    with pytest.raises(InputError, match="schema_version 2"):
        load_report(write(tmp_path, json.dumps(document)))


def test_a_report_breaking_the_schema_is_refused(tmp_path: Path) -> None:
    document = json.loads(dumps_report(build_report(META, both())))
    del document["strategies"]["naive"]["token_requests"]
    with pytest.raises(InputError, match="strategies/naive"):
        load_report(write(tmp_path, json.dumps(document)))

"""JUnit XML for CI systems: one testcase per check, failures carry the message."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from quotalab.gate.checks import CheckResult
from quotalab.strategies.raised_calls import printable

SUITE = "quotalab.gate"


def junit_xml(results: Sequence[CheckResult]) -> str:
    """The checks as a ``<testsuites>`` document (UTF-8 text with declaration)."""
    failures = sum(1 for result in results if not result.passed)
    suites = ET.Element("testsuites", tests=str(len(results)), failures=str(failures))
    suite = ET.SubElement(
        suites, "testsuite", name=SUITE, tests=str(len(results)), failures=str(failures), errors="0"
    )
    for result in results:
        # Strategy names are user text: a control character is no XML even escaped.
        strategy, message = printable(result.strategy), printable(result.message)
        case = ET.SubElement(suite, "testcase", classname=f"{SUITE}.{strategy}", name=result.name)
        if result.passed:
            ET.SubElement(case, "system-out").text = message
        else:
            failure = ET.SubElement(case, "failure", message=message, type="threshold")
            failure.text = message
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"

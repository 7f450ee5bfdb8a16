"""JUnit XML for CI systems: one testcase per check, failures carry the message."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from quotalab.gate.checks import CheckResult

SUITE = "quotalab.gate"


def junit_xml(results: Sequence[CheckResult]) -> str:
    """The checks as a ``<testsuites>`` document (UTF-8 text with declaration)."""
    failures = sum(1 for result in results if not result.passed)
    suites = ET.Element("testsuites", tests=str(len(results)), failures=str(failures))
    suite = ET.SubElement(
        suites, "testsuite", name=SUITE, tests=str(len(results)), failures=str(failures), errors="0"
    )
    for result in results:
        case = ET.SubElement(
            suite, "testcase", classname=f"{SUITE}.{result.strategy}", name=result.name
        )
        if result.passed:
            ET.SubElement(case, "system-out").text = result.message
        else:
            failure = ET.SubElement(case, "failure", message=result.message, type="threshold")
            failure.text = result.message
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"

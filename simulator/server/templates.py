"""Profile responses compiled once: static bytes where possible, templates otherwise.

Bodies are JSON written by the profile; values substituted into them are
JSON-escaped, values substituted into headers lose any line breaks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from string import Template

from simulator.profiles.model import ResponseSpec
from simulator.wire import HttpResponse


def _json_text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


def _header_text(value: str) -> str:
    return "".join(ch for ch in value if ch >= " " and ch != "\x7f")


class CompiledResponse:
    """A ``ResponseSpec`` ready to render fast, most of all when nothing varies."""

    __slots__ = ("_body", "_body_template", "_header_templates", "_headers", "_static", "status")

    def __init__(self, spec: ResponseSpec) -> None:
        self.status = spec.status
        self._headers = {name: value for name, value in spec.headers if "${" not in value}
        self._header_templates = tuple(
            (name, Template(value)) for name, value in spec.headers if "${" in value
        )
        self._body_template = Template(spec.body) if "${" in spec.body else None
        self._body = spec.body.encode("utf-8")
        self._static = HttpResponse(self.status, dict(self._headers), self._body)

    def render(
        self,
        values: Mapping[str, str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """The response with ``values`` filled in and ``extra_headers`` added."""
        if not self._header_templates and self._body_template is None and not extra_headers:
            return self._static
        values = values or {}
        headers = dict(self._headers)
        for name, template in self._header_templates:
            headers[name] = _header_text(template.safe_substitute(values))
        if extra_headers:
            headers.update(extra_headers)
        body = self._body
        if self._body_template is not None:
            escaped = {key: _json_text(value) for key, value in values.items()}
            body = self._body_template.safe_substitute(escaped).encode("utf-8")
        return HttpResponse(self.status, headers, body)


def compile_responses(specs: Mapping[str, ResponseSpec]) -> dict[str, CompiledResponse]:
    """Compile every response of a profile."""
    return {name: CompiledResponse(spec) for name, spec in specs.items()}

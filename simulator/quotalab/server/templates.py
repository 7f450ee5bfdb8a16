"""Profile responses compiled once: static bytes where possible, templates otherwise.

Bodies are JSON written by the profile; values substituted into them are
JSON-escaped, values substituted into headers lose any line breaks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping

from quotalab.profiles.profile_model import ResponseSpec
from quotalab.wire import HttpResponse

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class TextTemplate:
    """``${name}`` placeholders, split once so filling is a join (no regex per request).

    Unknown names are left as written.
    """

    __slots__ = ("_parts",)

    def __init__(self, text: str) -> None:
        self._parts = tuple(_PLACEHOLDER.split(text))

    @property
    def names(self) -> tuple[str, ...]:
        return self._parts[1::2]

    def fill(self, values: Mapping[str, str], escape: Callable[[str], str] | None = None) -> str:
        out = []
        for index, part in enumerate(self._parts):
            if index % 2 == 0:
                out.append(part)
                continue
            value = values.get(part)
            if value is None:
                out.append("${" + part + "}")
            else:
                out.append(escape(value) if escape is not None else value)
        return "".join(out)


def _json_text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


def _header_text(value: str) -> str:
    return "".join(ch for ch in value if ch >= " " and ch != "\x7f")


class CompiledResponse:
    """A ``ResponseSpec`` ready to render fast, most of all when nothing varies."""

    __slots__ = (
        "_body",
        "_body_template",
        "_header_templates",
        "_headers",
        "_static",
        "names",
        "status",
    )

    def __init__(self, spec: ResponseSpec) -> None:
        self.status = spec.status
        self._headers = {name: value for name, value in spec.headers if "${" not in value}
        self._header_templates = tuple(
            (name, TextTemplate(value)) for name, value in spec.headers if "${" in value
        )
        self._body_template = TextTemplate(spec.body) if "${" in spec.body else None
        self._body = spec.body.encode("utf-8")
        self._static = HttpResponse(self.status, dict(self._headers), self._body)
        names = {n for _, t in self._header_templates for n in t.names}
        if self._body_template is not None:
            names.update(self._body_template.names)
        self.names = frozenset(names)

    @property
    def static_body(self) -> bool:
        """True when every rendering has the same body (no ``${...}`` in it)."""
        return self._body_template is None

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
            headers[name] = template.fill(values, _header_text)
        if extra_headers:
            headers.update(extra_headers)
        body = self._body
        if self._body_template is not None:
            body = self._body_template.fill(values, _json_text).encode("utf-8")
        return HttpResponse(self.status, headers, body)


def compile_responses(specs: Mapping[str, ResponseSpec]) -> dict[str, CompiledResponse]:
    """Compile every response of a profile."""
    return {name: CompiledResponse(spec) for name, spec in specs.items()}

"""Profile responses compiled once: static bytes where possible, templates otherwise.

Bodies are JSON written by the profile; values substituted into them are
JSON-escaped. Values substituted into headers are percent-encoded as UTF-8
(RFC 3986's rule) for every character that is not visible ASCII or a space:
control characters and line breaks, DEL, non-ASCII text and ``%`` itself, so a
client can decode the value exactly and the wire only ever carries the visible
ASCII that HTTP field values allow. A filled header value loses leading and
trailing spaces and tabs (a profile's own tab beside a value that filled in
empty), which RFC 9110 leaves outside a field value and h11 refuses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from urllib.parse import quote

from quotalab.profiles.profile_model import ResponseSpec
from quotalab.wire import HttpResponse

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class TextTemplate:
    """``${name}`` placeholders, split once so filling is a join (no regex per request).

    Unknown names are left as written.
    """

    __slots__ = ("_head", "_tail")

    def __init__(self, text: str) -> None:
        parts = _PLACEHOLDER.split(text)
        self._head = parts[0]  # the text before the first placeholder
        # Each placeholder's name and the text after it, up to the next one.
        self._tail = tuple(zip(parts[1::2], parts[2::2], strict=True))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self._tail)

    def fill(self, values: Mapping[str, str], escape: Callable[[str], str] | None = None) -> str:
        out = [self._head]
        for name, after in self._tail:
            value = values.get(name)
            if value is None:
                out.append("${" + name + "}")
            else:
                out.append(escape(value) if escape is not None else value)
            out.append(after)
        return "".join(out)


def _json_text(value: str) -> str:
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return value  # the usual numbers and ids: JSON escapes nothing in them
    return json.dumps(value, ensure_ascii=False)[1:-1]


_HEADER_SAFE = "".join(chr(code) for code in range(0x20, 0x7F) if chr(code) != "%")
"""Visible ASCII and the space, kept as they are in a substituted header value."""


def _header_text(value: str) -> str:
    if value.isascii() and value.isprintable() and "%" not in value:
        return value  # the usual numbers and ids: nothing to encode
    # A lone surrogate (JSON allows "\ud800") has no UTF-8: it becomes "?".
    return quote(value, safe=_HEADER_SAFE, errors="replace")


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
        # Every header in the profile's order: a templated one holds its place here
        # and is overwritten in place when filled (``_static`` is only used without any).
        self._headers = dict(spec.headers)
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
            headers[name] = template.fill(values, _header_text).strip(" \t")
        if extra_headers:
            headers.update(extra_headers)
        body = self._body
        if self._body_template is not None:
            body = self._body_template.fill(values, _json_text).encode("utf-8")
        return HttpResponse(self.status, headers, body)


def compile_responses(specs: Mapping[str, ResponseSpec]) -> dict[str, CompiledResponse]:
    """Compile every response of a profile."""
    return {name: CompiledResponse(spec) for name, spec in specs.items()}

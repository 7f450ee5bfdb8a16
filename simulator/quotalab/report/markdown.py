"""report.md: the comparison table, the verdict and the settings, in Markdown."""

from __future__ import annotations

from quotalab.report.projection_text import projection_lines
from quotalab.report.table import COLUMNS, failure_lines, headline, projection_note, rows
from quotalab.report.values import Report

_MARKUP = str.maketrans({ch: "\\" + ch for ch in "\\[]!|"})
"""What makes links and images in Markdown, and table cells, shown as itself (a backslash
before it): a message's text is no markup a reader's browser acts on."""


def _escape(text: str) -> str:
    """Text shown as it is wherever report.md is rendered (names and messages come from
    users), and safe inside a Markdown table cell.

    Markdown passes HTML through, so ``<``, ``>`` and ``&`` become entities (an
    exception message holding ``<script>`` shows as text); brackets and ``!`` are
    escaped, so ``![x](https://...)`` in a message is no image fetched by whoever
    opens the report and ``[docs](javascript:...)`` no link.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.translate(_MARKUP).replace("\n", " ")


def render_markdown(report: Report) -> str:
    """The whole report.md text."""
    meta = report.meta
    lines = [
        f"# quotalab report: {_escape(meta.scenario)}",
        "",
        _escape(headline(report)),
        "",
        f"**Verdict:** {_escape(report.verdict)}",
        "",
        "| strategy | " + " | ".join(c.heading for c in COLUMNS) + " |",
        "|---|" + "---:|" * len(COLUMNS),
    ]
    for name, cells in rows(report):
        lines.append(f"| {_escape(name)} | " + " | ".join(cells) + " |")
    failures = failure_lines(report)
    if failures:
        lines += ["", "## Failed calls", ""] + [f"- {_escape(line)}" for line in failures]
    lines += [
        "",
        _escape(projection_note(report)),
        "",
        *(f"- {_escape(line)}" for line in projection_lines(report)),
        "",
        "## Settings",
        "",
        f"- generated at: {_escape(meta.generated_at)}",
        f"- mode: {meta.mode}",
        f"- profile: {_escape(meta.profile)}",
    ]
    for key in sorted(meta.settings):
        lines.append(f"- {_escape(key)}: {_escape(str(meta.settings[key]))}")
    return "\n".join(lines) + "\n"

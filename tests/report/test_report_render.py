"""Markdown, terminal and HTML renderings, and the run directory layout."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from report_samples import META, both, cached
from rich.console import Console

from quotalab.clock import VirtualClock
from quotalab.errors import InputError
from quotalab.report import (
    FailedCalls,
    StrategyMeasurements,
    TimeSeries,
    build_report,
    point_latest,
    render_html,
    render_markdown,
    render_terminal,
    run_directory,
    write_report,
)
from quotalab.report.day_projection import AT_STEADY_STATE, Agreement, DayProjection
from quotalab.report.projection_text import projection_lines, quota_lasts
from quotalab.report.values import Projection

HOSTILE = '<script>alert("x")</script>|pipe&amp'


def test_markdown_has_a_row_per_strategy_the_verdict_and_settings() -> None:
    report = build_report(META, both())
    text = render_markdown(report)
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert len(table) == 2 + len(report.strategies)
    header_cells = table[0].count("|")
    assert all(line.count("|") == header_cells for line in table)
    assert table[2].startswith("| naive |")
    assert report.verdict in text
    for key, value in META.settings.items():
        assert f"- {key}: {value}" in text


def test_markdown_escapes_pipes_and_html_in_names() -> None:
    report = build_report(META, {HOSTILE: cached()})
    text = render_markdown(report)
    data = [line for line in text.splitlines() if line.startswith("| &lt;script&gt;")]
    assert len(data) == 1
    assert "\\|pipe" in data[0]
    assert "<script>" not in text  # Markdown renders raw HTML: it must stay text


def test_markdown_makes_no_image_or_link_of_a_message() -> None:
    """An own client's exception text holding Markdown: shown as text, never an image a
    reader's browser fetches or a javascript: link (the HTML report escapes it too)."""
    hostile = "see ![status](https://attacker.example/p.png) and [docs](javascript:alert(1))"
    measured = dataclasses.replace(cached(), failures=(FailedCalls("RuntimeError", 3, 0, hostile),))
    text = render_markdown(build_report(META, {"mine": measured}))
    assert "\\!\\[status\\](https://attacker.example/p.png)" in text
    assert "\\[docs\\](javascript:alert(1))" in text
    assert "![" not in text and "[docs]" not in text.replace("\\[docs\\]", "")


def test_terminal_prints_every_strategy_and_the_verdict() -> None:
    report = build_report(META, both())
    console = Console(record=True, width=250)
    render_terminal(report, console)
    text = console.export_text()
    for name in report.strategies:
        assert name in text
    assert "Verdict:" in text and report.verdict in text


def test_piped_terminal_output_keeps_every_heading_whole() -> None:
    report = build_report(META, both())
    console = Console(record=True, width=80, force_terminal=False)
    render_terminal(report, console)
    text = console.export_text()
    for heading in ("per 1k calls", "throttled", "tokens/day", "quota lasts"):
        assert heading in text
    assert "…" not in text


def test_short_runs_warn_that_projections_overstate_caching_clients() -> None:
    report = build_report(META, both())
    assert all(0 < f.duration_s < 86400 for f in report.strategies.values())
    console = Console(record=True, width=200)
    render_terminal(report, console)
    assert "are overstated" in console.export_text()
    assert "are overstated" in render_markdown(report)
    assert "are overstated" in render_html(report)


def test_html_is_self_contained_and_escapes_names() -> None:
    page = render_html(build_report(META, {HOSTILE: cached(), "naive": both()["naive"]}))
    assert not re.search(r"https?://", page)
    assert "<link" not in page and "src=" not in page
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert page.count("<script>") == 1


def test_html_draws_three_series_per_strategy_and_one_bar_each() -> None:
    report = build_report(META, both())
    page = render_html(report)
    assert page.count('class="series"') == 3 * len(report.strategies)
    assert page.count('class="bar"') == len(report.strategies)


def test_html_marks_empty_series_instead_of_drawing_them() -> None:
    empty = StrategyMeasurements(
        api_calls=0, api_ok=0, token_requests=0, tokens_issued=0, duration_s=0
    )
    page = render_html(build_report(META, {"empty": empty}))
    assert 'class="series"' not in page and 'class="bar"' not in page
    assert "no samples" in page and "no API calls" in page


def test_long_series_are_downsampled_for_drawing() -> None:
    day = 86_400
    measured = StrategyMeasurements(
        api_calls=day,
        api_ok=day,
        token_requests=1,
        tokens_issued=1,
        duration_s=day,
        series=TimeSeries(1.0, (0,) * day, (0,) * day, (1,) * day),
    )
    page = render_html(build_report(META, {"day": measured}))
    path = re.search(r'data-series="api_ok_per_s" d="([^"]+)"', page)
    assert path is not None
    assert 1 < path.group(1).count("L") <= 600


def test_write_report_and_latest_link(tmp_path: Path) -> None:
    clock = VirtualClock()
    first = run_directory(tmp_path, "steady", clock)
    second = run_directory(tmp_path, "steady", clock)
    assert first != second and first.parent == tmp_path
    assert first.name.endswith("-steady")
    paths = write_report(build_report(META, both()), second)
    assert {p.name for p in second.iterdir()} == {"report.json", "report.md", "report.html"}
    assert paths.html.read_text().startswith("<!DOCTYPE html>")
    point_latest(first)
    link = point_latest(second)
    assert link == tmp_path / "latest"
    assert link.is_symlink() and link.resolve() == second.resolve()
    assert (link / "report.json").read_text() == paths.json.read_text()


@pytest.mark.parametrize("kind", ["directory", "file"])
def test_a_latest_that_is_not_our_link_stops_the_run_before_it_starts(
    tmp_path: Path, kind: str
) -> None:
    """An unpacked CI artifact holds ``latest/`` as a real directory: the run refuses it
    before any load, in one line, and never leaves a stale report there for a gate."""
    latest = tmp_path / "latest"
    if kind == "directory":
        latest.mkdir()
        (latest / "report.json").write_text("{}")
    else:
        latest.write_text("")
    with pytest.raises(InputError, match=f"latest: a {kind}, not the link to the latest run"):
        run_directory(tmp_path, "steady", VirtualClock())
    assert [p.name for p in tmp_path.iterdir()] == ["latest"]  # no run directory made
    run_dir = tmp_path / "20250101-000000-steady"
    run_dir.mkdir()
    with pytest.raises(InputError, match="not the link to the latest run"):
        point_latest(run_dir)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["20250101-000000-steady", "latest"]


def test_terminal_prints_user_names_literally() -> None:
    names = ["examples.own_client:factory:", "[bold]mine[/bold]:smile:"]
    report = build_report(META, {names[0]: cached(), names[1]: both()["naive"]})
    console = Console(record=True, width=250)
    render_terminal(report, console)
    text = console.export_text()
    for name in names:
        assert name in text
    assert "🏭" not in text and "😄" not in text


def test_narrow_terminal_never_cuts_a_figure_short() -> None:
    huge = StrategyMeasurements(
        api_calls=123_456_789,
        api_ok=123_456_789,
        token_requests=98_765_432,
        tokens_issued=98_765_432,
        duration_s=60.0,
        calls=123_456_789,
        calls_ok=123_456_789,
    )
    report = build_report(META, {"a-rather-long-strategy-name:factory": huge})
    for width in (60, 80):
        console = Console(record=True, width=width, force_terminal=True)
        render_terminal(report, console)
        text = console.export_text()
        assert "123,456,789" in text and "98,765,432" in text
        assert "…" not in text


def test_failed_calls_are_listed_with_their_first_message() -> None:
    from quotalab.report import FailedCalls

    failing = StrategyMeasurements(
        api_calls=80,
        api_ok=80,
        token_requests=100,
        tokens_issued=80,
        throttled_429=20,
        duration_s=10.0,
        calls=100,
        calls_ok=80,
        failures=(FailedCalls("RateLimitError", 20, 20, "429: Global limit has been reached"),),
    )
    report = build_report(META, {"sdk:naive": failing})
    line = "sdk:naive: 20 calls failed with RateLimitError, all throttled: 429: Global limit"
    console = Console(record=True, width=200)
    render_terminal(report, console)
    assert line in console.export_text()
    assert line in render_markdown(report)
    assert "RateLimitError" in render_html(report)
    assert report.strategies["sdk:naive"].success_ratio == 0.8


def test_html_charts_share_one_y_scale_per_metric() -> None:
    page = render_html(build_report(META, both()))
    tops = re.findall(r'class="tick" text-anchor="end">([^<]+)</text><text[^>]*>0</text>', page)
    # naive and cached+backoff: three charts each, the same top for a metric in both.
    assert len(tops) == 6 and tops[:3] == tops[3:]
    assert "one y scale shared by every strategy" in page


def test_html_charts_of_nothing_have_no_zero_to_zero_axis() -> None:
    quiet = StrategyMeasurements(
        api_calls=10,
        api_ok=10,
        token_requests=0,
        tokens_issued=0,
        duration_s=3.0,
        series=TimeSeries(1.0, (0, 0, 0), (0, 0, 0), (3, 3, 4)),
    )
    page = render_html(build_report(META, {"quiet": quiet}))
    assert page.count("none in this run") == 2
    assert not re.search(r">0</text>[^<]*<text[^>]*>0</text>", page)
    assert page.count('class="series"') == 1


def test_quota_lasts_follows_the_day_the_report_trusts() -> None:
    """A live projection of 10 tokens a day that the simulation (43,200 a day) overrules:
    the quota lasts 0.0231 days by the simulated day, marked as such, not "the month"."""
    live = Projection(
        basis="tokens_issued",
        tokens_per_day=10.0,
        tokens_per_month=300.0,
        monthly_quota=1000,
        quota_used_per_month=0.3,
        days_until_quota_exhausted=None,
        quota_exhausted_within_month=False,
        method="steady_state",
        note="",
    )
    assert quota_lasts(live) == "the month"
    trusted = Agreement(43_200.0, False, "simulation", "why")
    assert quota_lasts(dataclasses.replace(live, simulated=trusted)) == "0.0231 d (sim)"
    overruled = dataclasses.replace(trusted, trust="live")
    assert quota_lasts(dataclasses.replace(live, simulated=overruled)) == "the month"


def test_a_linear_day_with_something_to_say_gets_its_line() -> None:
    """The plain linear days are the table's; one whose note warns (tokens shorter than
    the profile's) is printed, or nobody reads the warning."""
    plain = DayProjection("linear", 100.0, 1, 9, None, None, None, AT_STEADY_STATE)
    warned = dataclasses.replace(plain, note=AT_STEADY_STATE + "; but tokens lived 6 s")
    report = build_report(
        META,
        {
            "naive": dataclasses.replace(cached(), day=plain),
            "article": dataclasses.replace(cached(), day=warned),
        },
    )
    lines = projection_lines(report)
    assert len(lines) == 1 and lines[0].startswith("article:") and "tokens lived 6 s" in lines[0]

"""Token requests 500x apart stay readable: log-scale bars with the factor beside each."""

from __future__ import annotations

import re

from quotalab.report.svg import bar_chart, bar_length


def widths(svg: str) -> dict[str, float]:
    found = re.findall(r'<rect class="bar"[^>]*width="([\d.]+)"[^>]*><title>([^:]+):', svg)
    return {name: float(width) for width, name in found}


def test_a_500_fold_spread_keeps_the_small_bar_visible() -> None:
    svg = bar_chart([("naive", 1000.0), ("cached", 2.0)], title="t", color="#000")
    bars = widths(svg)
    assert bars["naive"] == 380.0  # rounded to 0.1 px in the SVG
    # linear, cached would be 0.76 px; on the log scale it keeps over a tenth of the width
    assert bars["cached"] > 38.0
    assert 'data-scale="log"' in svg and "(log scale)" in svg


def test_each_bar_says_how_many_times_the_smallest_it_is() -> None:
    svg = bar_chart([("naive", 1000.0), ("cached", 2.0), ("none", None)], title="t", color="#0")
    assert "1,000.00 (x500)" in svg and "2.00 (x1)" in svg
    assert "no API calls" in svg


def test_bars_grow_with_their_values() -> None:
    lengths = [bar_length(v, 2.0, 1000.0, 380) for v in (2.0, 20.0, 200.0, 1000.0)]
    assert lengths == sorted(lengths) and round(lengths[-1], 6) == 380
    assert bar_length(0.0, 2.0, 1000.0, 380) == 1.0

"""The catalog's chart of a metric query: lines over time, bars otherwise, exact values in
every point's title, text escaped, well-formed SVG with nothing from outside."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime
from decimal import Decimal

from mesh.catalog.chart import MAX_SERIES, draw

SVG = "{http://www.w3.org/2000/svg}"


def _titles(svg: str, tag: str) -> list[str]:
    root = ET.fromstring(svg)
    return [el.findtext(f"{SVG}title") or "" for el in root.iter(f"{SVG}{tag}")]


def test_a_time_grouping_draws_one_line_per_value_of_the_next_grouping() -> None:
    rows = [
        (datetime(2026, 1, 1), "Europe", Decimal("1200.50")),
        (datetime(2026, 2, 1), "Europe", Decimal("1300.25")),
        (datetime(2026, 1, 1), "Asia", Decimal("900.00")),
        (datetime(2026, 3, 1), "Asia", Decimal("950.75")),
    ]
    chart = draw("Revenue", ["metric_time__month", "region", "revenue"], rows, ["revenue"])
    assert chart.kind == "line"
    assert chart.series == ["Asia", "Europe"]
    root = ET.fromstring(chart.svg)
    assert root.findtext(f"{SVG}title") == "Revenue"
    assert len(list(root.iter(f"{SVG}path"))) == 2
    assert sorted(_titles(chart.svg, "circle")) == [
        "Asia, 2026-01: 900.00",
        "Asia, 2026-03: 950.75",
        "Europe, 2026-01: 1,200.50",
        "Europe, 2026-02: 1,300.25",
    ]
    labels = [el.text for el in root.iter(f"{SVG}text")]
    assert [t for t in labels if t and t.startswith("2026")] == ["2026-01", "2026-02", "2026-03"]
    assert "href" not in chart.svg and "<script" not in chart.svg


def test_days_are_written_as_days_and_a_single_series_has_no_legend() -> None:
    rows = [(date(2026, 3, 1), 5), (date(2026, 3, 2), 7)]
    chart = draw("Orders", ["metric_time__day", "order_count"], rows, ["order_count"])
    assert chart.kind == "line"
    assert _titles(chart.svg, "circle") == [
        "order_count, 2026-03-01: 5",
        "order_count, 2026-03-02: 7",
    ]
    assert 'class="legend"' not in chart.svg


def test_a_category_grouping_draws_bars_and_negative_values_below_zero() -> None:
    rows = [("Toys", Decimal("10")), ("Books", Decimal("-4")), ("Games", None)]
    chart = draw("Margin", ["department", "margin"], rows, ["margin"])
    assert chart.kind == "bar"
    assert sorted(_titles(chart.svg, "rect")[-2:]) == ["margin, Books: -4", "margin, Toys: 10"]
    assert "Games" not in "".join(_titles(chart.svg, "rect"))  # a null value is not drawn


def test_text_from_the_data_is_escaped() -> None:
    rows = [("<script>alert(1)</script>", 3)]
    chart = draw('Bad "title" <x>', ["name", "n"], rows, ["n"])
    ET.fromstring(chart.svg)  # well-formed
    assert "<script>" not in chart.svg
    assert "&lt;script&gt;" in chart.svg


def test_too_many_series_keep_the_largest_and_say_so() -> None:
    rows = [(date(2026, 1, 1), f"s{n:02}", n) for n in range(MAX_SERIES + 3)]
    chart = draw("Many", ["day", "name", "value"], rows, ["value"])
    assert len(chart.series) == MAX_SERIES
    assert "s00" not in chart.series and f"s{MAX_SERIES + 2:02}" in chart.series
    assert chart.notes == ["3 smaller series are not drawn."]


def test_no_rows_draws_a_message() -> None:
    chart = draw("Nothing", ["metric_time__month", "revenue"], [], ["revenue"])
    assert chart.kind == "empty"
    assert "The query returned no rows." in chart.svg
    ET.fromstring(chart.svg)

"""The catalog's chart of a metric query: lines over time, bars otherwise, exact values in
every point's title, text escaped, well-formed SVG with nothing from outside."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
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


def test_nothing_but_empty_or_non_finite_values_draws_a_message_not_an_error() -> None:
    rows = [(date(2026, 1, 1), None), (date(2026, 2, 1), float("nan")), (None, 3.0)]
    chart = draw("Rates", ["metric_time__month", "rate"], rows, ["rate"])
    assert chart.kind == "empty"
    assert chart.notes == [
        "Nothing to draw: every value is empty.",
        "3 values that are empty or not numbers are not drawn.",
    ]
    ET.fromstring(chart.svg)
    some = draw("Rates", ["d", "rate"], [(date(2026, 1, 1), 0.5), *rows], ["rate"])
    assert some.kind == "line" and some.notes[-1].startswith("3 values")
    infinite = draw("Rates", ["d", "rate"], [(date(2026, 1, 1), float("inf"))], ["rate"])
    assert infinite.kind == "empty"


def test_a_negative_bar_hangs_below_the_zero_line() -> None:
    chart = draw("Margin", ["department", "margin"], [("Toys", 10), ("Books", -4)], ["margin"])
    root = ET.fromstring(chart.svg)
    zero = next(
        float(line.get("y1", "0"))
        for line in root.iter(f"{SVG}line")
        if line.get("stroke") == "#9ca3af"
    )
    bars = {
        (rect.findtext(f"{SVG}title") or "").split(",")[1].split(":")[0].strip(): rect
        for rect in root.iter(f"{SVG}rect")
        if rect.get("class") == "bar"
    }
    toys, books = bars["Toys"], bars["Books"]
    top = float(toys.get("y", "0"))
    assert top < zero and abs(top + float(toys.get("height", "0")) - zero) < 0.2
    assert abs(float(books.get("y", "0")) - zero) < 0.2 and float(books.get("height", "0")) > 1


def test_a_series_name_cannot_leave_its_attribute() -> None:
    rows = [(date(2026, 1, 1), 'a" onload="alert(1)', 1), (date(2026, 1, 2), "<b>", 2)]
    chart = draw("x", ["day", "name", "n"], rows, ["n"])
    root = ET.fromstring(chart.svg)
    names = [g.get("data-series") for g in root.iter(f"{SVG}g") if g.get("class") == "series"]
    assert names == ["<b>", 'a" onload="alert(1)']  # whole, as values of the attribute
    assert all(not any(k.startswith("on") for k in el.attrib) for el in root.iter())


def test_the_axis_writes_times_at_the_grain_its_column_names() -> None:
    rows = [(date(2026, 3, 1), 1), (date(2026, 4, 1), 2)]
    days = draw("x", ["metric_time__day", "n"], rows, ["n"])
    assert _titles(days.svg, "circle") == ["n, 2026-03-01: 1", "n, 2026-04-01: 2"]
    years = draw("x", ["metric_time__year", "n"], rows, ["n"])
    assert _titles(years.svg, "circle") == ["n, 2026: 1", "n, 2026: 2"]
    aware = [(datetime(2026, 3, 29, 1, 30, tzinfo=UTC), 1), (datetime(2026, 3, 29, 2, 30), 2)]
    zoned = draw("x", ["moment", "n"], aware, ["n"])
    assert _titles(zoned.svg, "circle") == ["n, 2026-03-29 01:30: 1", "n, 2026-03-29 02:30: 2"]

"""Rendering query results for machines (JSON, CSV) and people (tables)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest

from mesh.cli.output import to_csv, to_json, to_table

COLUMNS = ["order_id", "amount", "ordered_on", "updated_at", "coupon"]
ROWS = [
    (1, Decimal("10.50"), dt.date(2026, 6, 1), dt.datetime(2026, 6, 1, 9, 30, 5), None),
    (2, Decimal("0.99"), dt.date(2026, 6, 2), dt.datetime(2026, 6, 2, 23, 0), "SAVE5"),
]


def test_to_json_writes_decimals_as_numbers_and_dates_as_iso_strings() -> None:
    records = json.loads(to_json(COLUMNS, ROWS))

    assert records == [
        {
            "order_id": 1,
            "amount": 10.5,
            "ordered_on": "2026-06-01",
            "updated_at": "2026-06-01T09:30:05",
            "coupon": None,
        },
        {
            "order_id": 2,
            "amount": 0.99,
            "ordered_on": "2026-06-02",
            "updated_at": "2026-06-02T23:00:00",
            "coupon": "SAVE5",
        },
    ]


def test_to_json_numbers_are_not_quoted() -> None:
    text = to_json(["amount"], [(Decimal("10.50"),)])

    assert '"amount": 10.5' in text
    assert '"10.5' not in text


def test_to_json_times_and_intervals_are_strings() -> None:
    records = json.loads(
        to_json(["at", "took"], [(dt.time(7, 45), dt.timedelta(days=1, seconds=60))])
    )

    assert records == [{"at": "07:45:00", "took": "1 day, 0:01:00"}]


def test_to_json_of_no_rows_is_an_empty_list() -> None:
    assert json.loads(to_json(["a"], [])) == []


def test_to_json_refuses_a_row_of_the_wrong_width() -> None:
    with pytest.raises(ValueError):
        to_json(["a", "b"], [(1,)])


def test_to_csv_starts_with_a_header_row() -> None:
    text = to_csv(COLUMNS, ROWS)

    assert text.splitlines() == [
        "order_id,amount,ordered_on,updated_at,coupon",
        "1,10.5,2026-06-01,2026-06-01T09:30:05,",
        "2,0.99,2026-06-02,2026-06-02T23:00:00,SAVE5",
    ]


def test_to_csv_of_no_rows_is_just_the_header() -> None:
    assert to_csv(["region", "revenue"], []) == "region,revenue\n"


def test_to_csv_quotes_values_that_need_it() -> None:
    text = to_csv(["name"], [('Smith, "Jr"',)])

    assert list(csv.reader(io.StringIO(text))) == [["name"], ['Smith, "Jr"']]


def test_to_table_shows_every_column_and_blanks_for_nulls() -> None:
    table = to_table(COLUMNS, ROWS, title="orders")

    assert [column.header for column in table.columns] == COLUMNS
    assert table.row_count == 2
    assert table.title == "orders"
    assert list(table.columns[4].cells) == ["", "SAVE5"]
    assert list(table.columns[1].cells) == ["10.50", "0.99"]


def test_to_json_converts_decimals_inside_lists_and_structs() -> None:
    row = ([Decimal("1.50")], {"on": dt.date(2026, 1, 2)})

    assert json.loads(to_json(["amounts", "meta"], [row])) == [
        {"amounts": [1.5], "meta": {"on": "2026-01-02"}}
    ]


def test_to_json_keeps_every_column_when_names_repeat() -> None:
    records = json.loads(to_json(["id", "id"], [(1, 2)]))

    assert sorted(v for record in records for v in record.values()) == [1, 2]

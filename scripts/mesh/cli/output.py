"""Rendering results for people (Rich tables) and machines (CSV, JSON)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Any

from rich.table import Table


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _plain(value: Any) -> Any:
    """A JSON-friendly value, also inside DuckDB's LIST and STRUCT values: decimals become
    numbers, dates ISO strings, NaN and infinities null (JSON has no such numbers)."""
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, str | int | bool) or value is None:
        return value
    return str(value)  # UUID, timedelta, bytes, ...


def unique_names(columns: Sequence[str]) -> list[str]:
    """Column names made unique for keyed output: `select a.id, b.id` gives id, id_2."""
    seen: dict[str, int] = {}
    names = []
    for column in columns:
        seen[column] = seen.get(column, 0) + 1
        names.append(column if seen[column] == 1 else f"{column}_{seen[column]}")
    return names


def to_json(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    names = unique_names(columns)
    records = [{c: _plain(v) for c, v in zip(names, row, strict=True)} for row in rows]
    return json.dumps(records, indent=2, allow_nan=False)


def _csv_cell(value: Any) -> Any:
    plain = _plain(value)
    return json.dumps(plain) if isinstance(plain, dict | list) else plain


def to_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([[_csv_cell(v) for v in row] for row in rows])
    return buffer.getvalue()


def to_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    title: str | None = None,
    whole: Sequence[str] = (),
) -> Table:
    """A table; the `whole` columns are never cut or wrapped (a name the user copies into a
    command), the others wrap to make room in a narrow terminal."""
    table = Table(title=title, header_style="bold")
    for index, column in enumerate(columns):
        if column in whole:
            longest = max([len(column), *(len(str(row[index] or "")) for row in rows)])
            table.add_column(column, no_wrap=True, min_width=longest)
        else:
            table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table

"""The CLI's tables in a narrow terminal: the name a user copies into a command stays whole."""

from __future__ import annotations

import io

from rich.console import Console

from mesh.cli.output import to_table

ROWS = [
    ("analytics", "sales_by_region_and_category", "1", "latest",
     "analytics.main.sales_by_region_and_category_v1", "commercial-analytics@shop.example",
     "2026-12-03 18:05"),
]  # fmt: skip
COLUMNS = ["domain", "product", "v", "status", "relation", "owner", "published (UTC)"]


def _render(width: int, whole: list[str]) -> str:
    console = Console(file=io.StringIO(), width=width)
    console.print(to_table(COLUMNS, ROWS, whole=whole))
    return console.file.getvalue()  # type: ignore[attr-defined, no-any-return]


def test_a_whole_column_is_never_cut_in_100_columns_the_others_wrap() -> None:
    assert "analytics.main.sales_by_region_and_category_v1" not in _render(100, whole=[])
    shown = _render(100, whole=["relation"])
    assert "analytics.main.sales_by_region_and_category_v1" in shown
    assert max(len(line) for line in shown.splitlines()) <= 100

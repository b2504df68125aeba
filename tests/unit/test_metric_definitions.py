"""How the catalog and `mesh metrics list` write a metric's definition in one line, from the
semantic manifest dbt wrote (which stores a count as a sum of a CASE)."""

from __future__ import annotations

import pytest

from mesh.metrics.layer import _aggregate, _plain


@pytest.mark.parametrize(
    ("agg", "expr", "written"),
    [
        ("SUM", "net_amount_usd", "sum(net_amount_usd)"),
        ("SUM", "CASE WHEN order_id IS NOT NULL THEN 1 ELSE 0 END", "count(order_id)"),
        (
            "sum",
            "case when is_on_time then 1 else 0 end",
            "sum(case when is_on_time then 1 else 0 end)",
        ),
        ("COUNT_DISTINCT", "customer_id", "count_distinct(customer_id)"),
    ],
)
def test_a_measure_is_written_as_it_was_declared(agg: str, expr: str, written: str) -> None:
    assert _aggregate(agg, expr) == written


def test_a_filter_names_its_dimensions_plainly() -> None:
    template = (
        "{{ Dimension('order__order_status') }} <> 'cancelled' and "
        "{{ Dimension('customer__region', entity_path=['order']) }} = 'Europe'"
    )
    assert _plain(template) == (
        "order__order_status <> 'cancelled' and order__customer__region = 'Europe'"
    )

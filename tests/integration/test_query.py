"""Cross-domain questions answered from the published products."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.integration.conftest import REPO, Run, mesh

pytestmark = pytest.mark.integration

ANALYSIS = "domains/analytics/queries/revenue_and_on_time_by_region_and_department.sql"


def test_saved_analysis_prints_revenue_and_on_time_rate(built_mesh: tuple[Path, Run]) -> None:
    root, _ = built_mesh
    rows = mesh(root, "query", "--file", str(REPO / ANALYSIS), "--format", "json").json()
    assert {row["region"] for row in rows} == {
        "North America",
        "Europe",
        "Asia Pacific",
        "Latin America",
    }
    for row in rows:
        assert row["revenue_usd"] > 0
        assert 0 <= row["on_time_rate"] <= 1


def test_analytics_revenue_reconciles_with_the_orders_domain(built_mesh: tuple[Path, Run]) -> None:
    """The consumer's product adds up to the producer's: nothing lost or doubled in the joins."""
    root, _ = built_mesh
    rows = mesh(
        root,
        "query",
        """
        select
            (select sum(revenue_usd) from analytics.main.sales_by_region_and_category_v1)
                as analytics_revenue,
            (select sum(lines.net_amount_usd)
             from orders.main.order_lines_v1 as lines
             inner join orders.main.orders_v2 as orders using (order_id)
             where orders.order_status <> 'cancelled') as orders_revenue
    """,
        "--format",
        "json",
    ).json()
    assert rows[0]["analytics_revenue"] == pytest.approx(rows[0]["orders_revenue"])
    assert rows[0]["orders_revenue"] > 0


def test_query_joins_products_of_different_domains(built_mesh: tuple[Path, Run]) -> None:
    root, _ = built_mesh
    run = mesh(
        root,
        "query",
        """
        select customers.region, count(*) as shipments, avg(shipments.is_on_time::int) as on_time
        from fulfillment.main.shipments_v1 as shipments
        inner join orders.main.orders_v2 as orders using (order_id)
        inner join customers.main.customers_v1 as customers using (customer_id)
        where shipments.delivery_status = 'delivered'
        group by customers.region
        order by customers.region
    """,
        "--format",
        "csv",
    )
    table = list(csv.reader(io.StringIO(run.stdout)))
    assert table[0] == ["region", "shipments", "on_time"]
    assert len(table) == 5
    assert all(int(row[1]) > 0 for row in table[1:])


def test_table_output_is_the_default(built_mesh: tuple[Path, Run]) -> None:
    root, _ = built_mesh
    run = mesh(root, "query", "select region from customers.main.customers_v1 limit 3")
    assert "region" in run.stdout
    assert "3 rows" in run.stdout


def test_query_cannot_write_into_published_products(built_mesh: tuple[Path, Run]) -> None:
    root, _ = built_mesh
    run = mesh(root, "query", "delete from orders.main.orders_v2", check=False)
    assert run.returncode != 0
    assert "read-only" in run.stderr.lower() or "read only" in run.stderr.lower()
    assert "Traceback" not in run.output

"""Consumer impact of a breaking change: which consumer models it breaks, from their SQL.

The consumers are the analytics manifest fixture (as dbt parses the domain, with the
upstream products dbt-loom injected) and a fulfillment manifest, with their models' SQL
compiled as dbt compiles a cross-project ref (`"orders"."main"."orders_v2"`) from the
repository's own model files. The product's columns come from the orders manifest fixture.
Other SQL shapes replace analytics' `stg_orders__orders`.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from mesh.discovery.manifest import Manifest, parse
from mesh.governance.check import CheckReport, DomainCheck, as_dict, as_lines
from mesh.governance.column_reads import Relation, columns_read
from mesh.governance.contracts import (
    BreakingChange,
    ChangeReport,
    Impact,
    consumer_impact,
    describe_impact,
)

FIXTURES = Path(__file__).parent / "fixtures"
DOMAINS = Path(__file__).parents[2] / "domains"
ORDERS_V2 = '"orders"."main"."orders_v2"'
CUSTOMERS_V1 = '"customers"."main"."customers_v1"'
REF = re.compile(r"\{\{\s*ref\('(\w+)'(?:,\s*'(\w+)',\s*v=(\d+))?\)\s*\}\}")


def _compile(raw_sql: str, package: str) -> str:
    """The SQL dbt compiles: a ref becomes the relation it names, quoted."""

    def relation(ref: re.Match[str]) -> str:
        if ref[2]:  # ref('orders', 'orders', v=2)
            return f'"{ref[1]}"."main"."{ref[2]}_v{ref[3]}"'
        return f'"{package}"."main"."{ref[1]}"'

    return REF.sub(relation, raw_sql)


@cache
def _fixture(domain: str) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads((FIXTURES / f"{domain}_manifest.json").read_text())
    return raw


def _analytics(stg_orders_sql: str | None = None, compiled: bool = True) -> Manifest:
    """The analytics manifest, compiled; `stg_orders_sql` replaces that model's SQL."""
    raw = copy.deepcopy(_fixture("analytics"))
    for node in raw["nodes"].values():
        if node["package_name"] == "analytics" and compiled:
            node["compiled_code"] = _compile(node["raw_code"], "analytics")
    if stg_orders_sql is not None:
        raw["nodes"]["model.analytics.stg_orders__orders"]["compiled_code"] = stg_orders_sql
    return parse(raw)


def _fulfillment() -> Manifest:
    """Fulfillment's model reading orders v2, and its copy of the product (no columns)."""
    path = DOMAINS / "fulfillment/models/staging/orders/stg_orders__orders.sql"
    product = _fixture("analytics")["nodes"]["model.orders.orders.v2"]
    model = {
        "resource_type": "model",
        "package_name": "fulfillment",
        "name": "stg_orders__orders",
        "compiled_code": _compile(path.read_text(), "fulfillment"),
        "depends_on": {"nodes": ["model.orders.orders.v2"]},
    }
    return parse(
        {
            "nodes": {
                "model.orders.orders.v2": product,
                "model.fulfillment.stg_orders__orders": model,
            }
        }
    )


def _published(analytics: Manifest | None = None) -> dict[str, Manifest]:
    return {
        "orders": parse(_fixture("orders")),
        "analytics": analytics or _analytics(),
        "fulfillment": _fulfillment(),
    }


def _change(kind: str, *columns: str, model: str = "orders", version: str = "2") -> BreakingChange:
    return BreakingChange("orders", model, version, kind, "A change.", columns)


def _lines(change: BreakingChange, impacts: list[Impact]) -> list[str]:
    return [describe_impact(change, impact) for impact in impacts]


# The columns each consumer staging model of the repository names from its product.
STAGING = [
    (
        "stg_orders__orders",
        "orders.orders_v2",
        "order_id customer_id order_status ordered_at ordered_date",
    ),
    (
        "stg_orders__order_lines",
        "orders.order_lines_v1",
        "order_line_id order_id product_id quantity net_amount_usd",
    ),
    (
        "stg_customers__customers",
        "customers.customers_v1",
        "customer_id region country_code customer_segment",
    ),
    ("stg_catalog__products", "catalog.products_v2", "product_id category_name department"),
    (
        "stg_fulfillment__shipments",
        "fulfillment.shipments_v1",
        "shipment_id order_id delivery_status is_on_time",
    ),
]


@pytest.mark.parametrize(("model", "product", "named"), STAGING)
def test_a_staging_model_reads_only_the_columns_it_names_from_its_product(
    model: str, product: str, named: str
) -> None:
    # Each selects * from the product in a CTE, then names the columns it keeps.
    sql = (DOMAINS / "analytics/models/staging" / f"{model}.sql").read_text()
    database, name = product.split(".")
    reads = columns_read(_compile(sql, "analytics"), Relation(database, "main", name), None)
    assert reads is not None
    assert reads.columns == set(named.split())
    assert not reads.every_column


ORDERS_V2_COLUMNS = list(_fixture("orders")["nodes"]["model.orders.orders.v2"]["columns"])


@pytest.mark.parametrize(
    ("sql", "read"),
    [
        (f"select count(*) as orders from {ORDERS_V2}", ""),
        (f"with unused as (select channel from {ORDERS_V2}) select 1 as one", ""),
        (
            f"select order_id from {ORDERS_V2} where channel = 'web' order by ordered_at",
            "order_id channel ordered_at",
        ),
        (f"select order_id from (select order_id, channel as c from {ORDERS_V2}) as o", "order_id"),
        (
            f"select order_id from (select distinct order_id, channel from {ORDERS_V2}) as o",
            "order_id channel",
        ),
        (
            f"select customers.customer_id from {CUSTOMERS_V1} as customers where exists ("
            f" select 1 from {ORDERS_V2} as orders"
            " where orders.customer_id = customers.customer_id and orders.has_coupon)",
            "customer_id has_coupon",
        ),
        (
            f'select order_id from {ORDERS_V2} union all select order_id from "orders"."main"."x"',
            "order_id",
        ),
        (
            f"select order_id from (select order_id, channel from {ORDERS_V2}"
            ' except select order_id, channel from "orders"."main"."x") as kept',
            "order_id channel",
        ),
        (
            f"select order_id, channel as c from {ORDERS_V2} qualify row_number() over ("
            " partition by customer_id order by ordered_at) = 1",
            "order_id channel customer_id ordered_at",
        ),
        (
            f"select * exclude (channel) from {ORDERS_V2}",
            " ".join(c for c in ORDERS_V2_COLUMNS if c != "channel"),
        ),
    ],
    ids=[
        "count(*)",
        "unused CTE",
        "where and order by",
        "unused projection",
        "distinct",
        "correlated subquery",
        "union",
        "except",
        "qualify",
        "exclude",
    ],
)
def test_a_column_counts_as_read_where_the_query_uses_it(sql: str, read: str) -> None:
    reads = columns_read(sql, Relation("orders", "main", "orders_v2"), ORDERS_V2_COLUMNS)
    assert reads is not None
    assert reads.columns == set(read.split())
    assert not reads.every_column


def test_a_consumer_that_reads_none_of_the_affected_columns_is_not_listed() -> None:
    # Neither consumer of orders v2 reads has_coupon or is_fully_paid.
    change = _change("column_removed", "has_coupon", "is_fully_paid")
    assert consumer_impact(change, _published()) == []


def test_each_consumer_reading_an_affected_column_is_listed_with_it() -> None:
    change = _change("constraint_removed", "ordered_at", "order_id")
    impacts = consumer_impact(change, _published())
    assert _lines(change, impacts) == [
        "breaks analytics.stg_orders__orders: reads ordered_at, order_id",
        "breaks fulfillment.stg_orders__orders: reads ordered_at, order_id",
    ]
    change = _change("type_changed", "customer_id")
    impacts = consumer_impact(change, _published())
    assert _lines(change, impacts) == ["breaks analytics.stg_orders__orders: reads customer_id"]


def test_a_change_without_columns_breaks_every_model_that_depends_on_the_version() -> None:
    change = _change("deleted")
    impacts = consumer_impact(change, _published())
    assert _lines(change, impacts) == [
        "breaks analytics.stg_orders__orders: reads orders.orders v2",
        "breaks fulfillment.stg_orders__orders: reads orders.orders v2",
    ]
    change = _change("contract_disabled", model="order_lines", version="1")
    impacts = consumer_impact(change, _published())
    assert [(i.consumer, i.model) for i in impacts] == [("analytics", "stg_orders__order_lines")]


@pytest.mark.parametrize(
    "sql",
    [
        f"select * from {ORDERS_V2}",
        f"with orders as (select * from {ORDERS_V2}) select * from orders",
        f"select orders.*, customers.region from {ORDERS_V2} as orders"
        f" join {CUSTOMERS_V1} as customers on orders.customer_id = customers.customer_id",
    ],
    ids=["select *", "select * through a CTE", "t.*"],
)
def test_a_star_that_reaches_the_output_reads_every_column(sql: str) -> None:
    change = _change("column_removed", "has_coupon", "channel")
    [impact] = [
        i for i in consumer_impact(change, _published(_analytics(sql))) if i.consumer == "analytics"
    ]
    assert impact.reads_all_columns
    assert impact.columns_read == ("has_coupon", "channel")
    assert describe_impact(change, impact) == (
        "breaks analytics.stg_orders__orders: reads every column (select *)"
    )


def test_a_star_narrowed_later_reads_only_the_columns_kept() -> None:
    sql = f"""
        with orders as (select * from {ORDERS_V2}),
        paid as (select * from orders where is_fully_paid),
        final as (select order_id, channel from paid)
        select * from final
    """
    change = _change("column_removed", "has_coupon", "channel", "is_fully_paid")
    impacts = consumer_impact(change, _published(_analytics(sql)))
    analytics = [i for i in impacts if i.consumer == "analytics"]
    assert analytics == [Impact("analytics", "stg_orders__orders", ("channel", "is_fully_paid"))]


def test_a_column_of_the_same_name_in_a_joined_relation_is_not_the_products() -> None:
    # order_lines v1 has an order_status and a net_amount_usd too: only the product's count.
    sql = f"""
        with orders as (select * from {ORDERS_V2}),
        order_lines as (select * from "orders"."main"."order_lines_v1")
        select orders.channel, order_lines.order_status, order_lines.net_amount_usd, quantity
        from orders
        join order_lines using (order_id)
    """
    published = _published(_analytics(sql))

    def analytics(change: BreakingChange) -> list[Impact]:
        return [i for i in consumer_impact(change, published) if i.consumer == "analytics"]

    assert analytics(_change("column_removed", "order_status", "net_amount_usd")) == []
    # The product's join key and the column it gives are read.
    [impact] = analytics(_change("type_changed", "order_id", "channel", "ordered_at"))
    assert impact.columns_read == ("order_id", "channel")


def test_sql_that_cannot_be_analysed_counts_as_reading_every_affected_column() -> None:
    change = _change("column_removed", "has_coupon")
    for analytics in (_analytics("select from where ("), _analytics(compiled=False)):
        impacts = consumer_impact(change, _published(analytics))
        [impact] = [i for i in impacts if i.consumer == "analytics"]
        assert not impact.analysed
        assert impact.columns_read == ("has_coupon",)
        assert describe_impact(change, impact) == (
            "breaks analytics.stg_orders__orders: its SQL could not be analysed, "
            "so it counts as reading has_coupon"
        )


def test_mesh_check_prints_each_consumer_once_without_contradiction() -> None:
    published = _published()
    changes = [
        _change("column_removed", "has_coupon", "is_fully_paid"),
        _change("constraint_removed", "ordered_at"),
    ]
    check = DomainCheck(
        "orders", changes=[ChangeReport(c, consumer_impact(c, published)) for c in changes]
    )
    text = "\n".join(as_lines(CheckReport([check], [])))
    assert (
        "  [breaking_change:column_removed] orders.orders v2: A change.\n"
        "    no published consumer reads the affected columns\n"
    ) in text
    assert (
        "  [breaking_change:constraint_removed] orders.orders v2: A change.\n"
        "    breaks analytics.stg_orders__orders: reads ordered_at\n"
        "    breaks fulfillment.stg_orders__orders: reads ordered_at\n"
    ) in text
    assert "none of the affected columns" not in text
    [_, constraint] = as_dict(CheckReport([check], []))["domains"][0]["breaking_changes"]
    assert constraint["consumers"][0] == {
        "consumer": "analytics",
        "model": "stg_orders__orders",
        "columns_read": ("ordered_at",),
        "reads_all_columns": False,
        "analysed": True,
    }

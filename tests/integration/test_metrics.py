"""Metrics on the published products (`mesh metrics`): analytics' semantic models over four
domains' products, queried by name and dimension through MetricFlow's engine and `mesh
query`'s read-only sandbox, agree with SQL written by hand over the same products."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Run, mesh

# Each case: a metric query, and the same numbers computed independently over the products
# with plain SQL (not MetricFlow's), named by the metric query's columns.
LINES = """
    from orders.main.order_lines_v1 as lines
    left join orders.main.orders_v2 as orders on lines.order_id = orders.order_id
    left join customers.main.customers_v1 as customers
        on orders.customer_id = customers.customer_id
    left join catalog.main.products_v2 as products on lines.product_id = products.product_id
    where lines.order_status <> 'cancelled'
"""
ORDERS = """
    from orders.main.orders_v2 as orders
    left join customers.main.customers_v1 as customers
        on orders.customer_id = customers.customer_id
    where orders.order_status <> 'cancelled'
"""
CASES = {
    "revenue and units by department and region (orders, catalog, customers)": (
        ["-m", "revenue,units_sold", "-g", "product__department,order__customer__region"],
        f"""select products.department as product__department,
                customers.region as order__customer__region,
                sum(lines.net_amount_usd) as revenue, sum(lines.quantity) as units_sold
            {LINES} group by all""",
    ),
    "on-time delivery rate by month and region (fulfillment, orders, customers)": (
        ["-m", "on_time_delivery_rate,delivered_shipments",
         "-g", "metric_time__month,order__customer__region"],
        """select date_trunc('month', cast(shipments.shipped_at as date)) as metric_time__month,
                customers.region as order__customer__region,
                cast(sum(case when shipments.delivery_status = 'delivered'
                    and shipments.is_on_time then 1 else 0 end) as double)
                / cast(nullif(sum(case when shipments.delivery_status = 'delivered'
                    then 1 else 0 end), 0) as double) as on_time_delivery_rate,
                sum(case when shipments.delivery_status = 'delivered' then 1 else 0 end)
                    as delivered_shipments
            from fulfillment.main.shipments_v1 as shipments
            left join orders.main.orders_v2 as orders on shipments.order_id = orders.order_id
            left join customers.main.customers_v1 as customers
                on orders.customer_id = customers.customer_id
            group by all""",
    ),
    "order count, average order value and revenue per customer by segment": (
        ["-m", "order_count,average_order_value,revenue_per_customer",
         "-g", "customer__customer_segment"],
        f"""select customers.customer_segment as customer__customer_segment,
                count(orders.order_id) as order_count,
                cast(sum(orders.net_amount_usd) as double)
                    / cast(nullif(count(orders.order_id), 0) as double) as average_order_value,
                cast(sum(orders.net_amount_usd) as double)
                    / cast(nullif(count(distinct orders.customer_id), 0) as double)
                    as revenue_per_customer
            {ORDERS} group by all""",
    ),
    "revenue by day in one region": (
        ["-m", "revenue", "-g", "metric_time__day",
         "--where", "{{ Dimension('customer__region', entity_path=['order']) }} = 'Europe'"],
        f"""select lines.ordered_date as metric_time__day, sum(lines.net_amount_usd) as revenue
            {LINES} and customers.region = 'Europe' group by all""",
    ),
}  # fmt: skip


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in one order, with days as days (a truncated date may come back as a timestamp)."""
    plain = [
        {k: v[:10] if k.startswith("metric_time") and v else v for k, v in row.items()}
        for row in rows
    ]
    return sorted(plain, key=lambda row: [str(v) for v in row.values()])


@pytest.mark.parametrize("case", CASES)
def test_metrics_agree_with_sql_written_over_the_products(
    built_mesh: tuple[Path, Run], case: str
) -> None:
    root, _ = built_mesh
    options, sql = CASES[case]
    metrics = mesh(root, "metrics", "query", *options, "--format", "json").json()
    by_hand = mesh(root, "query", "--format", "json", sql).json()
    assert len(metrics) > 1
    assert [list(row) for row in metrics[:1]] == [list(row) for row in by_hand[:1]]
    assert _sorted(metrics) == _sorted(by_hand)


def test_metrics_list_names_what_each_reads_and_its_dimensions(
    built_mesh: tuple[Path, Run],
) -> None:
    root, _ = built_mesh
    listed = {m["metric"]: m for m in mesh(root, "metrics", "list", "--format", "json").json()}
    assert len(listed) >= 5 and {m["domain"] for m in listed.values()} == {"analytics"}
    assert {m["owner"] for m in listed.values()} == {"commercial-analytics@shop.example"}
    revenue = listed["revenue"]
    assert revenue["reads"] == "orders.order_lines_v1"
    dimensions = revenue["dimensions"].split(", ")
    assert {"product__department", "order__customer__region", "metric_time__month"} <= set(
        dimensions
    )
    assert listed["on_time_delivery_rate"]["reads"] == "fulfillment.shipments_v1"
    # Together the metrics read the products of two domains, and group by those of two more.
    products = {m["reads"].split(".")[0] for m in listed.values()}
    grouped = {d for m in listed.values() for d in m["dimensions"].split(", ")}
    assert products == {"orders", "fulfillment"}
    assert {"customer__region", "customer__customer_segment", "order__customer__region",
            "product__department", "product__category_name"} <= grouped  # fmt: skip
    table = mesh(root, "metrics", "list").stdout
    assert "on_time_delivery_rate" in table and "metrics, from snapshot" in table


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["-m", "revenu"], "There is no metric 'revenu' (close matches: revenue"),
        (
            ["-m", "revenue", "-g", "customer__regoin"],
            "'customer__regoin' is not a dimension of revenue (close matches: "
            "order__customer__region)",
        ),
        (
            ["-m", "revenue", "-g", "metric_time__month", "--order-by", "-revenu"],
            "--order-by '-revenu' names neither a metric nor a dimension of the query "
            "(close matches: revenue",
        ),
        (
            ["-m", "revenue", "--where", "{{ Dimension('order__customer__region') }} = 'x'"],
            "MetricFlow cannot compile the query: Got error(s) during query resolution. "
            "Error #1: Message: Error parsing where filter",
        ),
    ],
)
def test_unknown_names_get_one_line_with_close_matches(
    built_mesh: tuple[Path, Run], options: list[str], said: str
) -> None:
    refused = mesh(built_mesh[0], "metrics", "query", *options, check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.output
    line = " ".join(refused.stderr.split())
    assert line.startswith(f"error: {said}"), refused.stderr


def test_metric_results_as_csv_and_the_sql_metricflow_wrote(
    built_mesh: tuple[Path, Run],
) -> None:
    root, _ = built_mesh
    options = ["-m", "order_count", "-g", "customer__region", "--order-by", "-order_count"]
    csv = mesh(root, "metrics", "query", *options, "--limit", "2", "--format", "csv").stdout
    header, *rows = csv.splitlines()
    assert header == "customer__region,order_count" and len(rows) == 2
    sql = mesh(root, "metrics", "query", *options, "--sql").stdout
    assert '"orders"."main"."orders_v2"' in sql and '"customers"."main"."customers_v1"' in sql


def test_a_saved_query_runs_as_declared_and_is_listed(built_mesh: tuple[Path, Run]) -> None:
    root, _ = built_mesh
    name = "revenue_by_month_and_region"
    saved = mesh(root, "metrics", "list", "--saved", "--format", "json").json()
    assert [(q["saved query"], q["domain"], q["metrics"]) for q in saved] == [
        (name, "analytics", "revenue")
    ]
    rows = mesh(root, "metrics", "query", "--saved", name, "--format", "json").json()
    by_hand = mesh(
        root, "metrics", "query", "-m", "revenue", "-g",
        "metric_time__month,order__customer__region", "--format", "json",
    ).json()  # fmt: skip
    assert rows == sorted(
        by_hand, key=lambda r: (r["metric_time__month"], r["order__customer__region"])
    )  # in its declared order: month, then region
    for options, said in [
        (["--saved", "revenue_by_month"], "There is no saved query 'revenue_by_month' (close "
         "matches: revenue_by_month_and_region)"),
        (["--saved", name, "-m", "revenue"], "--saved runs the saved query as it is declared"),
    ]:  # fmt: skip
        refused = mesh(root, "metrics", "query", *options, check=False)
        assert refused.returncode == 1 and "Traceback" not in refused.output
        assert " ".join(refused.stderr.split()).startswith(f"error: {said}"), refused.stderr


def test_a_semantic_layer_dbt_refuses_fails_its_build_saying_why(mesh_copy: Path) -> None:
    """dbt's own error is "Semantic Manifest validation failed."; the build adds its reasons."""
    saved = mesh_copy / "domains/analytics/models/semantic/saved_queries.yml"
    saved.write_text(
        saved.read_text().replace(
            "\"Dimension('customer__region', entity_path=['order'])\"",
            "\"Dimension('order__customer__region')\"",
            1,
        )
    )
    built = mesh(mesh_copy, "build", "--only", "analytics", check=False)
    assert built.returncode == 1, built.output
    assert "Semantic Manifest validation failed." in built.output
    assert (
        "parse a group-by in saved query `revenue_by_month_and_region`" in built.output
        and "Name is in an incorrect format: 'order__customer__region'" in built.output
    ), built.output


def test_a_breaking_change_to_a_product_names_the_metrics_it_breaks(mesh_copy: Path) -> None:
    """orders renames a column of order_lines v1 that a semantic model of analytics measures:
    `mesh check` (and the publish gate, with the same report) names the metrics on it."""
    marts = mesh_copy / "domains/orders/models/marts"
    model = marts / "order_lines_v1.sql"
    model.write_text(model.read_text().replace(" }} as net_amount_usd", " }} as net_usd"))
    properties = marts / "orders.yml"
    head, tail = properties.read_text().rsplit("- name: net_amount_usd", 1)
    properties.write_text(head + "- name: net_usd" + tail)  # order_lines is the last product
    checked = mesh(mesh_copy, "check", "orders", check=False)
    assert checked.returncode == 1, checked.output
    assert (
        "breaks analytics.order_lines (semantic model of metrics revenue, units_sold): "
        "reads net_amount_usd"
    ) in checked.stdout


def test_a_damaged_semantic_manifest_is_refused_and_the_catalog_still_builds(
    mesh_copy: Path,
) -> None:
    """The semantic manifest decides which SQL runs over the products: a copy changed after
    its publish (here, same size: only its content differs) is checked against the publish
    record, as builds check what they read, and refused in one line."""
    published = (mesh_copy / "warehouse/published/analytics/current").resolve()
    path = published / "semantic_manifest.json"
    text = path.read_text()
    path.chmod(0o644)
    path.write_text(text.replace('"revenue"', '"revenux"', 1))
    for command in (["metrics", "list"], ["metrics", "query", "--saved", "x"]):
        refused = mesh(mesh_copy, *command, check=False)
        assert refused.returncode == 1 and "Traceback" not in refused.output
        assert refused.stderr.startswith(
            f"error: analytics's semantic layer is damaged ({path}: content (sha256) differs"
        ), refused.stderr
        assert "run `mesh verify analytics`" in refused.stderr
    out = mesh_copy / "site"
    mesh(mesh_copy, "catalog", "--out", str(out))
    index = (out / "index.html").read_text()
    assert "The metrics could not be read: analytics&#39;s semantic layer is damaged" in index
    assert (out / "products/orders.orders.html").is_file()

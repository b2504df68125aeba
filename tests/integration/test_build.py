"""Building the whole mesh: order, publishing, products, every domain's own dbt tests."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.integration.conftest import Run, mesh

pytestmark = pytest.mark.integration

DOMAINS = ["analytics", "catalog", "customers", "fulfillment", "orders"]


def test_build_of_analytics_builds_its_upstreams_first(built_mesh: tuple[Path, Run]) -> None:
    _, run = built_mesh
    order = [
        line.split(":")[0] for line in run.stdout.splitlines() if line.endswith("building ...")
    ]
    assert sorted(order) == DOMAINS
    assert order.index("orders") < order.index("fulfillment") < order.index("analytics")
    assert order[0] == "orders"  # the longest chain (orders, fulfillment, analytics) first
    assert order[-1] == "analytics"
    assert "All 5 domains published." in run.stdout


def test_every_domain_is_published_with_its_own_database(built_mesh: tuple[Path, Run]) -> None:
    root, _ = built_mesh
    for domain in DOMAINS:
        current = root / "warehouse" / "published" / domain / "current"
        assert current.is_symlink()
        assert (current / f"{domain}.duckdb").is_file()
        assert (current / "manifest.json").is_file()


def test_every_domain_ran_its_own_dbt_tests_and_unit_tests(built_mesh: tuple[Path, Run]) -> None:
    root, _ = built_mesh
    for domain in DOMAINS:
        record = json.loads(
            (root / "warehouse/published" / domain / "current/publish.json").read_text()
        )
        assert record["dbt_results"].get("test", 0) >= 3, domain
        assert record["dbt_results"].get("unit_test", 0) >= 1, domain
        run_results = json.loads(
            (root / "warehouse/published" / domain / "current/run_results.json").read_text()
        )
        statuses = {
            result["status"]
            for result in run_results["results"]
            if not result["unique_id"].startswith("saved_query.")  # no export: dbt's "no-op"
        }
        assert statuses <= {"success", "pass"}, (domain, statuses)


def test_products_lists_every_version_with_its_contract(built_mesh: tuple[Path, Run]) -> None:
    root, _ = built_mesh
    products = mesh(root, "products", "--format", "json").json()
    by_key = {(p["domain"], p["name"], p["version"]): p for p in products}
    assert {p["domain"] for p in products} == set(DOMAINS)
    # Two products have a deprecated v1 and a latest v2.
    for domain, name in [("orders", "orders"), ("catalog", "products")]:
        v1, v2 = by_key[(domain, name, "1")], by_key[(domain, name, "2")]
        assert v1["latest_version"] == v2["latest_version"] == "2"
        assert v1["deprecation_date"] and not v2["deprecation_date"]
    assert by_key[("orders", "orders", "2")]["relation"] == "orders.main.orders_v2"
    for product in products:
        assert product["contract_enforced"] is True
        assert product["owner"] and "@" in product["owner"]
        assert product["archetype"] in {"source-aligned", "aggregate", "consumer-aligned"}
        assert product["freshness"]
        assert product["description"]
        assert product["columns"]
        for column in product["columns"]:
            assert column["data_type"], (product["name"], column["name"])
            assert column["description"], (product["name"], column["name"])


def test_every_product_relation_is_queryable(built_mesh: tuple[Path, Run]) -> None:
    root, _ = built_mesh
    for product in mesh(root, "products", "--format", "json").json():
        rows = mesh(
            root, "query", f"select count(*) as n from {product['relation']}", "--format", "json"
        ).json()
        assert rows[0]["n"] > 0, product["relation"]


def test_single_column_keys_are_tested_and_keys_of_several_columns_are_indexed(
    built_mesh: tuple[Path, Run],
) -> None:
    """A public product's single-column key is checked by its unique and not_null tests
    (policy) and stays NOT NULL in the table, without a DuckDB index; a key of several
    columns, which has no such tests, is a PRIMARY KEY constraint."""
    root, _ = built_mesh

    def constraints(domain: str, table: str) -> set[tuple[str, tuple[str, ...]]]:
        with duckdb.connect(
            str(root / f"warehouse/published/{domain}/current/{domain}.duckdb"), read_only=True
        ) as con:
            rows = con.execute(
                "select constraint_type, constraint_column_names from duckdb_constraints() "
                "where table_name = ?",
                [table],
            ).fetchall()
        return {(kind, tuple(columns)) for kind, columns in rows}

    order_lines = constraints("orders", "order_lines_v1")
    assert ("NOT NULL", ("order_line_id",)) in order_lines
    assert not [c for c in order_lines if c[0] == "PRIMARY KEY"]
    sales = constraints("analytics", "sales_by_region_and_category_v1")
    assert ("PRIMARY KEY", ("region", "category_name")) in sales


def test_a_second_build_republishes(mesh_copy: Path) -> None:
    before = (mesh_copy / "warehouse/published/customers/current").readlink()
    run = mesh(mesh_copy, "build", "customers", "--full")
    after = (mesh_copy / "warehouse/published/customers/current").readlink()
    assert after != before
    assert (mesh_copy / "warehouse/published/customers" / before).is_dir()  # history is kept
    assert "customers: published" in run.stdout


def test_a_build_with_nothing_changed_skips_every_domain(mesh_copy: Path) -> None:
    before = {d: (mesh_copy / "warehouse/published" / d / "current").readlink() for d in DOMAINS}
    run = mesh(mesh_copy, "build", "--quiet")
    assert run.stdout.count(": unchanged, still ") == 5
    after = {d: (mesh_copy / "warehouse/published" / d / "current").readlink() for d in DOMAINS}
    assert after == before

    # New landing data for orders rebuilds orders and what consumes it, nothing else.
    landing = next((mesh_copy / "warehouse/landing/orders/orders").glob("*.parquet"))
    landing.write_bytes(landing.read_bytes())
    run = mesh(mesh_copy, "build", "--quiet")
    for domain in ("orders", "fulfillment", "analytics"):
        assert f"{domain}: published" in run.stdout
    for domain in ("catalog", "customers"):
        assert f"{domain}: unchanged" in run.stdout


def test_timings_list_the_slowest_models_of_the_current_publishes(
    built_mesh: tuple[Path, Run],
) -> None:
    root, _ = built_mesh
    rows = mesh(root, "timings", "--top", "5", "--format", "json").json()
    assert len(rows) == 5
    assert all(row["type"] == "model" and row["status"] == "success" for row in rows)
    seconds = [row["seconds"] for row in rows]
    assert seconds == sorted(seconds, reverse=True) and seconds[0] > 0
    everything = mesh(
        root, "timings", "orders", "--all-nodes", "--top", "100", "--format", "json"
    ).json()
    assert {row["domain"] for row in everything} == {"orders"}
    assert {"model", "test", "unit_test"} <= {row["type"] for row in everything}


def _products(root: Path) -> dict[tuple[str, str, str | None], tuple[int, str]]:
    """Rows and content checksum of every product version currently published."""
    found = {}
    for domain in DOMAINS:
        record = json.loads(
            (root / "warehouse/published" / domain / "current/publish.json").read_text()
        )
        for product in record["products"]:
            key = (domain, product["name"], product["version"])
            found[key] = (product["rows"], product["checksum"])
    return found


def _count_private(root: Path, domain: str, table: str) -> int:
    """Rows of a private model in the private store of the domain's current publish: what
    only the domain's own builds read (and its team, opening the file)."""
    publish_id = (root / "warehouse/published" / domain / "current").readlink().name
    store = root / "warehouse/private" / domain / publish_id / f"{domain}__private.duckdb"
    with duckdb.connect(str(store), read_only=True) as con:
        row = con.execute(f"select count(*) from {table}").fetchone()
    assert row is not None
    return int(row[0])


def test_an_incremental_build_after_new_exports_equals_a_full_rebuild(mesh_copy: Path) -> None:
    lines_before = _count_private(mesh_copy, "orders", "stg_checkout__order_lines")

    mesh(mesh_copy, "generate", "--append-days", "3")
    run = mesh(mesh_copy, "build", "--quiet")

    continued = {
        line.split(": ")[0]: line.split(": incremental: ")[1].split(" continue from")[0]
        for line in run.stdout.splitlines()
        if ": incremental: " in line
    }
    assert continued == {
        "orders": "int_orders_latest, int_orders_totaled, order_lines_v1, orders_v1, orders_v2, "
        "stg_checkout__order_lines, stg_checkout__orders, stg_checkout__payments",
    }
    # Fulfillment's rows join the orders product, which was just republished.
    assert "fulfillment: an upstream published a new version since publish" in run.stdout
    assert "catalog: unchanged" in run.stdout and "customers: unchanged" in run.stdout
    assert _count_private(mesh_copy, "orders", "stg_checkout__order_lines") > lines_before
    incremental = _products(mesh_copy)

    run = mesh(mesh_copy, "build", "--quiet", "--full")
    assert "incremental:" not in run.stdout
    assert _products(mesh_copy) == incremental


def test_replaced_exports_rebuild_incremental_models_from_all_of_them(mesh_copy: Path) -> None:
    # A new history (another seed) replaces every export: what the incremental models
    # loaded is no longer true, so they must not continue from it.
    mesh(mesh_copy, "generate", "--scale", "0.05", "--seed", "7")
    run = mesh(mesh_copy, "build", "orders", "--only", "--quiet")

    assert "orders: landing exports were replaced or removed since publish" in run.stdout
    assert "incremental:" not in run.stdout
    rebuilt = _products(mesh_copy)
    mesh(mesh_copy, "build", "orders", "--only", "--quiet", "--full")
    assert _products(mesh_copy) == rebuilt

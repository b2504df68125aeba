"""The same domains on Apache Spark: built, tested and published by `mesh build --target
spark`, equal to the DuckDB build, and publishing only what passed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mesh.cli.output import to_json
from mesh.discovery import snapshots
from mesh.engines.spark import query
from mesh.errors import QueryError, QueryRefusedError
from mesh.pipeline.engine import QueryResult
from mesh.workspace import Mesh
from tests.integration.conftest import Run, mesh
from tests.spark.compare import assert_equal_to_duckdb, contracted, record

DOMAINS = ("catalog", "customers", "orders", "fulfillment", "analytics")


def test_every_domain_builds_and_publishes_on_spark(both_engines: tuple[Path, Run]) -> None:
    root, run = both_engines
    assert "All 5 domains published." in run.output
    for domain in DOMAINS:
        published = record(root, domain)
        assert published["engine"] == "spark" and published["catalog"] == "session"
        assert str(published["schema"]).startswith(f"{domain}__")
        assert published["dbt_results"]["test"] > 0  # type: ignore[index]
        folder = root / "warehouse" / "spark" / "published" / domain / "current"
        results = json.loads((folder / "run_results.json").read_text())["results"]
        assert any(r["unique_id"].startswith("model.") for r in results), "not the build's"
    # Hive's folder per session went under the mesh's Spark folder, not the system's /tmp.
    assert (root / "warehouse" / "spark" / "hive-resources").is_dir()


@pytest.mark.parametrize("domain", DOMAINS)
def test_spark_tables_equal_the_duckdb_build(both_engines: tuple[Path, Run], domain: str) -> None:
    """Every table a domain's Spark build wrote equals the DuckDB build's (compare.py).
    Analytics' tables are the cross-domain result."""
    assert_equal_to_duckdb(both_engines[0], domain)


def _snapshot(root: Path) -> dict[str, object]:
    """The Spark mesh snapshot readers see now."""
    current = root / "warehouse" / "spark" / "snapshots" / "current"
    snapshot: dict[str, object] = json.loads(current.read_text())
    return snapshot


def _read(root: Path, sql: str) -> QueryResult:
    """`mesh query --target spark` in this process: its Spark starts once for every call."""
    return query.query(snapshots.view(Mesh(root).on("spark"), list(DOMAINS)), sql)


def test_query_reads_the_products_of_the_current_snapshot(
    both_engines: tuple[Path, Run],
) -> None:
    root, _ = both_engines
    sql = "select region, sum(revenue_usd) as revenue from {} group by region order by region"
    spark = _read(root, sql.format("analytics.sales_by_region_and_category_v1"))
    duck = mesh(
        root, "query", "--format", "json",
        sql.format("analytics.main.sales_by_region_and_category_v1"),
    ).json()  # fmt: skip
    assert json.loads(to_json(spark.columns, spark.rows)) == duck and len(duck) == 4


def test_the_reader_catalog_holds_only_products(both_engines: tuple[Path, Run]) -> None:
    """The session's catalog has a database per domain of the snapshot and in it the
    domain's products: no version schemas, no staging or intermediate models."""
    root, _ = both_engines
    publishes = _snapshot(root)["publishes"]
    assert isinstance(publishes, dict) and set(publishes) == set(DOMAINS)
    databases = _read(root, "show databases")
    assert {row[0] for row in databases.rows} == {"default", *DOMAINS}
    tables = _read(root, "show tables in orders")
    assert {row[1] for row in tables.rows} == {"orders_v1", "orders_v2", "order_lines_v1"}
    assert contracted(root, "orders") == {"orders_v1", "orders_v2", "order_lines_v1"}


def test_query_refuses_a_private_model(both_engines: tuple[Path, Run]) -> None:
    """One line names the relation, the snapshot, and the products there are."""
    root, _ = both_engines
    sql = "select * from orders.int_orders_latest"
    refused = mesh(root, "query", "--target", "spark", sql, check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.output
    said = " ".join(refused.output.split())  # the terminal's width wraps the line
    snapshot = _snapshot(root)["snapshot_id"]
    assert said.startswith(
        f"error: orders.int_orders_latest is not a published product in snapshot {snapshot}"
    )
    listed = said.split("The products you can read: ")[1].rstrip(".").split(", ")
    assert "orders.orders_v2" in listed and "analytics.sales_by_region_and_category_v1" in listed
    assert not [name for name in listed if "__" in name or "int_" in name], "not products"


def test_query_refuses_a_version_schema(both_engines: tuple[Path, Run]) -> None:
    """The build's own names are not in the reader's catalog, a product's table neither."""
    root, _ = both_engines
    version = record(root, "orders")["schema"]
    for sql in (f"select * from {version}.orders_v2", f"show tables in {version}"):
        with pytest.raises(QueryError, match=f"{version}.* is not a published product in snap"):
            _read(root, sql)


@pytest.mark.parametrize(
    ("sql", "refused"),
    [
        ("drop table orders.orders_v2", "a DropTable"),
        (  # a write under a WITH
            "with o as (select * from orders.orders_v2) "
            "insert into orders.orders_v2 select * from o",
            "an InsertIntoStatement",
        ),
    ],
)
def test_query_refuses_to_write(both_engines: tuple[Path, Run], sql: str, refused: str) -> None:
    root, _ = both_engines
    with pytest.raises(QueryRefusedError, match=f"read-only: it refused {refused} statement"):
        _read(root, sql)


def test_the_publish_gate_holds_a_spark_publish(both_engines: tuple[Path, Run]) -> None:
    """The gate's rules run on Spark too, in one build of fulfillment: analytics expects more
    shipments than there are, a column is renamed, a column holds email addresses and two
    thirds of the shipments are gone. Nothing is published; each finding is named."""
    root, _ = both_engines
    before = record(root, "fulfillment")
    marts = root / "domains/fulfillment/models/marts"
    files = [root / "domains/analytics/expectations.yml", marts / "shipments_v1.sql",
             marts / "shipments.yml"]  # fmt: skip
    originals = [path.read_text() for path in files]
    files[0].write_text(
        originals[0]
        + "  - product: fulfillment.shipments\n    version: 1\n"
        + "    checks:\n      - min_rows: 1000000000\n"
    )
    files[1].write_text(
        originals[1]
        .replace("        service_level,", "        service_level as level,\n"
                 "        'ops@shop.example' as contact,")
        .replace("select * from final", "select * from final where shipment_id % 3 = 0")
    )  # fmt: skip
    files[2].write_text(
        originals[2].replace(
            "      - name: service_level\n",
            "      - name: contact\n        data_type: varchar\n        description: Who.\n"
            "      - name: level\n",
        )
    )
    try:
        failed = mesh(
            root, "build", "--target", "spark", "--only", "fulfillment", "--full", check=False
        )
    finally:
        for path, text in zip(files, originals, strict=True):
            path.write_text(text)
    assert failed.returncode == 1, failed.output
    output = failed.output
    assert "1 breaking change(s)" in output
    assert "[breaking_change:column_removed] fulfillment.shipments v1" in output
    assert "analytics expects fulfillment.shipments v1: min_rows 1000000000" in output
    assert "rows short of 1000000000" in output
    assert re.search(r"shipments v1 changed volume implausibly .* -> \d+ to \d+ rows", output)
    assert re.search(r"column contact holds personal data in clear .* -> \d+ values", output)
    assert record(root, "fulfillment") == before


def test_a_failing_build_leaves_the_published_version(both_engines: tuple[Path, Run]) -> None:
    """A data test fails in analytics: nothing is published, readers and the manifest still
    see the last version. The next passing build publishes and drops the failed version.
    (In place, and last: a copied Spark catalog would still point at the original's tables.)"""
    root, _ = both_engines
    before = record(root, "analytics")
    model = root / "domains/analytics/models/marts/sales_by_region_and_category.yml"
    original = model.read_text()
    model.write_text(original.replace("delivered_order_count <= order_count", "order_count < 0"))
    try:
        failed = mesh(root, "build", "--target", "spark", "--only", "analytics", check=False)
    finally:
        model.write_text(original)
    assert failed.returncode == 1, failed.output
    assert "analytics: FAILED" in failed.output
    assert "the published version is unchanged" in failed.output
    assert record(root, "analytics") == before
    rows = mesh(
        root, "query", "--target", "spark", "--format", "json",
        "select count(*) as n from analytics.sales_by_region_and_category_v1",
    ).json()  # fmt: skip
    assert rows[0]["n"] > 0
    versions = _versions(root, "analytics")
    assert len(versions) == 2 and f"{before['schema']}" in versions

    mesh(root, "build", "--target", "spark", "--only", "analytics", "--full")
    after = record(root, "analytics")
    assert after["publish_id"] != before["publish_id"]
    assert _versions(root, "analytics") == {str(before["schema"]), str(after["schema"])}


def _versions(root: Path, domain: str) -> set[str]:
    """The version schemas of `domain` in the Spark catalog's table folder."""
    folder = root / "warehouse" / "spark" / "tables"
    return {p.name.removesuffix(".db") for p in folder.glob(f"{domain}__*.db")}

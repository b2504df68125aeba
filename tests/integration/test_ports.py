"""Output ports: every published product version as Parquet with its ODCS contract and ODPS
descriptor beside it, readable without dbt, published atomically with the product."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml

from mesh.governance import odcs, odps
from tests.integration.conftest import Run, mesh

pytestmark = pytest.mark.integration


def test_every_product_version_has_parquet_contract_and_descriptor(
    built_mesh: tuple[Path, Run],
) -> None:
    root, _ = built_mesh
    products = mesh(root, "products", "--format", "json").json()
    assert len(products) >= 8
    for product in products:
        parquet, contract = Path(product["parquet"]), Path(product["contract"])
        assert parquet.is_file() and contract.is_file(), product["relation"]
        # Readable by a plain DuckDB, no dbt, no mesh: same rows as the published relation.
        rows = duckdb.execute(f"select count(*) from read_parquet('{parquet}')").fetchone()
        published = mesh(
            root, "query", f"select count(*) as n from {product['relation']}", "--format", "json"
        ).json()
        assert rows is not None and rows[0] == published[0]["n"] > 0
        columns = [c[0] for c in duckdb.execute(f"describe select * from '{parquet}'").fetchall()]
        assert columns == [c["name"] for c in product["columns"]]

        document = yaml.safe_load(contract.read_text())
        assert odcs.validate(document) == [], product["relation"]
        descriptor = yaml.safe_load((contract.parent / "product.odps.yaml").read_text())
        assert odps.validate(descriptor) == [], product["relation"]
        assert odps.custom_property(descriptor, "owner") == product["owner"]
        assert {port["contractId"] for port in descriptor["outputPorts"]} == {document["id"]}
        assert parquet.name in json.dumps(descriptor["outputPorts"])


def test_the_consumer_descriptor_lists_its_input_ports(built_mesh: tuple[Path, Run]) -> None:
    root, _ = built_mesh
    folder = root / "warehouse/published/analytics/current/products/sales_by_region_and_category/v1"
    descriptor = yaml.safe_load((folder / "product.odps.yaml").read_text())
    inputs = {port["contractId"] for port in descriptor["inputPorts"]}
    assert inputs == {
        "customers.customers.v1",
        "catalog.products.v2",
        "orders.orders.v2",
        "orders.order_lines.v1",
        "fulfillment.shipments.v1",
    }


def test_publish_record_names_the_parquet_ports(built_mesh: tuple[Path, Run]) -> None:
    root, _ = built_mesh
    record = json.loads((root / "warehouse/published/orders/current/publish.json").read_text())
    assert record["output_ports"]["orders.v2"] == "products/orders/v2/orders_v2.parquet"

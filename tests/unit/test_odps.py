"""ODPS v1.1.0 product descriptors, generated from the manifest fixtures, and the ODPS JSON
schema they are validated against (kept in the package with its source and hash)."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from typing import Any

import jsonschema
import pytest

from mesh.engines.duckdb import ports
from mesh.errors import MeshError
from mesh.governance import odcs, odps
from tests.unit.test_odcs import PRODUCT_VERSIONS, PUBLISHED_AT, Raw, manifest

SALES = "model.analytics.sales_by_region_and_category.v1"


def custom(item: dict[str, Any]) -> dict[str, Any]:
    return {entry["property"]: entry["value"] for entry in item.get("customProperties", [])}


def test_the_kept_schema_is_the_published_one_byte_for_byte() -> None:
    schema = resources.files("mesh.governance").joinpath("schemas", odps.SCHEMA_FILE)
    assert hashlib.sha256(schema.read_bytes()).hexdigest() == odps.SCHEMA_SHA256
    assert odps.SCHEMA_SOURCE.endswith(f"/schema/{odps.SCHEMA_FILE}")


@pytest.mark.parametrize(
    ("package", "name"),
    [("mesh.governance", f"schemas/{odps.SCHEMA_FILE}"), (odcs.SCHEMA_PACKAGE, "schema.json")],
)
def test_the_schemas_contracts_and_descriptors_are_checked_against_are_valid(
    package: str, name: str
) -> None:
    # Once here, not on every publish: the schemas are packaged and pinned.
    schema = json.loads(resources.files(package).joinpath(name).read_text(encoding="utf-8"))
    jsonschema.Draft201909Validator.check_schema(schema)
    broken = {**schema, "properties": {"id": {"type": "no-such-type"}}}
    with pytest.raises(jsonschema.SchemaError):
        jsonschema.Draft201909Validator.check_schema(broken)


@pytest.mark.parametrize(("domain", "unique_id"), PRODUCT_VERSIONS)
def test_every_product_version_gets_a_valid_descriptor(domain: str, unique_id: str) -> None:
    document = odps.describe(domain, manifest(domain), unique_id, published_at=PUBLISHED_AT)
    assert odps.validate(document) == []
    assert (document["apiVersion"], document["kind"]) == ("v1.1.0", "DataProduct")
    # Each output port is bound to the product version's contract, by its id.
    contract = odcs.contract(domain, manifest(domain), unique_id)
    assert {port["contractId"] for port in document["outputPorts"]} == {contract["id"]}
    assert document["version"] == contract["version"]


def test_the_analytics_descriptor_reads_five_upstream_contracts() -> None:
    found = odps.describe("analytics", manifest("analytics"), SALES)
    assert [(p["name"], p["version"], p["contractId"]) for p in found["inputPorts"]] == [
        ("catalog.products.v2", "2.0.0", "catalog.products.v2"),
        ("customers.customers.v1", "1.0.0", "customers.customers.v1"),
        ("fulfillment.shipments.v1", "1.0.0", "fulfillment.shipments.v1"),
        ("orders.order_lines.v1", "1.0.0", "orders.order_lines.v1"),
        ("orders.orders.v2", "2.0.0", "orders.orders.v2"),
    ]
    assert odps.input_ports(found) == [
        {"domain": "catalog", "product": "products", "version": "2"},
        {"domain": "customers", "product": "customers", "version": "1"},
        {"domain": "fulfillment", "product": "shipments", "version": "1"},
        {"domain": "orders", "product": "order_lines", "version": "1"},
        {"domain": "orders", "product": "orders", "version": "2"},
    ]
    duckdb_port, parquet_port = found["outputPorts"]
    assert (duckdb_port["name"], duckdb_port["type"]) == ("duckdb", "duckdb")
    assert custom(duckdb_port) == {
        "relation": "analytics.main.sales_by_region_and_category_v1",
        "dbtRef": "ref('analytics', 'sales_by_region_and_category', v=1)",
        "path": "../../../analytics.duckdb",
    }
    assert custom(parquet_port) == {"path": "sales_by_region_and_category_v1.parquet"}
    assert len(duckdb_port["inputContracts"]) == 5
    assert found["id"] == "analytics.sales_by_region_and_category.v1"
    assert found["type"] == "consumerAligned"
    assert found["team"]["members"][0]["username"] == "commercial-analytics@shop.example"
    properties = custom(found)
    assert properties["title"] == "Sales by region and category"
    assert properties["owner"] == "commercial-analytics@shop.example"
    assert properties["contract"] == "contract.odcs.yaml"


def test_input_ports_follow_the_models_reads() -> None:
    def change(m: Raw) -> None:
        node = m["nodes"]["model.analytics.int_order_lines_enriched"]
        node["depends_on"]["nodes"].remove("model.analytics.stg_fulfillment__shipments")

    ports = odps.describe("analytics", manifest("analytics", change), SALES)["inputPorts"]
    assert "fulfillment.shipments.v1" not in {port["name"] for port in ports}
    assert len(ports) == 4


def test_source_aligned_descriptors() -> None:
    orders = manifest("orders")
    v2 = odps.describe("orders", orders, "model.orders.orders.v2")
    assert "inputPorts" not in v2
    assert (v2["type"], v2["status"], v2["version"]) == ("sourceAligned", "active", "2.0.0")
    assert custom(v2["outputPorts"][0])["relation"] == "orders.main.orders_v2"
    assert custom(v2)["latestVersion"] == "2"
    v1 = odps.describe("orders", orders, "model.orders.orders.v1")
    assert (v1["status"], v1["deprecated"]) == ("deprecated", True)
    assert custom(v1)["deprecationDate"] == "2027-06-30"


def test_the_schema_rejects_what_odps_does_not_define() -> None:
    document = odps.describe("orders", manifest("orders"), "model.orders.orders.v2")
    assert odps.validate({**document, "owner": "someone"}) != []
    broken = {**document, "outputPorts": [{"type": "parquet"}]}  # a port needs a name
    assert any("name" in error for error in odps.validate(broken))
    assert odps.input_ports({"inputPorts": [{"name": "x"}]}) is None


def test_a_document_its_standard_rejects_is_not_published() -> None:
    """The publish checks both documents against their standards' schemas."""
    orders = manifest("orders")
    uid = "model.orders.orders.v2"
    _, product = odcs.product_of("orders", orders, uid)
    contract = odcs.contract("orders", orders, uid, published_at=PUBLISHED_AT)
    descriptor = odps.describe("orders", orders, uid, published_at=PUBLISHED_AT)
    ports.check_standards("orders", product, contract, descriptor)  # both valid

    with pytest.raises(MeshError) as raised:
        ports.check_standards("orders", product, contract, {**descriptor, "owner": "x"})
    assert str(raised.value).startswith(
        "Cannot publish orders: the ODPS descriptor generated for orders.orders.v2 is not valid"
    )
    assert "'owner' was unexpected" in str(raised.value)
    with pytest.raises(MeshError, match=r"the ODCS contract generated for orders\.orders\.v2"):
        ports.check_standards("orders", product, {**contract, "kind": "Other"}, descriptor)

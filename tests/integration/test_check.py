"""Governance in code: every policy and breaking change can fail `mesh check`, additive
changes pass, and consumers' expectations gate a producer's publish. The same rules at the
publish gate, and deprecations: test_publish_gate.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.integration.conftest import Run, mesh

pytestmark = pytest.mark.integration


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count))


def test_the_repository_passes_every_check(built_mesh: tuple[Path, Run]) -> None:
    root, _ = built_mesh
    run = mesh(root, "check")
    assert "All checks passed." in run.stdout
    assert run.stdout.count(": passed") == 5
    # Off a terminal, progress is one line per domain on stderr as its parse ends.
    parsed = re.findall(r"^(\w+): parsed \(\d+\.\d s\)$", run.stderr, re.MULTILINE)
    assert sorted(parsed) == ["analytics", "catalog", "customers", "fulfillment", "orders"]
    assert "parsed" not in run.stdout


def test_every_policy_can_fail(mesh_copy: Path) -> None:
    domains = mesh_copy / "domains"
    # public_model_has_enforced_contract (also a breaking change: contract disabled)
    _edit(
        domains / "fulfillment/models/marts/shipments.yml",
        "      contract:\n        enforced: true",
        "      contract:\n        enforced: false",
    )
    # public_model_is_documented
    _edit(
        domains / "orders/models/marts/orders.yml",
        "        description: Where the order was placed.\n",
        "",
    )
    # public_model_primary_key_is_tested
    _edit(
        domains / "customers/models/marts/customers.yml",
        "        data_tests:\n          - unique\n          - not_null\n",
        "",
    )
    # group_has_owner
    _edit(domains / "catalog/models/_groups.yml", "      email: catalog-team@shop.example\n", "")
    # public_model_has_product_meta
    _edit(
        domains / "fulfillment/models/marts/shipments.yml",
        "        archetype: source-aligned\n",
        "",
    )
    # model_naming_and_layer
    (domains / "analytics/models/staging/orders_extra.sql").write_text(
        "select order_id from {{ ref('stg_orders__orders') }}\n"
    )
    # pii_not_exposed_in_public_models
    _edit(
        domains / "customers/models/marts/customers_v1.sql",
        "        city,",
        "        email,\n        city,",
    )
    _edit(
        domains / "customers/models/marts/customers.yml",
        "      - name: city\n",
        "      - name: email\n        data_type: varchar\n        description: Email.\n"
        "      - name: city\n",
    )
    # cross_domain_refs_are_public_and_versioned
    (domains / "analytics/models/intermediate/int_unpinned_orders.sql").write_text(
        "select order_id from {{ ref('orders', 'orders') }}\n"
    )
    # no_direct_reads_of_other_domains
    (domains / "analytics/models/intermediate/int_direct_orders.sql").write_text(
        "select order_id from orders.main.orders_v2\n"
    )
    # old_versions_have_deprecation_date
    _edit(
        domains / "catalog/models/marts/products.yml", "        deprecation_date: 2027-06-30\n", ""
    )

    run = mesh(mesh_copy, "check", "--format", "json", check=False)
    assert run.returncode == 1
    report = run.json()
    found = {(v["rule"], d["domain"]) for d in report["domains"] for v in d["violations"]}
    assert found == {
        ("public_model_has_enforced_contract", "fulfillment"),
        ("public_model_is_documented", "orders"),
        ("public_model_primary_key_is_tested", "customers"),
        ("group_has_owner", "catalog"),
        ("public_model_has_product_meta", "fulfillment"),
        ("model_naming_and_layer", "analytics"),
        ("pii_not_exposed_in_public_models", "customers"),
        ("cross_domain_refs_are_public_and_versioned", "analytics"),
        ("no_direct_reads_of_other_domains", "analytics"),
        ("old_versions_have_deprecation_date", "catalog"),
    }
    text = mesh(mesh_copy, "check", "customers", check=False).stdout
    assert "customers: FAILED" in text
    assert re.search(r"\[pii_not_exposed_in_public_models\] models/marts/\S+: .*email", text)


def test_every_kind_of_breaking_change_is_named_with_its_consumers(mesh_copy: Path) -> None:
    orders = mesh_copy / "domains/orders/models/marts"
    # drop a column
    _edit(
        orders / "orders.yml",
        "      - name: is_fully_paid\n        data_type: boolean\n"
        "        description: True when succeeded payments cover the net amount.\n",
        "",
    )
    _edit(orders / "orders_v2.sql", "        is_fully_paid,\n", "")
    # rename a column
    _edit(orders / "orders.yml", "      - name: has_coupon\n", "      - name: used_coupon\n")
    _edit(orders / "orders_v2.sql", "as has_coupon", "as used_coupon")
    # retype a column
    _edit(
        orders / "orders.yml",
        "      - name: item_count\n        data_type: integer",
        "      - name: item_count\n        data_type: bigint",
    )
    _edit(
        orders / "orders_v2.sql",
        "{{ dbt.cast('item_count', dbt.type_int()) }}",
        "{{ dbt.cast('item_count', dbt.type_bigint()) }}",
    )
    # drop a constraint
    _edit(
        orders / "orders.yml",
        "        description: Where the order was placed.\n        data_tests:",
        "        description: Where the order was placed.\n        data_tests:",
    )  # (no-op anchor check)
    _edit(
        orders / "orders.yml",
        "        description: When the order was placed (UTC).\n"
        "        constraints:\n          - type: not_null\n",
        "        description: When the order was placed (UTC).\n",
    )
    # disable a contract
    _edit(
        orders / "orders.yml",
        "    latest_version: 1\n    config:\n      access: public\n"
        "      contract:\n        enforced: true",
        "    latest_version: 1\n    config:\n      access: public\n"
        "      contract:\n        enforced: false",
    )
    # delete a version
    catalog = mesh_copy / "domains/catalog/models/marts"
    (catalog / "products_v1.sql").unlink()
    text = (catalog / "products.yml").read_text()
    (catalog / "products.yml").write_text(text[: text.index("      - v: 1")])

    run = mesh(mesh_copy, "check", "orders", "catalog", "--format", "json", check=False)
    assert run.returncode == 1
    changes = [c for d in run.json()["domains"] for c in d["breaking_changes"]]
    kinds = {(c["product"], c["kind"], tuple(c["columns"])) for c in changes}
    assert ("orders.orders v2", "column_removed", ("has_coupon", "is_fully_paid")) in kinds
    assert ("orders.orders v2", "type_changed", ("item_count",)) in kinds
    assert ("orders.orders v2", "constraint_removed", ("ordered_at",)) in kinds
    assert ("orders.order_lines v1", "contract_disabled", ()) in kinds
    assert ("catalog.products v1", "deleted", ()) in kinds

    by_product = {(c["product"], c["kind"]): c for c in changes}
    consumers = {
        (i["consumer"], i["model"]): i["columns_read"]
        for i in by_product[("orders.orders v2", "constraint_removed")]["consumers"]
    }
    assert consumers == {
        ("analytics", "stg_orders__orders"): ["ordered_at"],
        ("fulfillment", "stg_orders__orders"): ["ordered_at"],
    }
    # No consumer reads the removed or retyped columns: their compiled SQL names others.
    assert by_product[("orders.orders v2", "column_removed")]["consumers"] == []
    assert by_product[("orders.orders v2", "type_changed")]["consumers"] == []
    # A change without columns breaks every model reading the version, and every semantic
    # model (with the metrics on it).
    readers = by_product[("orders.order_lines v1", "contract_disabled")]["consumers"]
    assert sorted((r["consumer"], r["model"]) for r in readers) == [
        ("analytics", "order_lines (semantic model of metrics revenue, units_sold)"),
        ("analytics", "stg_orders__order_lines"),
    ]
    lines = mesh(mesh_copy, "check", "orders", check=False).stdout
    assert "breaks fulfillment.stg_orders__orders: reads ordered_at" in lines
    assert "breaks analytics.stg_orders__lines" not in lines
    assert "no published consumer reads the affected columns" in lines
    assert "none of the affected columns" not in lines


def test_additive_changes_pass(mesh_copy: Path) -> None:
    orders = mesh_copy / "domains/orders/models/marts"
    # add a column
    _edit(
        orders / "orders_v2.sql",
        "        is_fully_paid,\n",
        "        is_fully_paid,\n        line_count,\n",
    )
    _edit(
        orders / "orders.yml",
        "      - name: is_fully_paid\n",
        "      - name: line_count\n        data_type: bigint\n"
        "        description: Lines in the order.\n      - name: is_fully_paid\n",
        1,
    )
    # add a version
    customers = mesh_copy / "domains/customers/models/marts"
    (customers / "customers_v2.sql").write_text((customers / "customers_v1.sql").read_text())
    _edit(customers / "customers.yml", "    latest_version: 1\n", "    latest_version: 2\n")
    _edit(
        customers / "customers.yml",
        "    versions:\n      - v: 1\n",
        "    versions:\n      - v: 2\n      - v: 1\n        deprecation_date: 2027-12-31\n",
    )

    run = mesh(mesh_copy, "check", "orders", "customers")
    assert "All checks passed." in run.stdout


def test_a_consumer_expectation_blocks_the_producers_publish(mesh_copy: Path) -> None:
    published = mesh_copy / "warehouse/published/orders/current"
    before = published.readlink()
    _edit(
        mesh_copy / "domains/analytics/expectations.yml",
        "      - unique: order_id\n",
        "      - unique: order_id\n      - min_rows: 1000000000\n",
    )
    run = mesh(mesh_copy, "build", "orders", "--only", "--quiet", "--full", check=False)
    assert run.returncode == 1
    assert "not published: 1 consumer expectation(s) failed" in run.stderr
    assert "analytics expects orders.orders v2: min_rows 1000000000" in run.stderr
    assert published.readlink() == before

"""Mesh-wide governance policies, on trimmed copies of real domain manifests.

The fixtures are the customers, orders and analytics manifests as dbt parses the domains
(refresh them with tests/unit/fixtures/trim_manifests.py). They pass every rule; each test
breaks one rule in a copy and expects exactly that rule to name the offending model or column.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from mesh.discovery.manifest import parse
from mesh.governance.check import CheckReport, DomainCheck, as_dict, as_lines
from mesh.governance.policies import (
    RULES,
    DomainState,
    Violation,
    Waiver,
    evaluate,
    markdown,
    mesh_domains,
    published_states,
    waivers,
)
from mesh.workspace import Mesh
from tests.unit.conftest import add_domain

FIXTURES = Path(__file__).parent / "fixtures"
DOCS = Path(__file__).parents[2] / "docs" / "policies.md"
MESH = ("customers", "catalog", "orders", "fulfillment", "analytics")

Manifest = dict[str, Any]


@cache
def _fixture(domain: str) -> Manifest:
    manifest: Manifest = json.loads((FIXTURES / f"{domain}_manifest.json").read_text())
    return manifest


def state(domain: str, change: Callable[[Manifest], object] | None = None) -> DomainState:
    """A domain whose manifest is a copy of its fixture, changed by `change`."""
    manifest = copy.deepcopy(_fixture(domain))
    if change is not None:
        change(manifest)
    return DomainState(domain, Path("/nonexistent/domains") / domain, parse(manifest))


def node(manifest: Manifest, unique_id: str) -> dict[str, Any]:
    found: dict[str, Any] = manifest["nodes"][unique_id]
    return found


def only(rule: str, violations: list[Violation]) -> list[Violation]:
    """The violations, after checking that they are all of `rule` (and that there are some)."""
    assert violations, f"expected a violation of {rule}"
    assert {v.rule for v in violations} == {rule}, violations
    return violations


def test_the_real_domains_pass_every_rule() -> None:
    assert evaluate([state(domain) for domain in ("customers", "orders", "analytics")]) == []


def test_rules_are_the_twelve_documented_ones_and_the_waiver_check() -> None:
    names = [rule.name for rule in RULES]
    assert names == sorted(
        [
            "public_model_has_enforced_contract",
            "public_model_is_documented",
            "public_model_primary_key_is_tested",
            "constraints_are_tested",
            "group_has_owner",
            "public_model_has_product_meta",
            "model_naming_and_layer",
            "pii_not_exposed_in_public_models",
            "cross_domain_refs_are_public_and_versioned",
            "no_direct_reads_of_other_domains",
            "old_versions_have_deprecation_date",
            "waivers_are_valid",
            "dbt_code_stays_in_its_database",
        ]
    )
    for rule in RULES:  # one module per rule, named for it
        assert rule.check.__module__ == f"mesh.governance.rules.{rule.name}"


def test_docs_are_generated_from_the_rules() -> None:
    assert DOCS.read_text() == markdown(), (
        "docs/policies.md is out of date; regenerate it with "
        "`.venv/bin/python -m mesh.governance.policies > docs/policies.md`"
    )


# 1. public_model_has_enforced_contract


def test_public_model_without_enforced_contract() -> None:
    def change(m: Manifest) -> None:
        node(m, "model.orders.orders.v2")["contract"]["enforced"] = False

    [found] = only("public_model_has_enforced_contract", evaluate([state("orders", change)]))
    assert found == Violation(
        "public_model_has_enforced_contract",
        "orders",
        "model.orders.orders.v2",
        "models/marts/orders.yml",
        "Public model orders v2 does not enforce a contract.",
    )


# 2. public_model_is_documented


def test_public_column_without_data_type_or_description() -> None:
    def change(m: Manifest) -> None:
        column = node(m, "model.orders.orders.v2")["columns"]["net_amount_usd"]
        column["data_type"] = None
        column["description"] = " "

    [found] = only("public_model_is_documented", evaluate([state("orders", change)]))
    assert found.node == "model.orders.orders.v2"
    assert found.path == "models/marts/orders.yml"
    assert "net_amount_usd" in found.message
    assert "data_type" in found.message and "description" in found.message


def test_public_model_without_description() -> None:
    def change(m: Manifest) -> None:
        node(m, "model.orders.order_lines.v1")["description"] = ""

    [found] = only("public_model_is_documented", evaluate([state("orders", change)]))
    assert found.message == "Public model order_lines v1 has no description."


# 3. public_model_primary_key_is_tested


def test_public_model_without_primary_key_constraint() -> None:
    def change(m: Manifest) -> None:
        node(m, "model.orders.orders.v1")["constraints"] = []

    [found] = only("public_model_primary_key_is_tested", evaluate([state("orders", change)]))
    assert found.node == "model.orders.orders.v1"
    assert found.message == "Public model orders v1 declares no primary_key constraint."


def test_single_column_key_without_not_null_test() -> None:
    def change(m: Manifest) -> None:
        for uid in [
            uid
            for uid in m["nodes"]
            if uid.startswith("test.orders.not_null_order_lines_v1_order_line_id")
        ]:
            del m["nodes"][uid]

    [found] = only("public_model_primary_key_is_tested", evaluate([state("orders", change)]))
    assert found.node == "model.orders.order_lines.v1"
    assert "order_line_id" in found.message and "not_null" in found.message


def test_single_column_key_without_unique_test() -> None:
    def change(m: Manifest) -> None:
        del m["nodes"]["test.orders.unique_orders_v2_order_id.d9621aadd3"]

    [found] = only("public_model_primary_key_is_tested", evaluate([state("orders", change)]))
    assert found.node == "model.orders.orders.v2"
    assert "order_id" in found.message and "unique" in found.message


def test_a_column_level_primary_key_counts() -> None:
    def change(m: Manifest) -> None:
        model = node(m, "model.orders.orders.v2")
        model["constraints"] = []
        model["columns"]["order_id"]["constraints"].append({"type": "primary_key"})

    assert evaluate([state("orders", change)]) == []


def test_a_multi_column_key_needs_its_constraint() -> None:
    def change(m: Manifest) -> None:
        model = node(m, "model.analytics.sales_by_region_and_category.v1")
        model["constraints"] = []

    assert node(_fixture("analytics"), "model.analytics.sales_by_region_and_category.v1")[
        "constraints"
    ][0]["columns"] == ["region", "category_name"]
    [found] = only("public_model_primary_key_is_tested", evaluate([state("analytics", change)]))
    assert "sales_by_region_and_category v1" in found.message


def _drop_tests(m: Manifest, prefix: str) -> None:
    for uid in [uid for uid in m["nodes"] if uid.startswith(prefix)]:
        del m["nodes"][uid]


def test_a_multi_column_key_needs_a_unique_combination_test() -> None:
    def change(m: Manifest) -> None:
        _drop_tests(m, "test.analytics.shared_macros_unique_combination_sales")

    [found] = only("public_model_primary_key_is_tested", evaluate([state("analytics", change)]))
    assert found.message == (
        "Primary key (region, category_name) of public model sales_by_region_and_category v1 "
        "has no shared_macros.unique_combination data test over its columns."
    )


def test_a_unique_combination_over_other_columns_does_not_count() -> None:
    def change(m: Manifest) -> None:
        for test in m["nodes"].values():
            if (test.get("test_metadata") or {}).get("name") == "unique_combination":
                test["test_metadata"]["kwargs"]["columns"] = ["region"]

    [found] = only("public_model_primary_key_is_tested", evaluate([state("analytics", change)]))
    assert "region, category_name" in found.message


# 3b. constraints_are_tested


def test_not_null_constraint_without_a_not_null_test() -> None:
    def change(m: Manifest) -> None:
        _drop_tests(m, "test.customers.not_null_customers_v1_region")

    [found] = only("constraints_are_tested", evaluate([state("customers", change)]))
    assert found.node == "model.customers.customers.v1"
    assert found.message == (
        "Column region of customers v1 has a constraint that a not_null data test must check, "
        "and no not_null test."
    )


def test_columns_that_may_be_null_need_no_not_null_test() -> None:
    def change(m: Manifest) -> None:
        column = node(m, "model.customers.customers.v1")["columns"]["region"]
        column["constraints"] = []
        _drop_tests(m, "test.customers.not_null_customers_v1_region")

    assert evaluate([state("customers", change)]) == []


def test_unique_constraint_without_a_unique_test() -> None:
    def change(m: Manifest) -> None:
        column = node(m, "model.customers.customers.v1")["columns"]["email_hash"]
        column["constraints"] = [{"type": "unique"}]

    [found] = only("constraints_are_tested", evaluate([state("customers", change)]))
    assert "email_hash" in found.message and "no unique test" in found.message


def test_model_level_not_null_constraint_needs_its_test_too() -> None:
    def change(m: Manifest) -> None:
        model = node(m, "model.customers.customers.v1")
        model["constraints"].append({"type": "not_null", "columns": ["email_hash"]})

    [found] = only("constraints_are_tested", evaluate([state("customers", change)]))
    assert "email_hash" in found.message and "no not_null test" in found.message


def test_check_constraint_is_refused() -> None:
    def change(m: Manifest) -> None:
        node(m, "model.customers.customers.v1")["constraints"].append(
            {"type": "check", "expression": "customer_id > 0"}
        )

    [found] = only("constraints_are_tested", evaluate([state("customers", change)]))
    assert found.message == (
        "customers v1 has a check constraint, which not every engine enforces; state it as a "
        "data test instead."
    )


# 4. group_has_owner


def test_group_without_owner_email() -> None:
    def change(m: Manifest) -> None:
        m["groups"]["group.orders.orders"]["owner"] = {"name": "Checkout Team", "email": None}

    [found] = only("group_has_owner", evaluate([state("orders", change)]))
    assert found == Violation(
        "group_has_owner",
        "orders",
        "group.orders.orders",
        "models/_groups.yml",
        "Group orders has no owner email.",
    )


def test_model_without_group() -> None:
    def change(m: Manifest) -> None:
        model = node(m, "model.orders.int_orders_latest")
        model["group"] = None
        model["config"]["group"] = None

    [found] = only("group_has_owner", evaluate([state("orders", change)]))
    assert found.node == "model.orders.int_orders_latest"
    assert found.message == "Model int_orders_latest belongs to no group."


# 5. public_model_has_product_meta


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("owner", "", "no meta owner"),
        ("domain", "checkout", "meta domain 'checkout', not 'orders'"),
        ("archetype", "mart", "meta archetype 'mart'"),
        ("freshness", "hourly", "no meta freshness mapping"),
    ],
)
def test_public_model_without_product_meta(key: str, value: str, expected: str) -> None:
    def change(m: Manifest) -> None:
        node(m, "model.orders.order_lines.v1")["config"]["meta"][key] = value

    [found] = only("public_model_has_product_meta", evaluate([state("orders", change)]))
    assert found.node == "model.orders.order_lines.v1"
    assert found.path == "models/marts/orders.yml"
    assert "order_lines v1" in found.message and expected in found.message


# 6. model_naming_and_layer


def test_staging_model_not_named_stg() -> None:
    def change(m: Manifest) -> None:
        node(m, "model.orders.stg_checkout__payments")["name"] = "checkout_payments"

    [found] = only("model_naming_and_layer", evaluate([state("orders", change)]))
    assert found.path == "models/staging/checkout/stg_checkout__payments.sql"
    assert found.message == "Model checkout_payments is in models/staging/ but not named stg_*."


def test_intermediate_model_reading_a_source() -> None:
    def change(m: Manifest) -> None:
        model = node(m, "model.orders.int_orders_totaled")
        model["depends_on"]["nodes"].append("source.orders.checkout.payments")

    [found] = only("model_naming_and_layer", evaluate([state("orders", change)]))
    assert found.node == "model.orders.int_orders_totaled"
    assert "int_orders_totaled reads source checkout.payments" in found.message


def test_marts_model_reading_a_source() -> None:
    def change(m: Manifest) -> None:
        model = node(m, "model.orders.orders.v2")
        model["depends_on"]["nodes"].append("source.orders.checkout.orders")

    [found] = only("model_naming_and_layer", evaluate([state("orders", change)]))
    assert found.message == (
        "Model orders v2 reads source checkout.orders directly but is a marts model."
    )


def test_public_model_outside_marts() -> None:
    def change(m: Manifest) -> None:
        model = node(m, "model.orders.order_lines.v1")
        model["original_file_path"] = "models/order_lines_v1.sql"

    [found] = only("model_naming_and_layer", evaluate([state("orders", change)]))
    assert found.message == "Public model order_lines v1 is not in models/marts/."


def test_int_model_outside_intermediate() -> None:
    def change(m: Manifest) -> None:
        model = node(m, "model.orders.int_orders_latest")
        model["original_file_path"] = "models/marts/int_orders_latest.sql"

    [found] = only("model_naming_and_layer", evaluate([state("orders", change)]))
    assert found.message == (
        "Model int_orders_latest is named int_* but is not in models/intermediate/."
    )


# 7. pii_not_exposed_in_public_models


def test_public_model_exposing_a_pii_column_of_the_domain() -> None:
    def change(m: Manifest) -> None:
        node(m, "model.customers.customers.v1")["columns"]["email"] = {
            "name": "email",
            "data_type": "varchar",
            "description": "Email address.",
        }

    [found] = only("pii_not_exposed_in_public_models", evaluate([state("customers", change)]))
    assert found.node == "model.customers.customers.v1"
    assert found.message == (
        "Public model customers v1 exposes column email, "
        "tagged PII in model.customers.stg_crm__customers."
    )


def test_pii_marked_by_meta_on_a_source_column() -> None:
    def change(m: Manifest) -> None:
        source = m["sources"]["source.orders.checkout.orders"]
        source["columns"]["customer_id"] = {"name": "customer_id", "meta": {"pii": True}}

    found = only("pii_not_exposed_in_public_models", evaluate([state("orders", change)]))
    assert [v.node for v in found] == ["model.orders.orders.v1", "model.orders.orders.v2"]
    assert all("column customer_id" in v.message for v in found)


def test_hash_column_not_made_by_hash_pii() -> None:
    def change(m: Manifest) -> None:
        model = node(m, "model.customers.customers.v1")
        model["raw_code"] = model["raw_code"].replace(
            "{{ shared_macros.hash_pii('email') }}", "md5(email)"
        )

    [found] = only("pii_not_exposed_in_public_models", evaluate([state("customers", change)]))
    assert found.path == "models/marts/customers_v1.sql"
    assert "email_hash" in found.message and "hash_pii()" in found.message


def test_hash_made_upstream_in_the_domain_is_allowed() -> None:
    def change(m: Manifest) -> None:
        model = node(m, "model.customers.customers.v1")
        model["raw_code"] = model["raw_code"].replace(
            "{{ shared_macros.hash_pii('email') }} as email_hash", "email_hash"
        )
        upstream = node(m, "model.customers.int_customers_latest")
        upstream["raw_code"] += "\n-- email_hash: {{ shared_macros.hash_pii('email') }}\n"

    # A call in a comment does not count.
    assert len(evaluate([state("customers", change)])) == 1

    def change_in_code(m: Manifest) -> None:
        change(m)
        upstream = node(m, "model.customers.int_customers_latest")
        upstream["raw_code"] = upstream["raw_code"].replace(
            "latest.*,", "latest.*, {{ shared_macros.hash_pii('email') }} as email_hash,"
        )

    assert evaluate([state("customers", change_in_code)]) == []


def test_public_model_exposing_a_pii_column_of_an_upstream_domain() -> None:
    def change(m: Manifest) -> None:
        upstream = node(m, "model.customers.customers.v1")
        upstream["columns"]["region"] = {"name": "region", "tags": ["pii"]}

    [found] = only("pii_not_exposed_in_public_models", evaluate([state("analytics", change)]))
    assert found.node == "model.analytics.sales_by_region_and_category.v1"
    assert "column region" in found.message
    assert "model.customers.customers.v1" in found.message


# 8. cross_domain_refs_are_public_and_versioned


def test_cross_domain_ref_without_version() -> None:
    def change(m: Manifest) -> None:
        node(m, "model.analytics.stg_orders__orders")["refs"][0]["version"] = None

    [found] = only(
        "cross_domain_refs_are_public_and_versioned", evaluate([state("analytics", change)])
    )
    assert found.node == "model.analytics.stg_orders__orders"
    assert found.path == "models/staging/stg_orders__orders.sql"
    assert found.message == (
        "Model stg_orders__orders refers to orders.orders without pinning a version."
    )


def test_cross_domain_dependency_on_a_private_model() -> None:
    def change(m: Manifest) -> None:
        model = node(m, "model.analytics.stg_orders__orders")
        model["depends_on"]["nodes"] = ["model.orders.int_orders_totaled"]
        model["refs"] = [{"name": "int_orders_totaled", "package": "orders", "version": 1}]

    [found] = only(
        "cross_domain_refs_are_public_and_versioned", evaluate([state("analytics", change)])
    )
    assert "model.orders.int_orders_totaled" in found.message
    assert "not a public model of orders" in found.message


def test_cross_domain_dependency_without_naming_the_domain() -> None:
    def change(m: Manifest) -> None:
        model = node(m, "model.analytics.stg_catalog__products")
        model["refs"] = [{"name": "products", "package": None, "version": 2}]

    [found] = only(
        "cross_domain_refs_are_public_and_versioned", evaluate([state("analytics", change)])
    )
    assert found.message == (
        "Model stg_catalog__products refers to catalog's products v2 without naming the domain "
        "and a version."
    )


# 9. no_direct_reads_of_other_domains


@pytest.mark.parametrize(
    "sql",
    [
        "select * from orders.main.orders_v2",
        "select * from ORDERS.Main.Orders_V2 as o",
        'select * from "orders" . "main"."orders_v2"',
        "select * from read_parquet('../../warehouse/published/orders/current/x.parquet')",
        "attach '/data/orders.duckdb' as o (read_only)",
    ],
)
def test_model_reading_another_domain_directly(sql: str) -> None:
    def change(m: Manifest) -> None:
        node(m, "model.analytics.stg_orders__orders")["raw_code"] = sql

    [found] = only("no_direct_reads_of_other_domains", evaluate([state("analytics", change)]))
    assert found.node == "model.analytics.stg_orders__orders"
    assert found.path == "models/staging/stg_orders__orders.sql"
    assert "stg_orders__orders reads another domain's data directly" in found.message


def test_refs_comments_and_column_qualifiers_are_not_direct_reads() -> None:
    sql = """
        -- was: select * from orders.main.orders_v2
        /* and before that "orders".main.orders_v1,
           from read_parquet('warehouse/published/orders/current/orders.parquet') */
        {# customers.main.customers_v1 #}
        with orders as (select * from {{ ref('orders', 'orders', v=2) }})
        select orders.order_id, orders.customer_id from orders
    """

    def change(m: Manifest) -> None:
        node(m, "model.analytics.stg_orders__orders")["raw_code"] = sql

    assert evaluate([state("analytics", change)]) == []


def test_a_domain_checked_alone_still_knows_the_other_domains(tmp_path: Path) -> None:
    mesh = Mesh(tmp_path)
    for name in MESH:
        add_domain(mesh, name)

    def change(m: Manifest) -> None:
        node(m, "model.customers.int_customers_latest")["raw_code"] = (
            "select * from fulfillment.main.shipments_v1"
        )

    alone = DomainState(
        "customers", mesh.domains_dir / "customers", state("customers", change).manifest
    )
    assert mesh_domains([alone]) == frozenset(MESH)
    [found] = only("no_direct_reads_of_other_domains", evaluate([alone]))
    assert "fulfillment.main.shipments_v1" in found.message
    # Without sibling projects, the upstream packages dbt-loom injected are known.
    assert mesh_domains([state("analytics")]) == frozenset(MESH)


# 10. old_versions_have_deprecation_date


def test_old_version_without_deprecation_date() -> None:
    def change(m: Manifest) -> None:
        node(m, "model.orders.orders.v1")["deprecation_date"] = None

    [found] = only("old_versions_have_deprecation_date", evaluate([state("orders", change)]))
    assert found == Violation(
        "old_versions_have_deprecation_date",
        "orders",
        "model.orders.orders.v1",
        "models/marts/orders.yml",
        "Model orders v1 is older than latest version 2 but has no deprecation_date.",
    )


# The runner


def test_violations_are_sorted_by_domain_rule_and_node() -> None:
    def break_orders(m: Manifest) -> None:
        for uid in ("model.orders.orders.v2", "model.orders.orders.v1"):
            node(m, uid)["contract"]["enforced"] = False
        node(m, "model.orders.orders.v1")["deprecation_date"] = None

    def break_customers(m: Manifest) -> None:
        node(m, "model.customers.customers.v1")["description"] = None

    found = evaluate([state("orders", break_orders), state("customers", break_customers)])
    keys = [(v.domain, v.rule, v.node) for v in found]
    assert keys == [
        ("customers", "public_model_is_documented", "model.customers.customers.v1"),
        ("orders", "old_versions_have_deprecation_date", "model.orders.orders.v1"),
        ("orders", "public_model_has_enforced_contract", "model.orders.orders.v1"),
        ("orders", "public_model_has_enforced_contract", "model.orders.orders.v2"),
    ]


def test_evaluate_runs_only_the_given_rules() -> None:
    def change(m: Manifest) -> None:
        node(m, "model.orders.orders.v1")["deprecation_date"] = None
        node(m, "model.orders.orders.v2")["contract"]["enforced"] = False

    rules = [rule for rule in RULES if rule.name == "old_versions_have_deprecation_date"]
    assert [v.rule for v in evaluate([state("orders", change)], rules)] == [rules[0].name]


def test_upstream_nodes_are_not_checked_as_the_domains_own() -> None:
    def change(m: Manifest) -> None:
        injected = node(m, "model.orders.orders.v1")
        injected["deprecation_date"] = None
        injected["description"] = ""
        assert injected["contract"]["enforced"] is False  # dbt-loom does not carry it

    assert evaluate([state("analytics", change)]) == []


def test_published_states_reads_each_published_manifest(tmp_path: Path) -> None:
    mesh = Mesh(tmp_path)
    for name in ("orders", "catalog"):
        add_domain(mesh, name)
    published = mesh.published_dir("orders")
    published.mkdir(parents=True)
    (published / "manifest.json").write_text(json.dumps(_fixture("orders")))

    [orders] = published_states(mesh)
    assert orders.name == "orders"
    assert orders.path == mesh.domains_dir / "orders"
    assert evaluate([orders]) == []


def test_messages_are_one_sentence() -> None:
    def change(m: Manifest) -> None:
        model = node(m, "model.orders.orders.v2")
        model["config"]["meta"] = model["meta"] = {}

    found = evaluate([state("orders", change)])
    assert len(found) == 4  # owner, domain, archetype, freshness
    for violation in found:
        assert re.fullmatch(r"[A-Z][^\n]*\.", violation.message), violation.message


# Waivers

TODAY = date(2026, 12, 1)
LINES = "model.orders.order_lines.v1"
DOCUMENTED = "public_model_is_documented"


def waive(model: str, **waiver: str) -> Callable[[Manifest], None]:
    """A change that adds a waiver to the model's `config.meta.waivers`."""

    def change(m: Manifest) -> None:
        node(m, model)["config"]["meta"].setdefault("waivers", []).append(waiver)

    return change


def test_a_waiver_hides_its_rules_violations_of_its_model_until_it_expires() -> None:
    def change(m: Manifest) -> None:
        for uid in (LINES, "model.orders.orders.v2"):
            node(m, uid)["description"] = ""
        waive(LINES, rule=DOCUMENTED, reason="Docs in 2027 (JIRA-123).", expires="2027-01-31")(m)

    orders = state("orders", change)
    [found] = evaluate([orders], today=TODAY)
    assert (found.rule, found.node) == (DOCUMENTED, "model.orders.orders.v2")
    assert evaluate([orders], today=date(2027, 1, 31)) == [found]  # the last day it holds
    assert waivers(orders, TODAY) == [
        Waiver(
            "orders",
            LINES,
            "order_lines v1",
            DOCUMENTED,
            "Docs in 2027 (JIRA-123).",
            "2027-01-31",
            "models/marts/orders.yml",
            active=True,
        )
    ]

    expired = evaluate([orders], today=date(2027, 2, 1))
    assert [(v.rule, v.node) for v in expired] == [
        (DOCUMENTED, LINES),
        (DOCUMENTED, "model.orders.orders.v2"),
        ("waivers_are_valid", LINES),
    ]
    assert expired[-1].message == (
        "Model order_lines v1 waives public_model_is_documented until 2027-01-31, which has passed."
    )
    assert not waivers(orders, date(2027, 2, 1))[0].active


@pytest.mark.parametrize(
    ("waiver", "problem"),
    [
        ({"rule": DOCUMENTED, "expires": "2027-01-31"}, "without a reason"),
        ({"rule": DOCUMENTED, "reason": "Soon."}, "without an expiry date"),
        ({"rule": DOCUMENTED, "reason": "Soon.", "expires": "spring"}, "without an expiry date"),
        ({"rule": "public_model_is_documentd", "reason": "Soon.", "expires": "2027-01-31"}, (
            "waives public_model_is_documentd, which is not a rule"
        )),
        ({"rule": "pii_not_exposed_in_public_models", "reason": "Soon.", "expires": "2027-01-31"},
         "waives pii_not_exposed_in_public_models, which cannot be waived"),
        ({"rule": DOCUMENTED, "reason": "Soon.", "expires": "2026-11-30"}, "which has passed"),
    ],
)  # fmt: skip
def test_an_invalid_waiver_is_a_finding(waiver: dict[str, str], problem: str) -> None:
    orders = state("orders", waive(LINES, **waiver))
    [found] = only("waivers_are_valid", evaluate([orders], today=TODAY))
    assert (found.node, found.path) == (LINES, "models/marts/orders.yml")
    assert found.message.startswith("Model order_lines v1 waives ")
    assert problem in found.message
    assert [w.active for w in waivers(orders, TODAY)] == [False]


def test_a_waiver_of_a_rule_that_protects_other_teams_hides_nothing() -> None:
    contract = "public_model_has_enforced_contract"

    def change(m: Manifest) -> None:
        node(m, "model.orders.orders.v2")["contract"]["enforced"] = False
        waive("model.orders.orders.v2", rule=contract, reason="Soon.", expires="2027-01-31")(m)

    found = evaluate([state("orders", change)], today=TODAY)
    assert [v.rule for v in found] == [contract, "waivers_are_valid"]
    assert found[1].message == (
        "Model orders v2 waives public_model_has_enforced_contract, which cannot be waived."
    )


def test_mesh_check_lists_every_waiver() -> None:
    def change(m: Manifest) -> None:
        waive(LINES, rule=DOCUMENTED, reason="Docs in 2027.", expires="2027-01-31")(m)
        waive("model.orders.orders.v2", rule="model_naming_and_layer", reason="Moving.")(m)

    orders = state("orders", change)
    found, listed = evaluate([orders], today=TODAY), waivers(orders, TODAY)
    report = CheckReport([DomainCheck("orders", violations=found, waivers=listed)], [])
    assert as_lines(report) == [
        "orders: FAILED",
        "  [waivers_are_valid] models/marts/orders.yml: Model orders v2 waives "
        "model_naming_and_layer without an expiry date (`expires: YYYY-MM-DD`). Fix: Fix "
        "what the waived rule flags and remove the waiver, or give it a reason and a date.",
        "  Waivers:",
        "    order_lines v1: public_model_is_documented (until 2027-01-31): Docs in 2027.",
        "    orders v2: model_naming_and_layer (until (no date), not in force): Moving.",
        "Checks failed.",
    ]
    data = json.loads(json.dumps(as_dict(report)))["domains"][0]["waivers"]
    assert [(w["model"], w["rule"], w["reason"], w["expires"], w["active"]) for w in data] == [
        ("order_lines v1", DOCUMENTED, "Docs in 2027.", "2027-01-31", True),
        ("orders v2", "model_naming_and_layer", "Moving.", "", False),
    ]

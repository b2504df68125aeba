"""Data products: the public model versions a domain's published manifest declares."""

from __future__ import annotations

import copy
from typing import Any

from mesh.discovery.manifest import parse
from mesh.discovery.products import list_products, products_of
from mesh.discovery.snapshots import view
from mesh.workspace import Mesh
from tests.unit.conftest import add_domain, publish_database


def model(package: str, name: str, **fields: Any) -> dict[str, Any]:
    version = fields.get("version")
    alias = name if version is None else f"{name}_v{version}"
    node: dict[str, Any] = {
        "resource_type": "model",
        "package_name": package,
        "name": name,
        "database": package,
        "schema": "main",
        "alias": alias,
        "access": "public",
        "group": package,
        "config": {"meta": {}},
        "columns": {},
    }
    node.update(fields)
    return node


MANIFEST: dict[str, Any] = {
    "nodes": {
        "model.orders.orders.v2": model(
            "orders",
            "orders",
            version=2,
            latest_version=2,
            description="  One row per order, latest status.\n",
            config={"meta": {"archetype": "source-aligned", "freshness": {"warn_after": "1d"}}},
            contract={"enforced": True},
            columns={
                "order_id": {"name": "order_id", "data_type": "integer", "description": " Key. "},
                "amount": {"name": "amount", "data_type": "decimal(18,2)"},
            },
        ),
        "model.orders.orders.v1": model(
            "orders",
            "orders",
            version=1,
            latest_version=2,
            description="Old shape.",
            config={"meta": {"owner": "legacy-team@shop.example"}},
            deprecation_date="2026-12-31T00:00:00+00:00",
            contract={"enforced": False},
            columns={"id": {"name": "id", "data_type": None, "description": "Order key."}},
        ),
        "model.orders.int_order_totals": model("orders", "int_order_totals", access="private"),
        "model.orders.orders_protected": model("orders", "orders_protected", access="protected"),
        "model.customers.customers.v1": model("customers", "customers", version=1),
        "test.orders.not_null_orders_order_id": {
            "resource_type": "test",
            "package_name": "orders",
            "name": "not_null_orders_order_id",
            "access": "public",
        },
    },
    "groups": {
        "group.orders.orders": {
            "name": "orders",
            "owner": {"name": "Checkout Team", "email": "checkout-team@shop.example"},
        },
    },
}


def test_one_product_per_public_version_of_this_domain() -> None:
    found = products_of("orders", parse(MANIFEST), published_at="2026-06-30T23:00:00+00:00")

    assert [(p.domain, p.name, p.version) for p in found] == [
        ("orders", "orders", "1"),
        ("orders", "orders", "2"),
    ]
    assert [p.relation for p in found] == ["orders.main.orders_v1", "orders.main.orders_v2"]
    assert {p.latest_version for p in found} == {"2"}
    assert {p.published_at for p in found} == {"2026-06-30T23:00:00+00:00"}


def test_owner_comes_from_meta_before_the_group() -> None:
    v1, v2 = products_of("orders", parse(MANIFEST), published_at=None)

    assert v1.owner == "legacy-team@shop.example"
    assert v2.owner == "checkout-team@shop.example"


def test_group_owner_without_email_is_named() -> None:
    manifest = copy.deepcopy(MANIFEST)
    manifest["groups"]["group.orders.orders"]["owner"] = {"name": "Checkout Team"}

    _, v2 = products_of("orders", parse(manifest), published_at=None)

    assert v2.owner == "Checkout Team"


def test_no_meta_owner_and_no_group_means_no_owner() -> None:
    manifest = {"nodes": {"model.orders.x": model("orders", "x", group=None)}}

    (product,) = products_of("orders", parse(manifest), published_at=None)

    assert product.owner is None
    assert product.version is None
    assert product.ref == "ref('orders', 'x')"


def test_deprecation_date_is_the_day_only() -> None:
    v1, v2 = products_of("orders", parse(MANIFEST), published_at=None)

    assert v1.deprecation_date == "2026-12-31"
    assert v2.deprecation_date is None


def test_columns_descriptions_and_governance_metadata() -> None:
    v1, v2 = products_of("orders", parse(MANIFEST), published_at=None)

    assert [(c.name, c.data_type, c.description) for c in v2.columns] == [
        ("order_id", "integer", "Key."),
        ("amount", "decimal(18,2)", ""),
    ]
    assert [(c.name, c.data_type, c.description) for c in v1.columns] == [
        ("id", None, "Order key.")
    ]
    assert v2.description == "One row per order, latest status."
    assert v2.archetype == "source-aligned"
    assert v2.freshness == {"warn_after": "1d"}
    assert v2.contract_enforced is True
    assert v1.contract_enforced is False
    assert v1.archetype is None


def test_ref_names_domain_model_and_version() -> None:
    v1, _ = products_of("orders", parse(MANIFEST), published_at=None)

    assert v1.ref == "ref('orders', 'orders', v=1)"


def test_another_package_sees_only_its_own_models() -> None:
    found = products_of("customers", parse(MANIFEST), published_at=None)

    assert [(p.name, p.version, p.relation) for p in found] == [
        ("customers", "1", "customers.main.customers_v1")
    ]


def test_list_products_reads_every_published_domain(fake_mesh: Mesh) -> None:
    add_domain(fake_mesh, "orders")
    add_domain(fake_mesh, "customers")  # never published: no products, no error
    publish_database(
        fake_mesh,
        "orders",
        "20260630T230000000000Z-abcdef",
        "create table orders_v2 as select 1 as order_id",
        manifest=MANIFEST,
        record={"published_at": "2026-06-30T23:00:00+00:00"},
    )

    found = list_products(view(fake_mesh, ["orders", "customers"]))

    assert [(p.domain, p.name, p.version) for p in found] == [
        ("orders", "orders", "1"),
        ("orders", "orders", "2"),
    ]
    assert {p.published_at for p in found} == {"2026-06-30T23:00:00+00:00"}
    assert {p.publish_id for p in found} == {"20260630T230000000000Z-abcdef"}
    assert len({p.snapshot_id for p in found} - {None}) == 1


def test_list_products_of_an_unpublished_mesh_is_empty(fake_mesh: Mesh) -> None:
    add_domain(fake_mesh, "orders")

    assert list_products(view(fake_mesh, ["orders"])) == []


def test_versions_are_listed_in_numeric_order() -> None:
    manifest = {
        "nodes": {
            f"model.orders.orders.v{v}": model("orders", "orders", version=v) for v in (2, 10, 1)
        }
    }

    found = products_of("orders", parse(manifest), published_at=None)

    assert [p.version for p in found] == ["1", "2", "10"]

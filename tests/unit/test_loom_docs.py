"""Upstream products in a consumer's manifest carry what their producer documented
(mesh.runner.loom_docs): the merge, which upstream nodes get it, the node dbt-loom's
injection yields, dbt finding the plugin with no flag, and a consumer's state comparison
that still leaves upstream contracts to their producers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dbt.contracts.graph.manifest
import dbt.parser.manifest
import dbt.tracking
import pytest
from dbt import plugins
from dbt.contracts.graph.node_args import ModelNodeArgs
from dbt.contracts.graph.nodes import ModelNode
from dbt.exceptions import ContractBreakingChangeError
from dbt.plugins.manager import PluginManager
from dbt_loom import dbtLoom

from mesh.runner import loom_docs
from mesh.runner.loom_docs import LoomDocs, LoomShapeError, documented, published_product

COLUMNS = {
    "order_id": {
        "name": "order_id",
        "description": "One order.",
        "data_type": "varchar",
        "constraints": [{"type": "not_null"}],
        "meta": {},
        "tags": [],
    },
    "order_total": {"name": "order_total", "description": "Gross.", "data_type": "decimal(18,2)"},
}


def product(**overrides: Any) -> dict[str, Any]:
    """A public product as its producer's manifest has it (the keys the merge reads)."""
    node = {
        "unique_id": "model.orders.orders.v2",
        "name": "orders",
        "package_name": "orders",
        "resource_type": "model",
        "schema": "main",
        "database": "orders",
        "relation_name": '"orders"."main"."orders_v2"',
        "version": 2,
        "latest_version": 2,
        "access": "public",
        "description": "One row per order placed at checkout.",
        "columns": COLUMNS,
        "contract": {"enforced": True, "alias_types": True, "checksum": "abc"},
        "constraints": [{"type": "primary_key", "columns": ["order_id"]}],
        "docs": {"show": True, "node_color": "green"},
        "meta": {"owner": "orders-team"},
        "tags": ["product"],
        "deprecation_date": None,
        "config": {
            "materialized": "table",
            "contract": {"enforced": True, "alias_types": True},
            "docs": {"show": True, "node_color": "green"},
            "meta": {"owner": "orders-team"},
            "tags": ["product"],
        },
    }
    return {**node, **overrides}


def test_documented_takes_the_producers_docs_and_keeps_the_injected_relation() -> None:
    injected = {
        "unique_id": "model.orders.orders.v2",
        "relation_name": '"orders"."main"."orders_v2"',
        "access": "public",
        "description": "",
        "columns": {},
        "contract": {"enforced": False, "alias_types": True, "checksum": None},
        "config": {"materialized": "view", "enabled": True, "contract": {"enforced": False}},
    }
    merged = documented(injected, product(relation_name="elsewhere", access="private"))
    assert merged["description"] == "One row per order placed at checkout."
    assert merged["columns"] == COLUMNS
    assert merged["columns"] is not COLUMNS  # a copy: dbt-loom's manifest stays as read
    assert merged["contract"] == {"enforced": True, "alias_types": True, "checksum": "abc"}
    assert merged["constraints"] == [{"type": "primary_key", "columns": ["order_id"]}]
    assert (merged["meta"], merged["tags"]) == ({"owner": "orders-team"}, ["product"])
    assert merged["config"]["contract"] == {"enforced": True, "alias_types": True}
    assert merged["config"]["docs"]["node_color"] == "green"
    # What dbt-loom decided stays: the relation the consumer reads, its access, and the
    # configuration that is not documentation.
    assert merged["relation_name"] == '"orders"."main"."orders_v2"'
    assert merged["access"] == "public"
    assert merged["config"]["materialized"] == "view"
    assert injected["columns"] == {}  # the input is not changed


def test_only_public_products_are_documented_and_the_producers_copy_wins() -> None:
    orders_copy = product(package_name="customers", description="customers' stale copy")
    manifests = {
        "analytics_upstream": {"nodes": {"model.orders.orders.v2": orders_copy}},
        "orders": {
            "nodes": {
                "model.orders.orders.v2": product(),
                "model.orders.stg_checkout__orders": product(access="private"),
                "model.orders.int_orders": product(access="protected"),
            }
        },
    }
    found = published_product(manifests, "model.orders.orders.v2", "orders")
    assert found is not None and found["description"].startswith("One row per order")
    assert published_product(manifests, "model.orders.stg_checkout__orders", "orders") is None
    assert published_product(manifests, "model.orders.int_orders", "orders") is None
    # A node only another upstream's manifest holds (transitive): that copy.
    only_copy = {"other": {"nodes": {"model.x.y": product(description="from other")}}}
    assert published_product(only_copy, "model.x.y", "x")["description"] == "from other"  # type: ignore[index]


def test_a_node_no_loaded_manifest_holds_is_a_shape_error() -> None:
    with pytest.raises(LoomShapeError, match=r"model\.orders\.gone.*dbt-loom 0\.9\.6"):
        published_product({"orders": {"nodes": {}}}, "model.orders.gone", "orders")


def test_another_dbt_loom_version_stops_dbt_with_one_line() -> None:
    loom_docs.check_dbt_loom()  # the installed, pinned one
    with pytest.raises(LoomShapeError, match=r"written for dbt-loom 0\.9\.6, not 0\.10\.0"):
        loom_docs.check_dbt_loom("0.10.0")


def test_dbt_finds_the_plugin_without_flags() -> None:
    modules = PluginManager.get_prefixed_modules()
    assert LoomDocs in modules["dbt_mesh"].plugins


@pytest.fixture
def loom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dbtLoom:
    """A real dbt-loom plugin that read one small upstream manifest; the dbt functions it
    wraps are put back afterwards."""
    nodes = {
        "model.orders.orders.v2": product(),
        "model.orders.stg_checkout__orders": {
            **product(access="private", name="stg_checkout__orders", version=None),
            "unique_id": "model.orders.stg_checkout__orders",
            "relation_name": '"orders__private"."main"."stg_checkout__orders"',
        },
    }
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"metadata": {"project_name": "orders"}, "nodes": nodes}))
    config = tmp_path / "dbt_loom.config.yml"
    config.write_text(
        f"manifests:\n  - name: orders\n    type: file\n    config:\n      path: {manifest}\n"
    )
    for owner, name in [
        (dbt.contracts.graph.manifest.Manifest, "is_invalid_protected_ref"),
        (dbt.contracts.graph.manifest.Manifest, "is_invalid_private_ref"),
        (dbt.parser.manifest.ManifestLoader, "check_valid_group_config_node"),
        (ModelNode, "from_args"),
        (dbt.tracking, "track"),
    ]:
        monkeypatch.setattr(owner, name, getattr(owner, name))
    monkeypatch.setenv("DBT_LOOM_CONFIG", str(config))
    plugin = dbtLoom(project_name="analytics")
    monkeypatch.setattr(plugins, "PLUGIN_MANAGER", PluginManager([plugin]))
    return plugin


def test_the_injected_product_node_carries_its_published_docs(loom: dbtLoom) -> None:
    from_args = loom_docs._documenting(ModelNode.from_args)
    node = from_args(loom.models["model.orders.orders.v2"])
    assert node.description == "One row per order placed at checkout."
    assert {name: c.data_type for name, c in node.columns.items()} == {
        "order_id": "varchar",
        "order_total": "decimal(18,2)",
    }
    assert node.columns["order_id"].constraints[0].type == "not_null"
    assert node.contract.enforced and node.config.contract.enforced
    assert node.relation_name == '"orders"."main"."orders_v2"'
    assert node.is_external_node  # still dbt-loom's node, not a model of the consumer
    private = from_args(loom.models["model.orders.stg_checkout__orders"])
    assert private.description == "" and not private.columns and not private.contract.enforced


def contracted(columns: dict[str, Any], path: str = "") -> ModelNode:
    """A contracted model node: injected by dbt-loom when it has no path."""
    bare = ModelNode.from_args(
        ModelNodeArgs(
            name="orders",
            package_name="orders",
            identifier="orders_v2",
            schema="main",
            version="2",
            latest_version="2",
            access="public",
        )
    )
    contract = {"enforced": True, "alias_types": True, "checksum": ",".join(columns)}
    node = documented(bare.to_dict(), product(columns=columns, contract=contract))
    return ModelNode.from_dict({**node, "path": path, "original_file_path": path})


def test_a_consumer_does_not_judge_its_upstreams_contracts() -> None:
    """An upstream's contract change is the producer's breaking change (its publish gate),
    never the consumer's: dbt's state comparison passes injected nodes, as it did when
    dbt-loom gave them no contract."""
    loom_docs.install()
    before = contracted(COLUMNS)
    after = contracted({"order_id": COLUMNS["order_id"]})  # order_total removed
    assert after.same_contract(before, "duckdb")
    assert before.same_contract_removed()
    # The producer's own model is still judged: deleting a contracted version breaks.
    own = contracted(COLUMNS, path="models/marts/orders_v2.sql")
    with pytest.raises(ContractBreakingChangeError, match=r"orders\.orders\.v2"):
        own.same_contract_removed()


def test_an_upstream_not_yet_published_is_one_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain dbt in a consumer before its upstream is published: dbt-loom raises a
    BaseException (a traceback); dbt_mesh makes it a DbtRuntimeError that says what to do."""
    from dbt_common.exceptions import DbtRuntimeError

    import dbt_mesh  # noqa: F401  (what dbt imports: it installs the explanation)

    config = tmp_path / "dbt_loom.config.yml"
    missing = tmp_path / "published/orders/current/manifest.json"
    config.write_text(
        f"manifests:\n  - name: orders\n    type: file\n    config:\n      path: {missing}\n"
    )
    monkeypatch.setenv("DBT_LOOM_CONFIG", str(config))
    with pytest.raises(DbtRuntimeError, match=r"does not exist\. .*run `mesh build"):
        dbtLoom(project_name="fulfillment")

"""A consumer's manifest (and so its `dbt docs`) shows each upstream product it reads as the
producer documented it: description, columns with their types and descriptions, contract
(mesh.runner.loom_docs). Read-only on the session's built mesh."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Run

pytestmark = pytest.mark.integration


def _manifest(folder: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((folder / "manifest.json").read_text())
    return manifest


def _documented(node: dict[str, Any]) -> dict[str, Any]:
    """What a reader of the docs sees of a product."""
    return {
        "description": node["description"],
        "columns": {
            name: (column["data_type"], column["description"])
            for name, column in node["columns"].items()
        },
        "contract_enforced": node["contract"]["enforced"],
        "deprecation_date": node["deprecation_date"],
    }


@pytest.mark.parametrize("consumer", ["analytics", "fulfillment"])
def test_upstream_products_read_by_a_consumer_carry_the_producers_docs(
    built_mesh: tuple[Path, Run], consumer: str
) -> None:
    published = built_mesh[0] / "warehouse" / "published"
    manifest = _manifest(published / consumer / "current")
    record = json.loads((published / consumer / "current" / "publish.json").read_text())
    nodes = manifest["nodes"]
    read = {
        parent
        for node in nodes.values()
        if node["package_name"] == consumer
        for parent in node["depends_on"]["nodes"]
        if parent in nodes and nodes[parent]["package_name"] != consumer
    }
    assert read, f"{consumer} reads no upstream product"
    for unique_id in sorted(read):
        producer = nodes[unique_id]["package_name"]
        # The producer's publish this consumer was built from.
        source = _manifest(published / producer / record["upstreams"][producer])
        expected = _documented(source["nodes"][unique_id])
        assert expected["columns"] and expected["contract_enforced"], unique_id
        assert _documented(nodes[unique_id]) == expected, unique_id


def test_private_upstream_nodes_stay_bare(built_mesh: tuple[Path, Run]) -> None:
    """The producer's internals are not the consumer's to document (nor to see PII tags of)."""
    manifest = _manifest(built_mesh[0] / "warehouse" / "published" / "analytics" / "current")
    private = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["package_name"] != "analytics"
        and node["access"] != "public"
    ]
    assert private
    assert all(not node["columns"] and not node["description"] for node in private)

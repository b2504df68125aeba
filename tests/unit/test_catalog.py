"""The catalog site, built from a small fake published mesh: pages, files, escaping, SVG."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mesh import catalog
from mesh.catalog.collect import freshness, pii_flag
from mesh.catalog.layout import Box, DomainNode, depths, layout_lineage
from mesh.catalog.svg import lineage_svg
from mesh.discovery import snapshots
from mesh.errors import MeshError
from mesh.workspace import Mesh
from tests.unit.conftest import add_domain, publish_database

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


def model(package: str, name: str, **fields: Any) -> dict[str, Any]:
    version = fields.get("version")
    node: dict[str, Any] = {
        "resource_type": "model",
        "package_name": package,
        "name": name,
        "database": package,
        "schema": "main",
        "alias": name if version is None else f"{name}_v{version}",
        "access": "private",
        "config": {"meta": {}},
        "columns": {},
        "depends_on": {"nodes": []},
    }
    node.update(fields)
    return node


def column(name: str, description: str = "", **fields: Any) -> dict[str, Any]:
    return {"name": name, "data_type": "varchar", "description": description, **fields}


SHOP_META = {
    "owner": "shop-team@example.com",
    "archetype": "source-aligned",
    "freshness": {"expected_update": "hourly", "max_age_hours": 6},
}

SHOP: dict[str, Any] = {
    "nodes": {
        "model.shop.stg_crm__people": model(
            "shop",
            "stg_crm__people",
            columns={"email": column("email", tags=["pii"]), "name": column("name")},
        ),
        "model.shop.items.v1": model(
            "shop",
            "items",
            access="public",
            version=1,
            latest_version=2,
            deprecation_date="2026-06-30T00:00:00+00:00",
            description="Old items.",
            config={"meta": SHOP_META},
            contract={"enforced": True},
            columns={"item_id": column("item_id", "Key."), "email": column("email", "Raw.")},
            depends_on={"nodes": ["model.shop.stg_crm__people"]},
        ),
        "model.shop.items.v2": model(
            "shop",
            "items",
            access="public",
            version=2,
            latest_version=2,
            description="Items <script>alert('x')</script> & more.",
            config={"meta": SHOP_META},
            contract={"enforced": True},
            columns={
                "item_id": column("item_id", "Key."),
                "email_hash": column("email_hash", "Hash of the email."),
            },
            depends_on={"nodes": ["model.shop.stg_crm__people"]},
        ),
        "test.shop.unique_items_v2_item_id.1": {
            "resource_type": "test",
            "package_name": "shop",
            "name": "unique_items_v2_item_id",
            "unique_id": "test.shop.unique_items_v2_item_id.1",
            "attached_node": "model.shop.items.v2",
            "column_name": "item_id",
            "test_metadata": {"name": "unique", "namespace": None},
            "depends_on": {"nodes": ["model.shop.items.v2"]},
        },
    },
    "unit_tests": {
        "unit_test.shop.items.keeps_one_row": {
            "name": "keeps_one_row",
            "unique_id": "unit_test.shop.items.keeps_one_row",
            "depends_on": {"nodes": ["model.shop.items.v2"]},
        }
    },
    "child_map": {},
    "groups": {},
}

REPORTS: dict[str, Any] = {
    "nodes": {
        "model.shop.items.v2": SHOP["nodes"]["model.shop.items.v2"],
        "model.reports.stg_shop__items": model(
            "reports", "stg_shop__items", depends_on={"nodes": ["model.shop.items.v2"]}
        ),
        "model.reports.summary.v1": model(
            "reports",
            "summary",
            access="public",
            version=1,
            latest_version=1,
            description="Items per day.",
            config={"meta": {"owner": "reports@example.com", "archetype": "consumer-aligned"}},
            columns={"day": column("day", "The day.")},
            depends_on={"nodes": ["model.reports.stg_shop__items"]},
        ),
    },
    "child_map": {"model.reports.stg_shop__items": ["model.reports.summary.v1"]},
    "groups": {},
}


def record(domain: str, published_at: str, products: list[tuple[str, str, int]]) -> dict[str, Any]:
    return {
        "domain": domain,
        "publish_id": f"{domain}-1",
        "published_at": published_at,
        "git_commit": "0123456789abcdef",
        "upstreams": {},
        "dbt_results": {"model": 3, "test": 1, "unit_test": 1},
        "products": [
            {"name": name, "version": version, "relation": "x", "rows": rows, "checksum": "ab"}
            for name, version, rows in products
        ],
    }


@pytest.fixture
def shop_mesh(fake_mesh: Mesh) -> Mesh:
    """Two published domains: shop (items v1 deprecated, v2 with its output port files) and
    reports, which reads items v2 into its product summary v1."""
    add_domain(fake_mesh, "shop")
    add_domain(fake_mesh, "reports", upstreams=["shop"])
    folder = publish_database(
        fake_mesh,
        "shop",
        "shop-1",
        "create table t as select 1 as x",
        manifest=SHOP,
        record=record("shop", "2026-07-01T10:00:00+00:00", [("items", "1", 5), ("items", "2", 7)]),
    )
    (folder / "run_results.json").write_text(
        json.dumps(
            {
                "results": [
                    {"unique_id": "test.shop.unique_items_v2_item_id.1", "status": "pass"},
                    {"unique_id": "unit_test.shop.items.keeps_one_row", "status": "pass"},
                    {"unique_id": "model.shop.items.v2", "status": "success"},
                ]
            }
        )
    )
    port = folder / "products" / "items" / "v2"
    port.mkdir(parents=True)
    (port / "contract.odcs.yaml").write_text("apiVersion: v3.0.2\nkind: DataContract\n")
    (port / "items_v2.parquet").write_bytes(b"PAR1 fake PAR1")
    (port / "product.odps.yaml").write_text(
        "apiVersion: v1.1.0\nkind: DataProduct\nid: shop.items.v2\ninputPorts: []\n"
    )
    publish_database(
        fake_mesh,
        "reports",
        "reports-1",
        "create table t as select 1 as x",
        manifest=REPORTS,
        record=record("reports", "2026-06-01T10:00:00+00:00", [("summary", "1", 3)]),
    )
    return fake_mesh


def test_the_site_has_an_index_a_page_per_product_the_lineage_and_the_files(
    shop_mesh: Mesh,
) -> None:
    index = catalog.build_catalog(shop_mesh, now=NOW)

    site = shop_mesh.warehouse / "catalog"
    assert index == site / "index.html"
    assert (site / "products" / "shop.items.html").is_file()
    assert (site / "products" / "reports.summary.html").is_file()
    assert (site / "lineage.svg").is_file()
    assert (site / "assets" / "catalog.css").is_file()
    assert (site / "assets" / "catalog.js").is_file()
    assert (site / "files" / "shop.items.v2.odcs.yaml").read_text().startswith("apiVersion")
    assert (site / "files" / "shop.items.v2.parquet").read_bytes() == b"PAR1 fake PAR1"
    assert not (site / "files" / "shop.items.v1.odcs.yaml").exists()
    assert not list(shop_mesh.warehouse.glob(".catalog.*")), "temporary folders are left"
    snapshot = snapshots.current(shop_mesh)
    assert snapshot is not None
    assert f"Shows the mesh snapshot {snapshot.snapshot_id}" in index.read_text()


def test_the_catalog_shows_the_snapshot_not_each_domains_newest_publish(shop_mesh: Mesh) -> None:
    shown = snapshots.current(shop_mesh)
    newer = shop_mesh.published / "shop" / "shop-2"
    shutil.copytree(shop_mesh.published / "shop" / "shop-1", newer)
    (newer / "publish.json").write_text(
        (newer / "publish.json").read_text().replace("2026-07-01T10:00", "2026-07-09T10:00")
    )
    shop_mesh.published_dir("shop").unlink()
    shop_mesh.published_dir("shop").symlink_to("shop-2")  # published, not in a snapshot yet

    index = catalog.build_catalog(shop_mesh, now=NOW)

    assert shown is not None and shown.snapshot_id in index.read_text()
    page = (index.parent / "products" / "shop.items.html").read_text()
    assert "2026-07-01" in page and "2026-07-09" not in page


def test_a_product_page_shows_versions_schema_pii_contract_tests_and_consumers(
    shop_mesh: Mesh,
) -> None:
    catalog.build_catalog(shop_mesh, now=NOW)
    page = (shop_mesh.warehouse / "catalog" / "products" / "shop.items.html").read_text()

    assert "shop-team@example.com" in page
    assert "source-aligned" in page
    # v2 first (latest), v1 deprecated with its date
    assert page.index('id="v2"') < page.index('id="v1"')
    assert "2026-06-30" in page
    assert re.search(r'class="badge latest">latest<', page)
    assert re.search(r'class="badge deprecated">deprecated<', page)
    # PII: email is tagged pii in the domain's staging model; email_hash is a hash of PII
    assert re.search(r"<code>email</code>.*?PII</span>", page, re.DOTALL)
    assert re.search(r"<code>email_hash</code>.*?hashed PII</span>", page, re.DOTALL)
    # the contract of v2 is copied and linked; v1 has none
    assert 'href="../files/shop.items.v2.odcs.yaml"' in page
    assert 'href="../files/shop.items.v2.parquet"' in page
    assert page.count("no contract published") == 1
    # last publish: tests from dbt_results and run_results, rows, freshness
    assert "1 data test and 1 unit test passed" in page
    assert "2 of 2 passed" in page
    assert "7" in page and "within the expectation" in page
    # consumers of v2: the reports domain's model, and the product it feeds
    assert "stg_shop__items" in page
    assert 'href="../products/reports.summary.html#v1"' in page


def test_text_from_manifests_is_escaped(shop_mesh: Mesh) -> None:
    catalog.build_catalog(shop_mesh, now=NOW)
    site = shop_mesh.warehouse / "catalog"
    for page in (site / "index.html", site / "products" / "shop.items.html"):
        text = page.read_text()
        assert "<script>alert" not in text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more." in text


def test_the_index_carries_what_the_search_and_filters_read(shop_mesh: Mesh) -> None:
    catalog.build_catalog(shop_mesh, now=NOW)
    index = (shop_mesh.warehouse / "catalog" / "index.html").read_text()

    card = re.search(r'<article class="product-card" data-product="shop.items"[^>]*>', index)
    assert card is not None
    assert 'data-domain="shop"' in card.group(0)
    assert 'data-archetype="source-aligned"' in card.group(0)
    assert 'data-deprecated="false"' in card.group(0)
    search = re.search(r'data-search="([^"]*)"', card.group(0))
    assert search is not None
    for word in ("items", "shop", "shop-team@example.com", "email_hash", "item_id", "old items."):
        assert word in search.group(1)
    assert 'src="lineage.svg"' in index
    assert 'src="assets/catalog.js"' in index
    assert "http://" not in index.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in index


def test_freshness_is_judged_against_the_expectation() -> None:
    meta = {"expected_update": "hourly", "max_age_hours": 6}
    assert freshness(meta, "2026-07-01T10:00:00+00:00", NOW).status == "within"
    late = freshness(meta, "2026-07-01T04:00:00+00:00", NOW)
    assert (late.status, late.age_hours) == ("overdue", 8.0)
    assert freshness(None, "2026-07-01T10:00:00+00:00", NOW).status == "unknown"
    assert freshness(meta, None, NOW).status == "unknown"


def test_the_pii_flag_names_tagged_columns_and_hashes() -> None:
    assert pii_flag("Email", {"email"}) == "PII"
    assert pii_flag("email_hash", {"email"}) == "hashed PII"
    assert pii_flag("city", {"email"}) is None


def test_building_again_replaces_the_catalog(shop_mesh: Mesh) -> None:
    catalog.build_catalog(shop_mesh, now=NOW)
    stale = shop_mesh.warehouse / "catalog" / "products" / "gone.html"
    stale.write_text("old")

    catalog.build_catalog(shop_mesh, now=NOW)

    assert not stale.exists()
    assert (shop_mesh.warehouse / "catalog" / "index.html").is_file()
    assert sorted(p.name for p in shop_mesh.warehouse.iterdir()) == [
        "catalog",
        "published",
        "snapshots",
    ]


def test_a_folder_that_is_not_a_catalog_is_never_replaced(shop_mesh: Mesh, tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")

    with pytest.raises(MeshError, match="not a catalog"):
        catalog.build_catalog(shop_mesh, precious, now=NOW)

    assert (precious / "notes.txt").read_text() == "keep me"
    assert catalog.build_catalog(shop_mesh, tmp_path / "site", now=NOW).is_file()


def test_an_unpublished_mesh_gives_an_empty_catalog(fake_mesh: Mesh) -> None:
    add_domain(fake_mesh, "shop")
    index = catalog.build_catalog(fake_mesh, now=NOW)
    text = index.read_text()
    assert "Nothing is published yet" in text
    assert "shop" in (index.parent / "lineage.svg").read_text()


# The lineage diagram --------------------------------------------------------------------------


def node(name: str) -> DomainNode:
    return DomainNode(name, "1 product", "source-aligned", True)


CHAIN_EDGES = {
    ("a", "b"): ["one v1"],
    ("b", "c"): ["two v2"],
    ("a", "c"): ["one v1", "three v1"],
    ("x", "c"): ["four v1"],
}


def overlaps(one: Box, two: Box) -> bool:
    return not (
        one.right <= two.x
        or two.right <= one.x
        or one.y + one.height <= two.y
        or two.y + two.height <= one.y
    )


def test_domains_are_laid_out_in_columns_by_build_depth() -> None:
    layout = layout_lineage([node("a"), node("b"), node("c"), node("x")], CHAIN_EDGES, {"b": ["a"]})

    assert layout.columns == {"a": 0, "x": 0, "b": 1, "c": 2}
    boxes = layout.boxes
    assert boxes["a"].x == boxes["x"].x < boxes["b"].x < boxes["c"].x
    everything = [*boxes.values(), *(box for box, _ in layout.labels)]
    for n, one in enumerate(everything):
        for two in everything[n + 1 :]:
            assert not overlaps(one, two), (one, two)
    assert all(box.x >= 0 and box.right <= layout.width for box in everything)
    assert all(box.y >= 0 and box.y + box.height <= layout.height for box in everything)
    # one label per producer-consumer pair, each just right of its producer's column
    assert sorted(lines for _, lines in layout.labels) == [
        ("four v1",),
        ("one v1",),
        ("one v1", "three v1"),
        ("two v2",),
    ]
    assert len(layout.paths) == 4


def test_a_declared_upstream_sets_the_depth_even_without_a_published_edge() -> None:
    layout = layout_lineage([node("a"), node("b")], {}, {"b": ["a"]})
    assert layout.columns == {"a": 0, "b": 1}
    assert layout.paths == []


def test_a_cycle_does_not_loop_forever() -> None:
    assert depths(["a", "b"], {"a": ["b"], "b": ["a"]}) in (
        {"a": 1, "b": 0},
        {"a": 0, "b": 1},
    )


def test_the_svg_is_well_formed_and_names_domains_and_product_versions() -> None:
    svg = lineage_svg(
        [node("a"), node("b"), node("c"), node("x <&>")],
        {**CHAIN_EDGES, ("x <&>", "c"): ["four v1"]},
        {},
    )

    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert float(root.attrib["width"]) > 0 and float(root.attrib["height"]) > 0
    texts = {"".join(element.itertext()) for element in root.iter(f"{SVG}text")}
    assert {"a", "b", "c", "x <&>", "one v1", "three v1", "two v2", "four v1"} <= texts
    assert "<script" not in svg and "href" not in svg


def test_an_empty_mesh_still_gets_an_image() -> None:
    root = ET.fromstring(lineage_svg([], {}, {}))
    assert float(root.attrib["width"]) > 0

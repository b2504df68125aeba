"""Data as a product, for real: a publish holds only products, and readers see one
consistent mesh (a snapshot) while domains republish, when a consumer is refused, after a
rollback and at an earlier time."""

from __future__ import annotations

import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

import mesh as mesh_api
from mesh.discovery import manifest, snapshots
from mesh.discovery.registry import current_publish_id
from mesh.workspace import Mesh
from tests.integration.conftest import MESH_BIN, mesh

pytestmark = pytest.mark.integration

# Holds in any consistent mesh: analytics counts the items of the orders it read.
ITEMS = """
    select
        (select sum(items_sold) from analytics.main.sales_by_region_and_category_v1),
        (select sum(l.quantity) from orders.main.order_lines_v1 as l
         inner join orders.main.orders_v2 as o using (order_id)
         where o.order_status <> 'cancelled')
"""
READS = 300


def _items(root: Path, **how: object) -> tuple[int, int]:
    with mesh_api.connect(root, **how) as con:  # type: ignore[arg-type]
        row = con.sql(ITEMS).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_a_publish_holds_the_products_and_nothing_else(built_mesh: tuple[Path, object]) -> None:
    root = built_mesh[0]
    for domain in ("customers", "catalog", "orders", "fulfillment", "analytics"):
        folder = Mesh(root).published_dir(domain).resolve()
        products = {
            node.relation_name
            for node in manifest.load(folder / "manifest.json").public_models(domain)
            if node.contract_enforced
        }
        with duckdb.connect(str(folder / f"{domain}.duckdb"), read_only=True) as con:
            tables = {r[0] for r in con.sql("select table_name from duckdb_tables()").fetchall()}
            views = con.sql("select view_name from duckdb_views() where not internal")
            assert views.fetchall() == []
        assert tables == products, domain
        private = root / "warehouse/private" / domain / folder.name / f"{domain}__private.duckdb"
        with duckdb.connect(str(private), read_only=True) as con:
            internals = {
                row[0]
                for row in con.sql(
                    "select table_name from duckdb_tables() "
                    "union all select view_name from duckdb_views() where not internal"
                ).fetchall()
            }
        assert internals and not internals & products, f"{domain}'s private store"

    refused = mesh(root, "query", "select * from orders.main.int_orders_latest", check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.output
    assert "orders.main.int_orders_latest is not a published product" in refused.stderr
    assert "orders.main.orders_v2" in refused.stderr  # what it can read instead
    listed = mesh(root, "query", "select table_name from duckdb_tables()", "-f", "csv")
    assert "int_orders_latest" not in listed.stdout and "stg_" not in listed.stdout


def test_readers_see_one_consistent_mesh_while_new_exports_are_published(
    mesh_copy: Path,
) -> None:
    root = mesh_copy
    before = snapshots.current(Mesh(root))
    assert before is not None
    old = _items(root)
    assert old[0] == old[1]
    earlier = datetime.now(UTC).isoformat()
    time.sleep(1.1)  # snapshots are stamped to the second
    mesh(root, "generate", "--append-days", "1")

    reads, mixed, failures, latest_mixed = 0, [], [], 0
    done = threading.Event()

    def latest_reader() -> None:  # the control: per-domain newest publishes do mix
        nonlocal latest_mixed
        while not done.is_set():
            try:
                analytics, orders = _items(root, latest=True)
            except Exception:  # a publish moving under it; not what this reader counts
                continue
            latest_mixed += analytics != orders

    control = threading.Thread(target=latest_reader)
    control.start()
    build = subprocess.Popen(
        [str(MESH_BIN), "build", "--quiet"], cwd=root, stdout=subprocess.PIPE, text=True
    )
    try:
        while build.poll() is None or reads < READS:
            try:
                analytics, orders = _items(root)
            except Exception as error:
                failures.append(f"{type(error).__name__}: {error}")
            else:
                if analytics != orders:
                    mixed.append((analytics, orders))
            reads += 1
    finally:
        done.set()
        control.join()
        output = build.communicate()[0]
    assert build.returncode == 0, output

    assert (reads, failures, mixed) == (reads, [], [])
    assert reads >= READS
    after = snapshots.current(Mesh(root))
    assert after is not None and after.snapshot_id != before.snapshot_id
    # The new publishes are what readers see now, and they add up.
    assert after.publishes == {
        name: current_publish_id(Mesh(root), name) for name in after.publishes
    }
    for name in ("orders", "fulfillment", "analytics"):
        assert after.publishes[name] != before.publishes[name]
    new = _items(root)
    assert new[0] == new[1] > old[0]
    # Reading each domain's newest publish as it moves mixes them: what the snapshot prevents.
    assert latest_mixed > 0

    # An earlier time reads the snapshot current then.
    assert _items(root, at=earlier) == old
    shown = mesh(root, "query", ITEMS, "--at", earlier, "-f", "csv")
    assert shown.stdout.splitlines()[1] == f"{old[0]},{old[1]}"

    # A rollback of orders commits a snapshot in which its consumers go back with it.
    rolled = mesh(root, "rollback", "orders")
    assert f"orders rolled back to {before.publishes['orders']}" in rolled.stdout
    assert "fulfillment is behind its newest publish" in rolled.stdout
    back = snapshots.current(Mesh(root))
    assert back is not None and back.cause == "rollback of orders"
    assert {n: back.publishes[n] for n in ("orders", "fulfillment", "analytics")} == {
        n: before.publishes[n] for n in ("orders", "fulfillment", "analytics")
    }
    assert _items(root) == old


def test_a_refused_consumer_holds_its_upstream_back_and_says_why(mesh_copy: Path) -> None:
    root = mesh_copy
    before = snapshots.current(Mesh(root))
    assert before is not None
    old = _items(root)
    mesh(root, "generate", "--append-days", "1")
    model = root / "domains/fulfillment/models/marts/shipments_v1.sql"
    model.write_text(model.read_text() + "\n-- broken on purpose\nselect from nowhere\n")

    built = mesh(root, "build", "--quiet", check=False)

    assert built.returncode == 1
    assert "fulfillment" in built.stderr
    orders_head = current_publish_id(Mesh(root), "orders")
    assert orders_head != before.publishes["orders"]  # orders itself published
    after = snapshots.current(Mesh(root))
    assert after is not None
    assert after.publishes["orders"] == before.publishes["orders"]  # but readers keep the old
    assert "analytics and fulfillment have no publish built from" in after.behind["orders"]
    assert "orders is behind its newest publish" in built.stdout
    assert _items(root) == old  # a consistent mesh, still
    listed = mesh(root, "products")
    assert after.snapshot_id in listed.stdout and "orders is behind" in listed.stdout
    latest = mesh(root, "query", "select 1", "--latest")
    assert "--latest mixes publishes" in latest.stderr and "fulfillment" in latest.stderr

"""Damaged published files, on a copy of the built mesh: builds refuse them naming the file
and the fix, `mesh verify` finds them by sha256 (also a change with its mtime put back), `mesh
query` still reads every other domain, and `mesh repair` makes a new, verified publish."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.damage import overwrite
from tests.integration.conftest import mesh

pytestmark = pytest.mark.integration


def _current(root: Path, domain: str) -> Path:
    return (root / "warehouse/published" / domain / "current").resolve()


def _one_line_error(run_output: str) -> str:
    assert "Traceback" not in run_output
    [line] = [line for line in run_output.splitlines() if line.startswith("error:")]
    return line


def test_damaged_publishes_are_caught_by_builds_and_verify_and_repaired(mesh_copy: Path) -> None:
    root = mesh_copy
    customers_publish, orders_publish = _current(root, "customers"), _current(root, "orders")
    database = customers_publish / "customers.duckdb"
    [parquet] = sorted((orders_publish / "products/orders").rglob("orders_v2.parquet"))
    # customers: a zeroed header with its mtime put back (no stat sees it); orders: flipped
    # bytes in the middle of an output port, its mtime changed (stat sees it).
    overwrite(database, 0, b"\0" * 4096, keep_mtime=True)
    overwrite(parquet, parquet.stat().st_size // 2, b"\xde\xad\xbe\xef", keep_mtime=False)

    verify = mesh(root, "verify", check=False)
    assert verify.returncode == 1
    damaged = [line for line in verify.stderr.splitlines() if line.startswith("damaged:")]
    assert damaged == [
        f"damaged: customers publish {customers_publish.name}: {database}: content (sha256) "
        "differs, though size and modification time match",
        f"damaged: orders publish {orders_publish.name}: {parquet}: content (sha256) differs; "
        "modified after it was published",
    ]

    # Reads of the other domains go on, with a warning naming the damaged one.
    read = mesh(root, "query", "select count(*) as n from orders.main.orders_v2", "-f", "json")
    assert read.json()[0]["n"] > 0
    assert (
        "customers's published database" in read.stderr and "mesh repair customers" in read.stderr
    )
    refused = mesh(root, "query", "select * from customers.main.customers_v1", check=False)
    assert refused.returncode == 1
    assert "customers's published database" in _one_line_error(refused.output)

    # The next build finds both: orders' own publish by stat before calling it unchanged,
    # customers' header (stat put back) when its consumer cannot open it.
    orders = mesh(root, "build", "orders", "--only", check=False)
    assert orders.returncode == 1
    assert f"orders's current publish {orders_publish.name}, which changed" in orders.output
    assert "parquet: content (sha256) differs" in orders.output
    analytics = mesh(root, "build", "analytics", "--only", check=False)
    assert analytics.returncode == 1
    assert f"analytics reads customers's publish {customers_publish.name}" in analytics.output
    assert "`mesh repair customers`" in analytics.output

    # Repair: a new publish of each, verified; consumers rebuilt onto it.
    repaired = mesh(root, "repair", "orders", "--quiet", check=False)
    assert "orders repaired: rebuilt from its code and landing data into publish" in (
        repaired.stdout
    )
    assert f"it replaces publish {orders_publish.name} (1 damaged file(s)" in repaired.stdout
    assert repaired.returncode == 1  # analytics still reads the damaged customers
    assert "its consumers analytics did not publish" in repaired.stderr
    assert "fulfillment" not in repaired.stderr
    mesh(root, "repair", "customers", "--quiet")

    assert _current(root, "orders") != orders_publish
    assert mesh(root, "verify", "--current").returncode == 0
    assert mesh(root, "verify", check=False).returncode == 1  # the damaged ones stay in history
    clean = mesh(root, "query", "select count(*) as n from customers.main.customers_v1", "-f",
                 "json")  # fmt: skip
    assert clean.json()[0]["n"] > 0 and "warning" not in clean.stderr
    record = json.loads((_current(root, "customers") / "publish.json").read_text())
    assert any(f["path"] == "customers.duckdb" for f in record["files"])


def test_a_full_build_compares_with_no_damaged_publish(mesh_copy: Path) -> None:
    # --full hashes the current publish before the build; damage no stat sees makes it no
    # baseline for the gate's comparisons, and the build still publishes.
    root = mesh_copy
    before = _current(root, "catalog")
    overwrite(before / "catalog.duckdb", 0, b"\0" * 4096, keep_mtime=True)
    built = mesh(root, "build", "catalog", "--only", "--full")
    assert (
        f"its current publish {before.name} is damaged ({before / 'catalog.duckdb'}: content "
        "(sha256) differs, though size and modification time match): rebuilt from its code "
        "and landing data, compared with no earlier publish"
    ) in " ".join(built.output.split())
    assert _current(root, "catalog") != before

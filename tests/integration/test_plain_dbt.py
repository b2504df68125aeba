"""Plain dbt in a domain folder, as a dbt user runs it: no variables, no flags.

After the mesh is built, `cd domains/<name> && dbt build` works on the development target
(profiles.yml `dev`): the folder's own databases in target/, its landing data, its
upstreams' current publishes attached read-only. It never changes a published file: only
`mesh build` publishes.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb

from tests.integration.conftest import mesh

DBT = Path(sys.executable).parent / "dbt"


def dbt(folder: Path, home: Path, *args: str) -> str:
    """Run the venv's `dbt` in `folder` from a fresh shell: only PATH and HOME are set."""
    env = {"PATH": f"{DBT.parent}:/usr/bin:/bin", "HOME": str(home)}
    done = subprocess.run(
        [str(DBT), *args], cwd=folder, env=env, capture_output=True, text=True, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"dbt {' '.join(args)} in {folder} failed:\n{output}"
    return output


def published_state(root: Path) -> dict[str, tuple[int, int, int, str]]:
    """Every file of every publish and private store: size, mtime, inode and sha256."""
    state = {}
    for top in ("published", "private"):
        for path in sorted((root / "warehouse" / top).rglob("*")):
            if path.is_file() and not path.is_symlink():
                stat = path.stat()
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                state[str(path)] = (stat.st_size, stat.st_mtime_ns, stat.st_ino, digest)
    return state


def test_plain_dbt_works_in_a_producer_and_a_consumer_and_never_publishes(
    mesh_copy: Path, tmp_path: Path
) -> None:
    before = published_state(mesh_copy)
    home = tmp_path / "home"
    home.mkdir()

    # fulfillment consumes orders' products and publishes its own: both sides of a mesh.
    fulfillment = mesh_copy / "domains" / "fulfillment"
    dbt(fulfillment, home, "deps")
    assert "Completed successfully" in dbt(fulfillment, home, "build")
    listed = dbt(fulfillment, home, "ls", "--resource-type", "model", "-q").split()
    assert "fulfillment.marts.shipments.v1" in listed and "orders.orders.v2" in listed
    shown = dbt(fulfillment, home, "show", "-s", "shipments", "--limit", "2")
    assert "shipment_id" in shown
    compiled = (
        fulfillment / "target/compiled/fulfillment/models/staging/orders/stg_orders__orders.sql"
    )
    assert '"orders"."main"."orders_v2"' in compiled.read_text()  # the upstream's product
    dbt(fulfillment, home, "docs", "generate")
    catalog = json.loads((fulfillment / "target/catalog.json").read_text())
    assert "model.fulfillment.shipments.v1" in catalog["nodes"]
    # The upstream product in the docs as its producer documented it (mesh.runner.loom_docs).
    docs = json.loads((fulfillment / "target/manifest.json").read_text())["nodes"]
    producer = json.loads(
        (mesh_copy / "warehouse/published/orders/current/manifest.json").read_text()
    )
    orders_v2 = docs["model.orders.orders.v2"]
    assert orders_v2["description"] == producer["nodes"]["model.orders.orders.v2"]["description"]
    assert orders_v2["columns"]["net_amount_usd"]["data_type"] == "decimal(18,2)"
    assert orders_v2["contract"]["enforced"] is True

    # The dev target's databases are the folder's own; the upstream is attached read-only.
    with duckdb.connect(str(fulfillment / "target/dev.duckdb"), read_only=True) as dev:
        assert dev.execute("select count(*) from main.shipments_v1").fetchone()[0] > 0
    assert (fulfillment / "target/dev__private.duckdb").is_file()
    key = fulfillment / "target/dev-pii.key"
    assert key.stat().st_mode & 0o077 == 0

    # customers, a producer with no upstream, hashes PII with a development key of its own
    # (never the mesh's, which stays with `mesh build`).
    customers = mesh_copy / "domains" / "customers"
    dbt(customers, home, "deps")
    assert "Completed successfully" in dbt(customers, home, "build")
    mesh_key = (mesh_copy / "warehouse/secrets/pii.key").read_text().strip()
    dev_key = (mesh_copy / "domains/customers/target/dev-pii.key").read_text().strip()
    assert dev_key != mesh_key

    assert published_state(mesh_copy) == before
    assert "Verified" in mesh(mesh_copy, "verify").stdout

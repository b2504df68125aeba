"""Publishing: a built and tested domain becomes the version every reader sees, in one step.

    published/<domain>/<publish-id>/   <domain>.duckdb, manifest.json, run_results.json,
                                       publish.json (the record of this publish),
                                       products/<product>/v<N>/ (Parquet, contract: ports.py)
    published/<domain>/current         symlink to the live <publish-id>

The files are moved into a hidden folder, the folder is renamed into place, and `current`
is re-pointed by renaming a new symlink over it (atomic on POSIX). Readers that opened the
old database keep reading it; new readers see the new one. Until that last rename nothing a
reader can see has changed, so a crash at any moment leaves the previous version intact;
`cleanup` removes what a crash left behind. Old publish folders are the history that
`rollback` returns to.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import duckdb

from mesh.discovery.manifest import parse as parse_manifest
from mesh.discovery.products import products_of
from mesh.discovery.registry import (
    HISTORY,
    RECORD,
    HistoryEvent,
    ProductStats,
    PublishRecord,
    current_publish_id,
    domain_dir,
    publish_ids,
    read_record,
)
from mesh.engines.duckdb import ports
from mesh.errors import MeshError, RollbackError
from mesh.ids import new_id, now
from mesh.workspace import Mesh

KEEP_PUBLISHES = 5


def incremental_models(domain: str, manifest: dict[str, Any]) -> list[str]:
    """The domain's own models materialized incrementally, by relation name."""
    return sorted(
        node.get("alias") or node["name"]
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "model"
        and node.get("package_name") == domain
        and node.get("config", {}).get("materialized") == "incremental"
    )


def git_commit(root: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def product_stats(domain: str, database: Path, manifest: dict[str, Any]) -> list[ProductStats]:
    """Row count and an order-independent content checksum of every product version."""
    stats = []
    con = duckdb.connect(str(database), read_only=True)
    try:
        for product in products_of(domain, parse_manifest(manifest), published_at=None):
            rows, checksum = con.execute(
                f"select count(*), coalesce(sum(hash(product)), 0)::varchar "
                f"from {product.relation} as product"
            ).fetchone() or (0, "0")
            stats.append(
                ProductStats(
                    name=product.name,
                    version=product.version,
                    relation=product.relation,
                    rows=rows,
                    checksum=f"{int(checksum) % (1 << 64):016x}",
                )
            )
    finally:
        con.close()
    return stats


def _append_history(mesh: Mesh, domain: str, event: HistoryEvent) -> None:
    with (domain_dir(mesh, domain) / HISTORY).open("a") as handle:
        handle.write(event.to_json() + "\n")


def _point_current(folder: Path, publish_id: str) -> None:
    """Make `current` point at `publish_id` with one rename."""
    new_link = folder / f".current-{publish_id}-{os.urandom(3).hex()}"
    new_link.symlink_to(publish_id)
    new_link.replace(folder / "current")


def publish(
    mesh: Mesh,
    domain: str,
    staging: Path,
    run_id: str,
    upstreams: dict[str, str],
    dbt_results: dict[str, int],
    fingerprint: str | None = None,
    code_fingerprint: str | None = None,
    usage: dict[str, Any] | None = None,
    landing: dict[str, str] | None = None,
) -> PublishRecord:
    """Move a successful build from `staging` into a new publish folder and make it current."""
    database = staging / f"{domain}.duckdb"
    manifest = staging / "target" / "manifest.json"
    for required in (database, manifest):
        if not required.exists():
            raise MeshError(f"Cannot publish {domain}: the build left no {required}.")
    if database.with_suffix(".duckdb.wal").exists():
        raise MeshError(
            f"Cannot publish {domain}: {database} still has a write-ahead log, so a process "
            "may still be writing it. Rebuild the domain."
        )
    manifest_data = json.loads(manifest.read_text())
    stats = product_stats(domain, database, manifest_data)

    publish_id = new_id()
    partial = start_publish(mesh, domain, publish_id)
    published_at = now()
    output_ports = ports.export(domain, database, manifest_data, partial, published_at)
    shutil.copy2(manifest, partial / "manifest.json")
    run_results = staging / "target" / "run_results.json"
    if run_results.exists():
        shutil.copy2(run_results, partial / "run_results.json")
    database.replace(partial / database.name)
    record = PublishRecord(
        domain=domain,
        publish_id=publish_id,
        published_at=published_at,
        run_id=run_id,
        git_commit=git_commit(mesh.root),
        upstreams=upstreams,
        dbt_results=dbt_results,
        products=stats,
        output_ports={
            f"{port.product}.v{port.version}": str(port.parquet) for port in output_ports
        },
        fingerprint=fingerprint,
        code_fingerprint=code_fingerprint,
        incremental_models=incremental_models(domain, manifest_data),
        usage=usage,
        landing=landing or {},
    )
    finish_publish(mesh, partial, record)
    return record


def start_publish(mesh: Mesh, domain: str, publish_id: str) -> Path:
    """A new, hidden folder to gather a publish in (no reader looks at it)."""
    folder = domain_dir(mesh, domain)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{publish_id}.partial"
    partial.mkdir()
    return partial


def finish_publish(mesh: Mesh, partial: Path, record: PublishRecord) -> None:
    """Write the record into the gathered folder, rename it into place and make it current,
    then note it in the history and prune old publishes."""
    (partial / RECORD).write_text(record.to_json())
    folder = partial.parent
    partial.replace(folder / record.publish_id)
    _point_current(folder, record.publish_id)
    _append_history(
        mesh,
        record.domain,
        HistoryEvent(event="publish", publish_id=record.publish_id, at=record.published_at),
    )
    _prune(mesh, record.domain, keep=KEEP_PUBLISHES)


def _prune(mesh: Mesh, domain: str, keep: int) -> None:
    """Delete all but the newest `keep` publish folders (never the current one)."""
    current = current_publish_id(mesh, domain)
    for old in publish_ids(mesh, domain)[:-keep]:
        if old != current:
            shutil.rmtree(domain_dir(mesh, domain) / old, ignore_errors=True)


def rollback(mesh: Mesh, domain: str) -> PublishRecord:
    """Make the publish before the current one current again; returns its record."""
    current = current_publish_id(mesh, domain)
    if current is None:
        raise RollbackError(f"{domain} has never been published; there is nothing to roll back.")
    earlier = [publish_id for publish_id in publish_ids(mesh, domain) if publish_id < current]
    if not earlier:
        raise RollbackError(
            f"{domain} has no publish older than {current} to roll back to "
            f"(the last {KEEP_PUBLISHES} publishes are kept)."
        )
    target = earlier[-1]
    _point_current(domain_dir(mesh, domain), target)
    _append_history(
        mesh,
        domain,
        HistoryEvent(event="rollback", publish_id=target, at=now(), rolled_back_from=current),
    )
    record = read_record(mesh, domain, target)
    assert record is not None
    return record


def cleanup(mesh: Mesh, domain: str) -> list[Path]:
    """Remove what interrupted builds of `domain` left behind. Call with the domain locked.

    Staging folders, half-made publish folders and temporary links are never read by
    anyone, so removing them cannot affect a reader.
    """
    removed: list[Path] = []
    staging_root = mesh.builds / domain
    if staging_root.is_dir():
        for run in staging_root.iterdir():
            shutil.rmtree(run, ignore_errors=True)
            removed.append(run)
    folder = domain_dir(mesh, domain)
    if folder.is_dir():
        for path in folder.iterdir():
            if path.name.startswith(".current-"):
                path.unlink(missing_ok=True)
                removed.append(path)
            elif path.name.startswith(".") and path.name.endswith(".partial"):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed

"""Publishing: a built and tested domain becomes the version every reader sees, in one step.

    published/<domain>/<publish-id>/   <domain>.duckdb, manifest.json, run_results.json,
                                       publish.json (the record of this publish)
    published/<domain>/current         symlink to the live <publish-id>

The files are moved into a new publish folder, then `current` is re-pointed by renaming a
new symlink over it (atomic on POSIX). Readers that opened the old database keep reading it;
new readers see the new one. Old publish folders are the history.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mesh.errors import MeshError
from mesh.workspace import Mesh

RECORD = "publish.json"
KEEP_PUBLISHES = 5


@dataclass(frozen=True)
class PublishRecord:
    domain: str
    publish_id: str
    published_at: str
    run_id: str
    git_commit: str | None
    upstreams: dict[str, str]
    dbt_results: dict[str, int]


def new_id() -> str:
    """A sortable, unique id for a run or a publish: UTC time plus a random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + os.urandom(3).hex()


def git_commit(root: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def current_publish_id(mesh: Mesh, domain: str) -> str | None:
    link = mesh.published_dir(domain)
    return link.readlink().name if link.is_symlink() and link.exists() else None


def read_record(mesh: Mesh, domain: str) -> dict[str, Any] | None:
    path = mesh.published_dir(domain) / RECORD
    return json.loads(path.read_text()) if path.exists() else None


def publish(
    mesh: Mesh,
    domain: str,
    staging: Path,
    run_id: str,
    upstreams: dict[str, str],
    dbt_results: dict[str, int],
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

    domain_dir = mesh.published / domain
    domain_dir.mkdir(parents=True, exist_ok=True)
    publish_id = new_id()
    partial = domain_dir / f".{publish_id}.partial"
    partial.mkdir()
    database.replace(partial / database.name)
    shutil.copy2(manifest, partial / "manifest.json")
    run_results = staging / "target" / "run_results.json"
    if run_results.exists():
        shutil.copy2(run_results, partial / "run_results.json")
    record = PublishRecord(
        domain=domain,
        publish_id=publish_id,
        published_at=datetime.now(UTC).isoformat(timespec="seconds"),
        run_id=run_id,
        git_commit=git_commit(mesh.root),
        upstreams=upstreams,
        dbt_results=dbt_results,
    )
    (partial / RECORD).write_text(json.dumps(asdict(record), indent=2) + "\n")
    partial.replace(domain_dir / publish_id)

    new_link = domain_dir / f".current-{publish_id}"
    new_link.symlink_to(publish_id)
    new_link.replace(domain_dir / "current")
    _prune(domain_dir, keep=KEEP_PUBLISHES)
    return record


def _prune(domain_dir: Path, keep: int) -> None:
    """Delete all but the newest `keep` publish folders (never the current one)."""
    current = (domain_dir / "current").readlink().name
    publishes = sorted(
        p
        for p in domain_dir.iterdir()
        if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
    )
    for old in publishes[:-keep]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)

"""What is published: the publish folders of each domain and their records (read-only).

published/<domain>/<publish-id>/publish.json   the record of one publish
published/<domain>/current -> <publish-id>     the live version
published/<domain>/history.jsonl               publishes and rollbacks, one JSON per line
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mesh.workspace import Mesh

RECORD = "publish.json"
HISTORY = "history.jsonl"
PORTS = "products"
CONTRACT = "contract.odcs.yaml"
DESCRIPTOR = "descriptor.json"


def port_folder(name: str, version: str | None) -> Path:
    """Where a product version's output ports live, relative to its publish folder."""
    return Path(PORTS) / name / (f"v{version}" if version is not None else "unversioned")


def parquet_name(name: str, version: str | None) -> str:
    return f"{name}_v{version}.parquet" if version is not None else f"{name}.parquet"


def domain_dir(mesh: Mesh, domain: str) -> Path:
    return mesh.published / domain


def current_publish_id(mesh: Mesh, domain: str) -> str | None:
    link = mesh.published_dir(domain)
    return link.readlink().name if link.is_symlink() and link.exists() else None


def publish_ids(mesh: Mesh, domain: str) -> list[str]:
    """Complete publish folders of a domain, oldest first (ids sort by time)."""
    folder = domain_dir(mesh, domain)
    if not folder.is_dir():
        return []
    return sorted(
        path.name
        for path in folder.iterdir()
        if path.is_dir()
        and not path.is_symlink()
        and not path.name.startswith(".")
        and (path / RECORD).exists()
    )


def read_record(mesh: Mesh, domain: str, publish_id: str | None = None) -> dict[str, Any] | None:
    """The record of one publish of `domain`, the current one by default."""
    folder = (domain_dir(mesh, domain) / publish_id) if publish_id else mesh.published_dir(domain)
    path = folder / RECORD
    return json.loads(path.read_text()) if path.exists() else None


def history(mesh: Mesh, domain: str) -> list[dict[str, Any]]:
    """Every publish and rollback of `domain`, oldest first."""
    path = domain_dir(mesh, domain) / HISTORY
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

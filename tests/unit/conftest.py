"""Small fake meshes for unit tests, built in `tmp_path`.

A fake mesh holds only what the platform looks at: a `domains/` folder with one dbt project
file per domain (plus a dbt-loom configuration and source YAML when a test needs them), a
`profiles.yml`, and, for published domains, small DuckDB files under `warehouse/published/`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from mesh.discovery.snapshots import Snapshot
from mesh.ids import new_id, now
from mesh.pipeline import snapshot as pipeline_snapshot
from mesh.workspace import Mesh


def make_mesh(root: Path) -> Mesh:
    """An empty mesh at `root`: a `domains/` folder and a `profiles.yml`."""
    (root / "domains").mkdir(parents=True, exist_ok=True)
    (root / "profiles.yml").write_text("# profiles of a fake mesh\n")
    return Mesh(root)


def add_domain(
    mesh: Mesh,
    name: str,
    *,
    upstreams: Sequence[str] = (),
    sources: dict[str, list[str]] | None = None,
    project_name: str | None = None,
) -> Path:
    """A domain folder holding a dbt project; `sources` maps source name to its tables."""
    path = mesh.domains_dir / name
    (path / "models").mkdir(parents=True, exist_ok=True)
    project = {"name": name if project_name is None else project_name, "profile": name}
    (path / "dbt_project.yml").write_text(yaml.safe_dump(project))
    if upstreams:
        manifests = [
            {
                "name": upstream,
                "type": "file",
                "config": {"path": f"${{MESH_PUBLISHED_DIR}}/{upstream}/current/manifest.json"},
            }
            for upstream in upstreams
        ]
        (path / "dbt_loom.config.yml").write_text(yaml.safe_dump({"manifests": manifests}))
    if sources:
        staging = path / "models" / "staging"
        staging.mkdir(parents=True, exist_ok=True)
        declared = [
            {"name": source, "tables": [{"name": table} for table in tables]}
            for source, tables in sources.items()
        ]
        (staging / "_sources.yml").write_text(yaml.safe_dump({"version": 2, "sources": declared}))
    return path


def full_record(domain: str, publish_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """A publish record with `fields`, and every required field a real publish writes."""
    return {
        "domain": domain,
        "publish_id": publish_id,
        "published_at": "2026-06-30T23:00:00+00:00",
        "run_id": publish_id,
        "git_commit": None,
        "upstreams": {},
        "dbt_results": {},
        **fields,
    }


def publish_database(
    mesh: Mesh,
    domain: str,
    publish_id: str,
    sql: str,
    manifest: dict[str, Any] | None = None,
    record: dict[str, Any] | None = None,
) -> Path:
    """A publish folder with a DuckDB file built by `sql`; `current` is pointed at it."""
    folder = mesh.published / domain / publish_id
    folder.mkdir(parents=True)
    con = duckdb.connect(str(folder / f"{domain}.duckdb"))
    try:
        con.execute(sql)
    finally:
        con.close()
    if manifest is not None:
        (folder / "manifest.json").write_text(json.dumps(manifest))
    if record is not None:
        (folder / "publish.json").write_text(json.dumps(full_record(domain, publish_id, record)))
    current = mesh.published_dir(domain)
    if current.is_symlink():
        current.unlink()
    current.symlink_to(publish_id)
    commit_heads(mesh)
    return folder


def commit_heads(mesh: Mesh) -> Snapshot:
    """A mesh snapshot of every domain's `current` publish, as readers resolve domains (a
    fake: the real commit checks what each publish was built from)."""
    heads = {
        link.parent.name: link.readlink().name
        for link in sorted(mesh.published.glob("*/current"))
        if link.is_symlink()
    }
    snapshot = Snapshot(
        snapshot_id=new_id(), committed_at=now(), cause="test", publishes=heads, behind={}
    )
    pipeline_snapshot._write(mesh, snapshot)
    return snapshot


@pytest.fixture
def fake_mesh(tmp_path: Path) -> Mesh:
    """An empty fake mesh in this test's temporary directory."""
    return make_mesh(tmp_path / "mesh")


@pytest.fixture
def orders_mesh(fake_mesh: Mesh) -> Mesh:
    """A fake mesh with one domain folder, orders, for tests of its publishes."""
    (fake_mesh.domains_dir / "orders").mkdir(parents=True)
    (fake_mesh.domains_dir / "orders" / "dbt_project.yml").write_text("name: orders\n")
    return fake_mesh

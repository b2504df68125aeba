"""A domain in a repository of its own (issue 19): the catalog domain moved out of the mesh,
built and published there with `mesh build` and MESH_HOME, and read by a consumer in the mesh."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import MESH_BIN, Run, mesh

pytestmark = pytest.mark.integration

# What the split-out domain's packages.yml says: shared_macros is the mesh's, wherever it is.
PACKAGES = """packages:
  - local: "{{ env_var('MESH_HOME') }}/shared_macros"
"""


def mesh_in_own_repository(project: Path, mesh_root: Path, *args: str) -> Run:
    """The `mesh` command run in a domain's own repository, pointed at the mesh by MESH_HOME."""
    done = subprocess.run(
        [str(MESH_BIN), *args],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "MESH_HOME": str(mesh_root)},
    )
    run = Run(done.returncode, done.stdout, done.stderr)
    assert done.returncode == 0, f"mesh {' '.join(args)} failed:\n{run.output}"
    return run


def test_a_domain_built_in_its_own_repository_is_read_by_a_consumer_in_the_mesh(
    mesh_copy: Path, tmp_path: Path
) -> None:
    repository = tmp_path / "catalog-repository"
    shutil.move(mesh_copy / "domains" / "catalog", repository)
    shutil.rmtree(repository / "target", ignore_errors=True)
    (repository / "packages.yml").write_text(PACKAGES)
    code = {p: p.read_bytes() for p in (repository / "models").rglob("*") if p.is_file()}
    before = (mesh_copy / "warehouse" / "published" / "catalog" / "current").readlink().name

    # Seen from the mesh, catalog is known by its publishes: listed, never built here.
    listed = mesh(mesh_copy, "domains").stdout
    assert "its own repository" in listed
    refused = mesh(mesh_copy, "build", "catalog", check=False)
    assert refused.returncode == 1
    assert "MESH_HOME=" in refused.output
    assert "Traceback" not in refused.output

    # In its own repository, `mesh build` builds and publishes that domain alone.
    built = mesh_in_own_repository(repository, mesh_copy, "build")
    assert "catalog published." in built.stdout
    record = json.loads(
        (mesh_copy / "warehouse/published/catalog/current/publish.json").read_text()
    )
    assert record["domain"] == "catalog"
    assert record["publish_id"] != before
    assert record["sandboxed"] is True
    # Its folder was read-only to its dbt build: the code is as it was, nothing built there.
    assert {p: p.read_bytes() for p in (repository / "models").rglob("*") if p.is_file()} == code
    assert not (repository / "target").exists()
    # Its SQL style is the mesh's: `mesh lint` there lints it alone, with the mesh's .sqlfluff.
    linted = mesh_in_own_repository(repository, mesh_copy, "lint")
    assert "1 domain, 7 files: all clean." in linted.stdout

    # A consumer in the mesh builds on that publish, and readers query it.
    mesh(mesh_copy, "build", "analytics", "--only")
    analytics = json.loads(
        (mesh_copy / "warehouse/published/analytics/current/publish.json").read_text()
    )
    assert analytics["upstreams"]["catalog"] == record["publish_id"]
    rows = mesh(
        mesh_copy,
        "query",
        "--format",
        "json",
        "select p.category_name, count(*) as lines from orders.main.order_lines_v1 as l "
        "inner join catalog.main.products_v2 as p using (product_id) group by 1",
    ).json()
    assert rows and all(row["lines"] > 0 for row in rows)
    products = mesh(mesh_copy, "products", "--format", "json").json()
    assert {"catalog", "analytics"} <= {product["domain"] for product in products}

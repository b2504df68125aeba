"""The `mesh` command as a new user meets it: versions, and a mesh with nothing published."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

from mesh import __version__

MESH = Path(sys.executable).parent / "mesh"


def test_version_prints_the_mesh_and_the_dbt_toolchain(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(MESH), "--version"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"mesh {__version__}"
    for package in ("dbt-core", "dbt-duckdb", "dbt-loom", "duckdb"):
        assert f"{package} {metadata.version(package)}" in lines


def test_products_of_a_mesh_with_nothing_published_says_how_to_publish(tmp_path: Path) -> None:
    (tmp_path / "domains").mkdir()
    (tmp_path / "profiles.yml").write_text("mesh: {}\n")
    done = subprocess.run(
        [str(MESH), "products"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "Nothing is published yet: `mesh build` builds and publishes every domain."
    )

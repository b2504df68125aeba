"""`mesh --version`: what a bug report needs first, without a mesh to stand in."""

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

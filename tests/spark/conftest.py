"""Fixtures of the Spark suite (`make test-spark`): the mesh built on both engines.

One temporary copy of the repository gets the same generated data built on DuckDB and on
Spark (dbt-spark in session mode, a local Spark in the dbt worker). Tests compare the two and
try what must not change what readers see.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import SCALE, Run, copy_repo, mesh


@pytest.fixture(scope="session")
def both_engines(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    """A mesh built on DuckDB and on Spark from the same landing data; the Spark build's run."""
    root = copy_repo(tmp_path_factory.mktemp("spark") / "mesh")
    mesh(root, "generate", "--scale", SCALE)
    mesh(root, "build")
    return root, mesh(root, "build", "--target", "spark")

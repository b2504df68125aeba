"""Fixtures of the Spark suite (`make test-spark`): the mesh built on both engines, and on a
Spark cluster through its Thrift server.

One temporary copy of the repository gets the same generated data built on DuckDB and on
Spark (dbt-spark in session mode, a local Spark in the dbt worker). Tests compare the two and
try what must not change what readers see. A copy of that mesh's DuckDB build is then built
again on a local Spark standalone cluster through a Spark Thrift server (cluster.py), as a
mesh that outgrew one process would be.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import SCALE, Run, copy_mesh, copy_repo, mesh
from tests.spark import cluster


@pytest.fixture(scope="session")
def both_engines(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    """A mesh built on DuckDB and on Spark from the same landing data; the Spark build's run."""
    root = copy_repo(tmp_path_factory.mktemp("spark") / "mesh")
    mesh(root, "generate", "--scale", SCALE)
    mesh(root, "build")
    return root, mesh(root, "build", "--target", "spark")


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster.Cluster]:
    """A Spark standalone master and worker, and a Thrift server on them."""
    with cluster.running(tmp_path_factory.mktemp("cluster")) as running:
        yield running


def on_server(found: cluster.Cluster) -> dict[str, str]:
    """What points a mesh command at the cluster's Thrift server (polling without pause)."""
    return {"MESH_SPARK_THRIFT": found.address, "MESH_SPARK_POLL_SECONDS": "0"}


@pytest.fixture(scope="session")
def on_thrift(
    both_engines: tuple[Path, Run],
    spark_cluster: cluster.Cluster,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Run]:
    """A copy of the mesh's DuckDB build and landing data (not its Spark state), built on the
    cluster through its Thrift server; that build's run."""
    root = copy_mesh(both_engines[0], tmp_path_factory.mktemp("thrift") / "mesh")
    shutil.rmtree(root / "warehouse" / "spark")
    return root, mesh(root, "build", "--target", "spark", env=on_server(spark_cluster))

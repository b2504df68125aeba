"""The mesh on a Spark cluster: dbt-spark's Thrift method against a Spark Thrift server on a
local standalone master and worker (cluster.py). The same projects build, pass the same gate
and publish the same products as on DuckDB; the server's metastore serves readers while a
build runs; the PII key reaches neither the server's log nor a file of the mesh."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from mesh.governance.pii_key import key_file
from mesh.workspace import Mesh
from tests.integration.conftest import MESH_BIN, Run, copy_mesh, mesh
from tests.integration.test_pii_key import forms_of
from tests.spark.cluster import Cluster
from tests.spark.compare import assert_equal_to_duckdb, record
from tests.spark.conftest import on_server

DOMAINS = ("catalog", "customers", "orders", "fulfillment", "analytics")


def test_every_domain_publishes_through_the_thrift_server(
    on_thrift: tuple[Path, Run], spark_cluster: Cluster
) -> None:
    root, run = on_thrift
    assert "All 5 domains published." in run.output, run.output
    assert f"Spark Thrift server at {spark_cluster.address}" in run.output
    for domain in DOMAINS:
        published = record(root, domain)
        assert published["catalog"] == f"thrift://{spark_cluster.address}"
        assert published["dbt_results"]["test"] > 0  # type: ignore[index]
    # The server ran the SQL: the version schemas are in its metastore, not a local one.
    assert not (root / "warehouse" / "spark" / "metastore_db").exists()
    assert _rows(spark_cluster, f"show schemas like '{record(root, 'orders')['schema']}'")


@pytest.mark.parametrize("domain", DOMAINS)
def test_products_built_on_the_cluster_equal_the_duckdb_build(
    on_thrift: tuple[Path, Run], domain: str
) -> None:
    assert_equal_to_duckdb(on_thrift[0], domain)


def test_the_metastore_serves_a_query_while_a_build_runs(
    on_thrift: tuple[Path, Run], spark_cluster: Cluster
) -> None:
    """While analytics builds on the server, a second client of the same server reads a
    product of orders' current publish from the metastore, and the build goes on to publish.
    (With session mode's embedded Derby, one Spark process holds the metastore.)"""
    root, _ = on_thrift
    orders = record(root, "orders")["schema"]
    before = {row[0] for row in _rows(spark_cluster, "show schemas like 'analytics__*'")}
    build = subprocess.Popen(
        [str(MESH_BIN), "build", "--target", "spark", "--only", "analytics", "--full"],
        cwd=root, env=_env(spark_cluster), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while {row[0] for row in _rows(spark_cluster, "show schemas like 'analytics__*'")} == (
            before
        ):  # the build's version schema is made before its models run
            assert build.poll() is None, build.communicate()[0]
            assert time.monotonic() < deadline, "the build made no version schema in 120 s"
            time.sleep(0.2)
        (count,) = _rows(spark_cluster, f"select count(*) from {orders}.orders_v2")[0]
        assert build.poll() is None, "the build ended before the read: no overlap shown"
        assert count > 0
        output, _ = build.communicate(timeout=300)
    finally:
        build.kill()
    assert build.returncode == 0 and "analytics published" in output, output
    assert record(root, "analytics")["catalog"] == f"thrift://{spark_cluster.address}"


def test_the_pii_key_is_in_no_log_or_file(
    on_thrift: tuple[Path, Run], spark_cluster: Cluster
) -> None:
    """customers hashes with the mesh's key, which the session settings carry to the server:
    the server logs each statement after substitution, and redacts the key's declaration."""
    root, _ = on_thrift
    secret = key_file(Mesh(root))
    forms = forms_of(bytes.fromhex(secret.read_text()))
    files = [p for p in (root / "warehouse").rglob("*") if p.is_file() and p != secret]
    files += [p for p in spark_cluster.folder.rglob("*") if p.is_file()]
    assert spark_cluster.log("thrift-server") in files
    log = spark_cluster.log("thrift-server").read_text()
    assert "declare or replace variable *********(redacted)" in log  # the key was handed over
    holding = [str(path) for path in files if any(form in path.read_bytes() for form in forms)]
    assert holding == []


def test_a_build_on_another_catalog_is_refused(
    on_thrift: tuple[Path, Run], spark_cluster: Cluster
) -> None:
    """A consumer built in session mode cannot read upstream publishes the Thrift server's
    catalog holds: one line says so, and nothing is published."""
    root, _ = on_thrift
    before = record(root, "analytics")
    refused = mesh(root, "build", "--target", "spark", "--only", "analytics", "--full", check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.output
    said = " ".join(refused.output.split())
    assert f"whose tables are in the Spark catalog thrift://{spark_cluster.address}" in said
    assert "but this build runs on session (MESH_SPARK_THRIFT is unset)" in said
    assert record(root, "analytics") == before


def _env(found: Cluster) -> dict[str, str]:
    return {**os.environ, **on_server(found)}


def _rows(found: Cluster, sql: str) -> list[Any]:
    """The rows of `sql` on a connection of its own to the server."""
    connection: Any = found.connect()
    try:
        cursor = connection.cursor()
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        found.close(connection)


def test_an_unreachable_server_fails_the_build_and_publishes_nothing(
    both_engines: tuple[Path, Run], tmp_path: Path
) -> None:
    root = copy_mesh(both_engines[0], tmp_path / "mesh")
    shutil.rmtree(root / "warehouse" / "spark")
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{closed.getsockname()[1]}"
        failed = mesh(
            root, "build", "--target", "spark", "--only", "catalog", check=False,
            env={"MESH_SPARK_THRIFT": address},
        )  # fmt: skip
    assert failed.returncode == 1 and "Traceback" not in failed.output
    said = " ".join(failed.output.split())
    assert f"Could not connect to any of [('127.0.0.1', {address.split(':')[1]})]" in said
    assert "catalog: FAILED" in said and "the published version is unchanged" in said
    assert not (root / "warehouse" / "spark" / "published" / "catalog").exists()

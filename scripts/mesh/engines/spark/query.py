"""`mesh query --target spark`: one read-only statement on a local Spark over the published
views (`<domain>.<relation>`, e.g. `orders.orders_v2`)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mesh.engines.spark.local import SPARK, SPARK_MEMORY, require_spark, settings
from mesh.errors import MeshError, QueryError, QueryRefusedError
from mesh.pipeline.engine import QueryResult
from mesh.workspace import Mesh

# Statements `mesh query --target spark` runs: queries, and commands that only read.
READING_COMMANDS = {
    "ShowNamespaces",
    "ShowTables",
    "ShowViews",
    "ShowColumns",
    "ShowFunctions",
    "DescribeRelation",
    "DescribeColumn",
    "DescribeNamespace",
    "ExplainCommand",
}


def query(mesh: Mesh, sql: str) -> QueryResult:
    """Run one read-only statement on the mesh's local Spark (its published views are
    `<domain>.<relation>`, e.g. `orders.orders_v2`)."""
    mesh = mesh.on(SPARK)
    require_spark()
    if not (mesh.engine_dir / "metastore_db").exists():
        raise MeshError("Nothing has been published on Spark yet; run `mesh build --target spark`.")
    env = settings(mesh)
    os.environ.setdefault("SPARK_LOCAL_IP", env["SPARK_LOCAL_IP"])
    with _output_to(mesh.engine_dir / "spark.log"):
        spark = _session(env, mesh.engine_dir)
    try:
        _refuse_unless_reading(spark, sql)
        frame = spark.sql(sql)
        rows = [tuple(row) for row in frame.collect()]
        return QueryResult(
            list(frame.columns), [field.dataType.simpleString() for field in frame.schema], rows
        )
    except MeshError:
        raise
    except Exception as error:  # pyspark's AnalysisException, ParseException...
        raise QueryError(f"Query failed: {str(error).strip().splitlines()[0]}") from error
    finally:
        spark.stop()


@contextlib.contextmanager
def _output_to(log: Path) -> Iterator[None]:
    """Send what this process and the programs it starts meanwhile (the JVM, which keeps
    it) print to `log`; restore the terminal after."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log.open("a") as handle:
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
    try:
        yield
    finally:
        for descriptor, copy in enumerate(saved, start=1):
            os.dup2(copy, descriptor)
            os.close(copy)


def _session(env: dict[str, str], home: Path) -> Any:
    """A local Spark session on the mesh's catalog, configured as the profile's target."""
    from pyspark.sql import SparkSession  # only with `make test-spark`'s install

    return (
        SparkSession.builder.master("local[*]")
        .appName("mesh query")
        .enableHiveSupport()
        .config("spark.sql.warehouse.dir", env["MESH_SPARK_WAREHOUSE"])
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={env['MESH_SPARK_METASTORE']};create=true",
        )
        .config(
            "spark.driver.extraJavaOptions",
            f"-Dderby.system.home={home} -Dderby.stream.error.file={home / 'derby.log'}",
        )
        .config(  # not a folder per session left in the system's temporary folder
            "spark.hadoop.hive.downloaded.resources.dir",
            f"{home / 'hive-resources'}/${{hive.session.id}}",
        )
        .config("spark.log.level", "ERROR")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", env["MESH_SPARK_PARTITIONS"])
        # No `select ... from parquet.\`/any/path\``: a query reads the published views.
        .config("spark.sql.runSQLOnFiles", "false")
        .config("spark.driver.memory", SPARK_MEMORY)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )


def _refuse_unless_reading(spark: Any, sql: str) -> None:
    """Raise QueryRefusedError unless every node of the statement's parsed plan only reads
    (a write can hide under a WITH, or in a multi-insert)."""
    command = spark._jvm.java.lang.Class.forName(
        "org.apache.spark.sql.catalyst.plans.logical.Command"
    )
    pending = [spark._jsparkSession.sessionState().sqlParser().parsePlan(sql.strip().rstrip(";"))]
    while pending:
        node = pending.pop()
        kind = node.getClass().getSimpleName()
        writes = command.isInstance(node) or kind.startswith(("Insert", "Create", "Drop", "Alter"))
        if writes and kind not in READING_COMMANDS:
            article = "an" if kind[:1] in "AEIOU" else "a"
            raise QueryRefusedError(
                f"mesh query is read-only: it refused {article} {kind} statement, which does not "
                "only read. Only queries (SELECT, WITH, ...) and SHOW/DESCRIBE/EXPLAIN run."
            )
        children = node.children()
        pending.extend(children.apply(index) for index in range(children.size()))

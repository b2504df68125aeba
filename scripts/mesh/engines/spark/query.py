"""`mesh query --target spark`: one read-only statement over the data products of one mesh
snapshot, on a local Spark.

The session does not open the build's metastore. Its catalog is Spark's in-memory one, and
before any user SQL runs it holds only the products of the snapshot: for each domain's
publish, each public product version as `<domain>.<relation>` (e.g. `orders.orders_v2`), an
unmanaged Parquet table over the files of that publish's version schema. Nothing else of a
build (staging and intermediate models, other versions) is in the catalog, so a query cannot
name it, and every domain is read at the snapshot's publish, never one switched meanwhile.
Two guards keep a query to those tables: only queries and SHOW/DESCRIBE/EXPLAIN run
(`_refuse_unless_reading`, on the parsed plan), and no query reads files by path
(`spark.sql.runSQLOnFiles` is off). With no Derby to open, it also runs while a Spark build
does.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mesh.discovery.snapshots import View
from mesh.engines import scratch
from mesh.engines.spark.local import SPARK, literal, require_spark, settings
from mesh.errors import MeshError, QueryError, QueryLimitError, QueryRefusedError
from mesh.pipeline.engine import QueryLimits, QueryResult, not_a_product, timed_out

# Statements `mesh query --target spark` runs: queries, and commands that only read.
READING_COMMANDS = {
    "ShowNamespaces",
    "ShowNamespacesCommand",  # SHOW DATABASES, as Spark 4 parses it
    "ShowTables",
    "ShowViews",
    "ShowColumns",
    "ShowFunctions",
    "DescribeRelation",
    "DescribeColumn",
    "DescribeNamespace",
    "ExplainCommand",
}

# Spark's error conditions for a name its catalog does not hold, and the parameter naming it.
_MISSING = {
    "TABLE_OR_VIEW_NOT_FOUND": "relationName",
    "SCHEMA_NOT_FOUND": "schemaName",
}


def query(view: View, sql: str, limits: QueryLimits | None = None) -> QueryResult:
    """Run one read-only statement over the products of `view`'s publishes, within `limits`:
    the driver's memory, a time limit (its jobs are cancelled), a row limit on what is
    collected, and a spill folder of its own in warehouse/tmp (Spark has no cap on its
    size: the spill limit is DuckDB's alone). Ctrl-C cancels the jobs (pyspark's own
    handler) and raises KeyboardInterrupt."""
    require_spark()
    limits = limits or QueryLimits()
    mesh = view.mesh.on(SPARK)
    found = products(view)
    env = settings(mesh)
    os.environ.setdefault("SPARK_LOCAL_IP", env["SPARK_LOCAL_IP"])
    spill = scratch.new_folder(view.mesh)
    # Spark's own logging of a failed statement too: the user gets one line (_failed).
    with _output_to(mesh.engine_dir / "spark.log"):
        spark = _session(env, _spark_size(limits), spill)
        timer = threading.Timer(limits.timeout, spark.sparkContext.cancelAllJobs)
        try:
            _register(spark, found)
            _refuse_unless_reading(spark, sql)
            frame = spark.sql(sql)
            if limits.max_rows:
                frame = frame.limit(limits.max_rows + 1)
            if limits.timeout:
                timer.start()
            rows = [tuple(row) for row in frame.collect()]
            types = [field.dataType.simpleString() for field in frame.schema]
            cut = bool(limits.max_rows) and len(rows) > limits.max_rows
            return QueryResult(
                list(frame.columns), types, rows[: limits.max_rows] if cut else rows, cut
            )
        except MeshError:
            raise
        except Exception as error:  # pyspark's AnalysisException, ParseException...
            if timer.finished.is_set():
                raise timed_out(limits) from None
            raise _failed(error, view, found) from error
        finally:
            timer.cancel()
            spark.stop()
            scratch.remove(spill)


def _spark_size(limits: QueryLimits) -> str:
    """The memory limit as DuckDB and the limits write it (`2GB`, `500MiB`), as Spark does
    (`2g`)."""
    size = limits.memory_limit
    found = re.fullmatch(r"\s*(\d+)\s*([kmgt])i?b?\s*", size, re.IGNORECASE)
    if not found:
        raise QueryLimitError(
            f"The memory limit {size!r} is not a size Spark reads; give a whole number of "
            f"MB or GB, e.g. {limits.option('memory_limit', '4GB')}."
        )
    return f"{found.group(1)}{found.group(2).lower()}"


def products(view: View) -> dict[str, Path]:
    """The product tables of `view`, `<domain>.<relation>` -> the folder of its files: the
    table of that name in the version schema its publish wrote (its record's `schema`)."""
    if not view.publishes:
        raise MeshError("Nothing has been published on Spark yet; run `mesh build --target spark`.")
    tables = Path(settings(view.mesh)["MESH_SPARK_WAREHOUSE"])
    found: dict[str, Path] = {}
    for domain, publish_id in sorted(view.publishes.items()):
        record = view.record(domain)
        for relation in sorted(record.output_ports):
            folder = tables / f"{record.schema_}.db" / relation
            if not folder.is_dir():
                raise MeshError(
                    f"{domain}'s publish {publish_id} in {view.label} has no table {relation} "
                    f"at {folder}; run `mesh build --target spark --only {domain} --full`."
                )
            found[f"{domain}.{relation}"] = folder
    return found


def _register(spark: Any, found: dict[str, Path]) -> None:
    """Make the session's catalog hold `found`, and nothing else but Spark's empty `default`
    database. Each domain's database is located at its version schema's folder, so creating
    it makes no folder (the in-memory catalog makes one where none is)."""
    for name, folder in found.items():
        domain, relation = name.split(".")
        location = literal(str(folder.parent))
        spark.sql(f"create database if not exists `{domain}` location {location}")
        spark.sql(
            f"create table `{domain}`.`{relation}` using parquet location {literal(str(folder))}"
        )


def _failed(error: Exception, view: View, found: dict[str, Path]) -> QueryError:
    """The error to raise for Spark's `error`: for a name that is not a published product
    (a private model, a version schema), the products there are."""
    from pyspark.errors import PySparkException  # only with `make test-spark`'s install

    if isinstance(error, PySparkException):
        parameter = _MISSING.get(error.getCondition() or "")
        named = (error.getMessageParameters() or {}).get(parameter or "")
        if named:
            return not_a_product(named.replace("`", ""), view, list(found))
    return QueryError(f"Query failed: {str(error).strip().splitlines()[0]}")


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
        sys.stdout.flush()
        sys.stderr.flush()
        for descriptor, copy in enumerate(saved, start=1):
            os.dup2(copy, descriptor)
            os.close(copy)


def _session(env: dict[str, str], memory: str, spill: Path) -> Any:
    """A local Spark session with an in-memory catalog (not the build's metastore),
    configured as the profile's target, with `memory` for the driver and `spill` for
    what it writes to disk."""
    from pyspark.sql import SparkSession  # only with `make test-spark`'s install

    return (
        SparkSession.builder.master("local[*]")
        .appName("mesh query")
        .config("spark.sql.catalogImplementation", "in-memory")
        # The `default` database's location: a folder that exists, so none is made.
        .config("spark.sql.warehouse.dir", env["MESH_SPARK_WAREHOUSE"])
        .config("spark.log.level", "ERROR")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", env["MESH_SPARK_PARTITIONS"])
        # No `select ... from parquet.\`/any/path\``: a query reads the products' tables.
        .config("spark.sql.runSQLOnFiles", "false")
        .config("spark.driver.memory", memory)
        .config("spark.local.dir", str(spill))
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

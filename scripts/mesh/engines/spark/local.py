"""Where the mesh's Spark runs and what it needs there.

Two ways, one engine (`--target spark`), the same projects, records and readers:
- session mode (the default): a local Spark inside the dbt worker, with its catalog and tables
  under `warehouse/spark/` (needs pyspark and Java 17+ here);
- a Spark Thrift server (a cluster's, or the local one the Spark suite starts), when
  MESH_SPARK_THRIFT names it as `host:port`: dbt-spark connects with `method: thrift` (the
  profile's `spark_thrift` target) and the server runs the SQL on its cluster, with its own
  metastore. The mesh still decides where each version's tables go: the version schema is
  made with its location in the mesh's table folder (`warehouse/spark/tables/`), which the
  server must be able to write (the same machine, or a file system both mount), and which
  `mesh query --target spark` reads with a local Spark.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Mapping

from mesh.engines.spark import java
from mesh.errors import MeshError
from mesh.workspace import Mesh

SPARK = "spark"
THRIFT = "MESH_SPARK_THRIFT"  # `host:port` of a Spark Thrift server; unset: session mode
THRIFT_TARGET = "spark_thrift"  # the profile's target for it
SPARK_MEMORY = "2g"  # the driver's heap: the local Spark's whole memory


class SparkUnavailableError(MeshError):
    """Spark cannot run here: dbt-spark/pyspark not installed, or no Java 17+."""


def literal(text: str) -> str:
    """A string literal in Spark SQL, which escapes with backslashes."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def thrift_server(environ: Mapping[str, str] = os.environ) -> tuple[str, int] | None:
    """The Spark Thrift server MESH_SPARK_THRIFT names, as (host, port); None when unset
    (session mode). A value that is not `host:port` raises SparkUnavailableError."""
    value = environ.get(THRIFT, "").strip()
    if not value:
        return None
    found = re.fullmatch(r"([A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?):(\d{1,5})", value)
    if not found or not 0 < int(found.group(2)) < 65536:
        raise SparkUnavailableError(
            f"{THRIFT}={value!r} is not a Spark Thrift server's host:port (e.g. "
            f"{THRIFT}=spark-thrift.internal:10000); fix it, or unset it to run Spark in "
            "session mode here."
        )
    return found.group(1), int(found.group(2))


def target() -> str:
    """The profile's target for Spark builds: `spark_thrift` with a Thrift server, else
    `spark` (session mode)."""
    return THRIFT_TARGET if thrift_server() else SPARK


def catalog() -> str:
    """The Spark catalog builds run on, as publish records name it: `session` (the local
    metastore under warehouse/spark/) or `thrift://host:port`."""
    server = thrift_server()
    return f"thrift://{server[0]}:{server[1]}" if server else "session"


def require_spark(build: bool = False) -> None:
    """Raise SparkUnavailableError naming what is missing to run Spark here: for a `build`
    on a Thrift server, dbt-spark with its PyHive client; otherwise (session mode, and
    `mesh query`, which reads the products with a local Spark) dbt-spark, pyspark and Java."""
    on_server = build and thrift_server() is not None
    modules = ("dbt.adapters.spark", "pyhive") if on_server else ("pyspark", "dbt.adapters.spark")
    missing = [name for name in modules if not _importable(name)]
    if missing:
        extra = "PyHive" if on_server else "session"
        raise SparkUnavailableError(
            f"--target spark needs dbt-spark with its {extra} extra"
            f"{'' if on_server else ' and pyspark'} ({', '.join(missing)} not installed). Run "
            "`make test-spark` once, or `.venv/bin/pip install -c constraints.txt -e '.[spark]'`."
        )
    if on_server:
        return
    found = java.problem()
    if found:
        raise SparkUnavailableError(f"--target spark cannot run: {found}")


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def settings(mesh: Mesh) -> dict[str, str]:
    """Where the local Spark keeps the mesh's catalog and tables, and the Thrift server to
    build on if one is set (the profile reads these)."""
    server = thrift_server()
    return {
        **({"MESH_SPARK_HOST": server[0], "MESH_SPARK_PORT": str(server[1])} if server else {}),
        "MESH_SPARK_HOME": str(mesh.engine_dir),
        "SPARK_LOCAL_IP": "127.0.0.1",  # local mode: no network lookup of the host name
        "MESH_SPARK_WAREHOUSE": str(mesh.engine_dir / "tables"),
        "MESH_SPARK_METASTORE": str(mesh.engine_dir / "metastore_db"),
        "MESH_SPARK_MEMORY": SPARK_MEMORY,
        "MESH_SPARK_PARTITIONS": str(os.cpu_count() or 1),  # shuffle partitions: one per core
    }

"""The local Spark: what it needs to run here (pyspark, dbt-spark, Java 17+), and where it
keeps the mesh's catalog and tables (`warehouse/spark/`)."""

from __future__ import annotations

import importlib.util
import os

from mesh.engines.spark import java
from mesh.errors import MeshError
from mesh.workspace import Mesh

SPARK = "spark"
SPARK_MEMORY = "2g"  # the driver's heap: the local Spark's whole memory


class SparkUnavailableError(MeshError):
    """Spark cannot run here: dbt-spark/pyspark not installed, or no Java 17+."""


def literal(text: str) -> str:
    """A string literal in Spark SQL, which escapes with backslashes."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def require_spark() -> None:
    """Raise SparkUnavailableError naming what is missing to run Spark here."""
    missing = [name for name in ("pyspark", "dbt.adapters.spark") if not _importable(name)]
    if missing:
        raise SparkUnavailableError(
            f"--target spark needs dbt-spark with session support and pyspark "
            f"({', '.join(missing)} not installed). Run `make test-spark` once, or "
            "`.venv/bin/pip install -c constraints.txt -e '.[spark]'`."
        )
    found = java.problem()
    if found:
        raise SparkUnavailableError(f"--target spark cannot run: {found}")


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def settings(mesh: Mesh) -> dict[str, str]:
    """Where the local Spark keeps the mesh's catalog and tables (the profile reads these)."""
    return {
        "MESH_SPARK_HOME": str(mesh.engine_dir),
        "SPARK_LOCAL_IP": "127.0.0.1",  # local mode: no network lookup of the host name
        "MESH_SPARK_WAREHOUSE": str(mesh.engine_dir / "tables"),
        "MESH_SPARK_METASTORE": str(mesh.engine_dir / "metastore_db"),
        "MESH_SPARK_MEMORY": SPARK_MEMORY,
        "MESH_SPARK_PARTITIONS": str(os.cpu_count() or 1),  # shuffle partitions: one per core
    }

"""The storage format of published DuckDB files: one that every DuckDB since 1.1 opens, so
consumers and outside tools on DuckDB 1.x (datacontract-cli among them) read the products
files a DuckDB 2.x build publishes.

DuckDB writes a new file in its newest format unless told the compatibility version when the
file is created; it keeps a file's format when it opens it again. The mesh's dbt-duckdb
plugin sets it on every build's connection (`dbt_plugin.Plugin.update_connection_config`),
and the publish refuses a products file in any other format (`check`).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from mesh.discovery.registry import DUCKDB_STORAGE_VERSION, OLDEST_DUCKDB_READER
from mesh.errors import MeshError

# The version is a promise of what is published: mesh.discovery.registry keeps it.
STORAGE_VERSION, OLDEST_READER = DUCKDB_STORAGE_VERSION, OLDEST_DUCKDB_READER
# How DuckDB names the format of a file: by the first release of its file format number, 64
# (0.10 to 1.1) being "v1.0.0+" whichever of those releases' serialisation wrote it. The check
# below catches a file of a newer format; that the serialisation is one DuckDB 1.1.0 reads is
# the plugin's setting, shown by opening every published file with DuckDB 1.1.0
# (tests/integration/test_outside_tools.py).
FILE_FORMAT = "v1.0.0+"


def storage_version(database: Path) -> str:
    """The storage version DuckDB reports for a database file, e.g. "v1.0.0+"."""
    with duckdb.connect(str(database), read_only=True) as con:
        return version_of(con)


def version_of(con: duckdb.DuckDBPyConnection) -> str:
    """The storage version of the database `con` opened."""
    row = con.execute(
        "select tags['storage_version'] from duckdb_databases() "
        "where database_name = current_database()"
    ).fetchone()
    return str(row[0]) if row and row[0] is not None else "unknown"


def check(domain: str, database: Path, con: duckdb.DuckDBPyConnection) -> None:
    """Raise a MeshError unless `database`, which `con` opened, is in the published storage
    format."""
    found = version_of(con)
    if found != FILE_FORMAT:
        raise MeshError(
            f"Cannot publish {domain}: {database.name} is in DuckDB's storage format {found}, "
            f"not {FILE_FORMAT} (written as {STORAGE_VERSION}), which DuckDB {OLDEST_READER} "
            "and newer read. Rebuild the domain with `mesh build --full`."
        )

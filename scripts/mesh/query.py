"""Read-only SQL across the published data products of every domain.

An in-memory DuckDB attaches each domain's published database read-only under the domain's
name (`orders.main.orders_v2`), then turns off external access and locks the configuration
before any user SQL runs: a query can read products and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from mesh.domains import discover
from mesh.errors import MeshError, QueryError
from mesh.workspace import Mesh


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]


def sandbox(mesh: Mesh, memory_limit: str = "2GB") -> duckdb.DuckDBPyConnection:
    """A connection that sees every published domain read-only and can touch nothing else."""
    con = duckdb.connect(":memory:", config={"memory_limit": memory_limit})
    attached = 0
    for name in sorted(discover(mesh)):
        database = mesh.published_database(name)
        if database.exists():
            path = str(database.resolve()).replace("'", "''")
            con.execute(f"attach '{path}' as \"{name}\" (read_only)")
            attached += 1
    if not attached:
        con.close()
        raise MeshError("No domain has been published yet; run `mesh build` first.")
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")
    return con


def read_sql(sql: str | None, file: Path | None) -> str:
    """The SQL to run: given inline or saved in a file, exactly one of them."""
    if (sql is None) == (file is None):
        raise MeshError("Give either SQL or --file PATH to mesh query, not both or neither.")
    if file is not None:
        if not file.is_file():
            raise MeshError(f"No query file at {file}.")
        return file.read_text()
    return str(sql)


def run(mesh: Mesh, sql: str) -> QueryResult:
    con = sandbox(mesh)
    try:
        try:
            relation = con.sql(sql)
        except duckdb.Error as error:
            raise QueryError(f"Query failed: {error}") from error
        if relation is None:  # a statement without a result, e.g. a pragma
            return QueryResult([], [], [])  # type: ignore[unreachable]
        try:
            rows = relation.fetchall()
        except duckdb.Error as error:
            raise QueryError(f"Query failed: {error}") from error
        return QueryResult(relation.columns, [str(t) for t in relation.types], rows)
    finally:
        con.close()

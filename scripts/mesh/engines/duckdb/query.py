"""Read-only SQL across the published data products of one mesh snapshot.

An in-memory DuckDB attaches the products file of each domain's publish in the snapshot
read-only under the domain's name (`orders.main.orders_v2`), then turns off external access
and locks the configuration before any user SQL runs. The files hold products only, so that
is all a query can name. Two guards keep a query to reading them:
- only reading statements run (SELECT in all its forms, EXPLAIN); any other statement is
  refused by name before DuckDB executes anything;
- DuckDB itself refuses what a reading statement could still try: files (`read_csv`,
  `glob`, ...), writes to the read-only products, setting changes, extensions, secrets.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from mesh.discovery.snapshots import View
from mesh.errors import MeshError, QueryError, QueryRefusedError
from mesh.governance.expectations import string_literal
from mesh.pipeline.engine import QueryResult, not_a_product

READING = {"SELECT", "EXPLAIN"}
"""Statements that only read. SELECT includes WITH, FROM-first, VALUES, TABLE, DESCRIBE,
SHOW and SUMMARIZE."""

_WHY = {
    **dict.fromkeys(["ATTACH", "DETACH"], "which would change the databases the query sees"),
    **dict.fromkeys(["SET", "VARIABLE_SET", "PRAGMA"], "which would change a setting"),
    "LOAD": "which would install or load an extension",
    **dict.fromkeys(["COPY", "COPY_DATABASE", "EXPORT"], "which would read or write files"),
    **dict.fromkeys(
        ["INSERT", "UPDATE", "DELETE", "MERGE_INTO", "CREATE", "CREATE_FUNC", "DROP", "ALTER"],
        "which would write data",
    ),
}
# The keywords that name a statement: `CREATE SECRET`, `DROP TABLE`, `PRAGMA`, `INSTALL`...
_KEYWORDS = re.compile(
    r"(create\s+(or\s+replace\s+)?((persistent|temporary|temp|unique)\s+)*[a-z]+"
    r"|(drop|alter)\s+[a-z]+"
    r"|[a-z]+)",
    re.IGNORECASE,
)

# What DuckDB's own guards say when a reading statement reaches past the products.
_DUCKDB_REFUSALS = [
    ("attached in read-only mode", "to write into a published product"),
    ("configuration has been locked", "to change a setting"),
]


def sandbox(view: View, memory_limit: str = "2GB") -> duckdb.DuckDBPyConnection:
    """A connection that sees the products of `view`'s publishes, read-only, and can touch
    nothing else."""
    if not view.publishes:
        raise MeshError("No domain has been published yet; run `mesh build` first.")
    con = duckdb.connect(":memory:", config={"memory_limit": memory_limit})
    for name in sorted(view.publishes):
        database = view.database(name)
        if not database.is_file():
            con.close()
            raise MeshError(
                f"{name}'s publish {view.publishes[name]} in {view.label} has no products "
                f"file {database}; run `mesh build {name} --full`."
            )
        try:
            con.execute(f'attach {string_literal(str(database))} as "{name}" (read_only)')
        except duckdb.Error:
            continue  # damaged: the other domains stay readable (`unreadable` names it)
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")
    return con


def unreadable(con: duckdb.DuckDBPyConnection, view: View) -> dict[str, str]:
    """The domains of `view` whose products file could not be attached (a damaged file),
    each with what to do about it."""
    attached = {row[0] for row in con.execute("select database_name from duckdb_databases()")
                .fetchall()}  # fmt: skip
    return {
        name: (
            f"{name}'s published database {view.database(name)} cannot be read (it is "
            f"damaged); run `mesh verify {name}`, then `mesh repair {name}` or "
            f"`mesh rollback {name}`."
        )
        for name in sorted(set(view.publishes) - attached)
    }


def readable(con: duckdb.DuckDBPyConnection, view: View) -> list[str]:
    """The relations a query in the sandbox can read: the products of `view`."""
    rows = con.execute(
        "select database_name || '.' || schema_name || '.' || table_name from duckdb_tables() "
        "where list_contains(?, database_name) order by 1",
        [sorted(view.publishes)],
    ).fetchall()
    return [row[0] for row in rows]


def read_sql(sql: str | None, file: Path | None) -> str:
    """The SQL to run: given inline or saved in a file, exactly one of them."""
    if (sql is None) == (file is None):
        raise MeshError("Give either SQL or --file PATH to mesh query, not both or neither.")
    if file is not None:
        if not file.is_file():
            raise MeshError(f"No query file at {file}.")
        return file.read_text()
    return str(sql)


def _kind(statement: duckdb.Statement) -> str:
    """The statement's type, e.g. SELECT or ATTACH."""
    try:
        return statement.type.name
    except ValueError:  # a type the Python API has no name for (e.g. UPDATE EXTENSIONS)
        return "UNKNOWN"


def _statement_name(statement: duckdb.Statement, kind: str) -> str:
    """What a statement is, as a user wrote it: `CREATE SECRET`, `PRAGMA`, `INSTALL`..."""
    match = _KEYWORDS.match(statement.query.strip())
    words = " ".join(match.group(0).split()).upper() if match else ""
    if words.startswith("CREATE"):  # drop OR REPLACE, PERSISTENT...: keep CREATE <object>
        words = f"CREATE {words.split()[-1]}"
    return kind if not words or words == "WITH" else words


# `EXPLAIN`, `EXPLAIN ANALYZE`, `EXPLAIN (FORMAT json, ANALYZE)`: the words before what it explains.
_EXPLAIN = re.compile(r"^explain\s*(\([^)]*\)|analy[sz]e)?\s*", re.IGNORECASE)


def refuse_unless_reading(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Raise QueryRefusedError naming the first statement of `sql` that does not only read."""
    for statement in con.extract_statements(sql):
        kind = _kind(statement)
        if kind == "EXPLAIN":  # EXPLAIN ANALYZE runs what it explains: check that too
            explained = _EXPLAIN.sub("", statement.query.strip(), count=1)
            if explained and explained != statement.query.strip():
                refuse_unless_reading(con, explained)
            continue
        if kind in READING:
            continue
        name = _statement_name(statement, kind)
        why = _WHY.get(kind, "which does not only read")
        if name == "CREATE SECRET":
            why = "which would create a secret"
        article = "an" if name[:1] in "AEIOU" else "a"
        raise QueryRefusedError(
            f"mesh query is read-only: it refused {article} {name} statement, {why}. "
            "Only statements that read the published products run: SELECT (also WITH, FROM, "
            "DESCRIBE, SHOW, SUMMARIZE) and EXPLAIN."
        )


# DuckDB's words for a name that is not there: "Table with name x does not exist!"
_MISSING = re.compile(r"(Table|Catalog|Schema) with name (\S+) does not exist")


def _as_written(name: str, sql: str) -> str:
    """`name` as the query wrote it, with its database and schema (`customers.main.x`)."""
    found = re.search(rf'((?:"?\w+"?\.){{0,2}}"?{re.escape(name)}"?)(?![\w"])', sql, re.I)
    return found.group(1) if found else name


def _failed(
    error: duckdb.Error,
    con: duckdb.DuckDBPyConnection | None = None,
    view: View | None = None,
    sql: str = "",
) -> QueryError:
    """The error to raise for DuckDB's `error`: a refusal when one of its guards stopped it;
    for a name that is not a published product, the products there are."""
    message = str(error)
    missing = _MISSING.search(message)
    if missing and con is not None and view is not None:
        damaged = unreadable(con, view)
        written = _as_written(missing.group(2).strip('"'), sql)
        for name, why in damaged.items():
            if written.strip('"').startswith((f"{name}.", f'{name}".')):
                return QueryError(f"The query reads {written}, but {why}")
        return not_a_product(_as_written(missing.group(2), sql), view, readable(con, view))
    if isinstance(error, duckdb.PermissionException):  # external access is off
        return QueryRefusedError(
            f"mesh query is read-only: it refused to reach outside the published products "
            f"(files, extensions, secrets). {message}"
        )
    for sign, what in _DUCKDB_REFUSALS:
        if sign in message:
            return QueryRefusedError(f"mesh query is read-only: it refused {what}. {message}")
    return QueryError(f"Query failed: {message}")


def run_in(con: duckdb.DuckDBPyConnection, view: View, sql: str) -> QueryResult:
    """Run `sql` in a sandbox of `view`, if it only reads."""
    try:
        refuse_unless_reading(con, sql)
        relation = con.sql(sql)
        if relation is None:
            raise QueryError("The query is empty: give a SELECT statement to run.")
        rows = relation.fetchall()
    except duckdb.Error as error:
        raise _failed(error, con, view, sql) from error
    warnings = list(unreadable(con, view).values())
    return QueryResult(relation.columns, [str(t) for t in relation.types], rows, warnings)


def run(view: View, sql: str) -> QueryResult:
    with sandbox(view) as con:
        return run_in(con, view, sql)

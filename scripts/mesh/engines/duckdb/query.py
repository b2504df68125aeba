"""Read-only SQL across the published data products of one mesh snapshot.

An in-memory DuckDB attaches the products file of each domain's publish in the snapshot
read-only under the domain's name (`orders.main.orders_v2`), then turns off external access
and locks the configuration before any user SQL runs. The files hold products only, so that
is all a query can name. Two guards keep a query to reading them:
- only reading statements run (SELECT in all its forms, and EXPLAIN, PREPARE and PIVOT of
  one); any other statement, also one wrapped in EXPLAIN ANALYZE or PREPARE, is refused by
  name before DuckDB executes anything;
- DuckDB itself refuses what a reading statement could still try: files (`read_csv`,
  `glob`, ...), writes to the read-only products, setting changes, extensions, secrets.
  The one folder it still lets a statement write to is its temporary folder; that is the
  session's own, inside the warehouse (`mesh.engines.scratch`), never `<cwd>/.tmp`.
Limits (`QueryLimits`) keep a query from holding the terminal, the memory or the disk: a
time limit (the query runs in a thread the caller interrupts), a row limit on what is
fetched into Python, DuckDB's memory limit and a cap on what it spills.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from pathlib import Path
from typing import Any

import duckdb

from mesh.discovery.snapshots import View
from mesh.engines import scratch
from mesh.errors import MeshError, QueryError, QueryLimitError, QueryRefusedError
from mesh.governance.expectations import string_literal
from mesh.pipeline.engine import QueryLimits, QueryResult, not_a_product, timed_out

READING = {"SELECT", "EXECUTE"}
"""Statements that only read. SELECT includes WITH, FROM-first, VALUES, TABLE, DESCRIBE,
SHOW, SUMMARIZE and PIVOT with its values listed; EXECUTE runs a prepared statement, and
only reading statements are prepared (`refuse_unless_reading`). EXPLAIN, PREPARE and a
PIVOT that first looks up its values (MULTI) read when what they wrap reads."""

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


def sandbox(view: View, limits: QueryLimits | None = None) -> duckdb.DuckDBPyConnection:
    """A connection that sees the products of `view`'s publishes, read-only, and can touch
    nothing else; its memory and spill within `limits`. Close it with `close`."""
    if not view.publishes:
        raise MeshError("No domain has been published yet; run `mesh build` first.")
    limits = limits or QueryLimits()
    config: dict[str, str | bool | int | float | list[str]] = {
        "memory_limit": limits.memory_limit,
        "temp_directory": str(scratch.new_folder(view.mesh)),
        "max_temp_directory_size": limits.spill_limit,
    }
    try:
        con = duckdb.connect(":memory:", config=config)
    except duckdb.Error as error:  # a limit DuckDB cannot read, e.g. "2 gigs"
        raise QueryLimitError(
            f"mesh query cannot use its limits (memory {limits.memory_limit}, spill "
            f"{limits.spill_limit}): {error}. Give sizes such as 500MB, 2GB or 1.5TB."
        ) from None
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


def close(con: duckdb.DuckDBPyConnection) -> None:
    """Close a sandbox and remove its temporary folder with what it spilled."""
    try:
        row = con.execute("select current_setting('temp_directory')").fetchone()
    except duckdb.Error:  # already closed
        return
    con.close()
    if row is not None:
        scratch.remove(Path(str(row[0])))


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


def _tokens(sql: str) -> list[tuple[str, str, int]]:
    """The tokens of `sql` as DuckDB's tokenizer reads them, comments left out: (text in
    lower case, token type, where it starts)."""
    found = duckdb.tokenize(sql)
    tokens = []
    for index, (start, kind) in enumerate(found):
        if kind == duckdb.token_type.comment:
            continue
        end = found[index + 1][0] if index + 1 < len(found) else len(sql)
        tokens.append((sql[start:end].strip().lower(), kind.name, start))
    return tokens


def _wrapped(sql: str, kind: str) -> str | None:
    """The statement an EXPLAIN (`EXPLAIN ANALYZE x`, `EXPLAIN (FORMAT json, ANALYZE) x`) or
    a PREPARE (`PREPARE p AS x`) wraps: `x`, from DuckDB's own tokens, so that no comment
    or quoted parenthesis hides it. None when there is none to find."""
    tokens = _tokens(sql)
    at = 1
    if kind == "EXPLAIN":
        if at < len(tokens) and tokens[at][0] in ("analyze", "analyse"):
            at += 1
        elif at < len(tokens) and tokens[at][0] == "(":  # options: skip to the closing one
            depth = 1
            while depth > 0 and at + 1 < len(tokens):
                at += 1
                if tokens[at][1] == "operator":
                    depth += tokens[at][0].count("(") - tokens[at][0].count(")")
            at += 1
    else:  # PREPARE name [(types)] AS statement
        while at < len(tokens) and tokens[at][0] != "as":
            at += 1
        at += 1
    return sql[tokens[at][2] :] if at < len(tokens) else None


# Statements that only change what a PIVOT (a MULTI statement: first it looks up the values
# to pivot on) could be wrapped into: `CREATE TABLE x AS PIVOT ...`.
_WRITING_WORDS = {
    "alter", "attach", "copy", "create", "delete", "detach", "drop", "export", "insert",
    "install", "load", "merge", "pragma", "reset", "set", "truncate", "update", "use",
}  # fmt: skip


def _reading_pivot(sql: str) -> bool:
    """Whether a MULTI statement is a PIVOT (possibly after WITH) and nothing else."""
    tokens = _tokens(sql)
    words = {text for text, kind, _ in tokens if kind == "keyword"}
    return bool(words & {"pivot", "pivot_wider"}) and not words & _WRITING_WORDS


def refuse_unless_reading(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Raise QueryRefusedError naming the first statement of `sql` that does not only read.
    Every statement DuckDB parses passes here, also the one an EXPLAIN (ANALYZE runs it) or
    a PREPARE (EXECUTE runs it) wraps."""
    for statement in con.extract_statements(sql):
        kind = _kind(statement)
        if kind in ("EXPLAIN", "PREPARE"):
            wrapped = _wrapped(statement.query, kind)
            if wrapped is None:
                raise QueryError(f"Query failed: {kind} of nothing: {statement.query.strip()}")
            refuse_unless_reading(con, wrapped)
            continue
        if kind in READING or (kind == "MULTI" and _reading_pivot(statement.query)):
            continue
        name = _statement_name(statement, kind)
        why = _WHY.get(kind, "which does not only read")
        if name == "CREATE SECRET":
            why = "which would create a secret"
        article = "an" if name[:1] in "AEIOU" else "a"
        raise QueryRefusedError(
            f"mesh query is read-only: it refused {article} {name} statement, {why}. "
            "Only statements that read the published products run: SELECT (also WITH, FROM, "
            "DESCRIBE, SHOW, SUMMARIZE, PIVOT) and EXPLAIN or PREPARE of one."
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
    limits: QueryLimits | None = None,
) -> QueryError:
    """The error to raise for DuckDB's `error`: a refusal when one of its guards stopped it;
    for a name that is not a published product, the products there are; for a limit, which
    one and how to raise it."""
    message = str(error)
    missing = _MISSING.search(message)
    if missing and con is not None and view is not None:
        damaged = unreadable(con, view)
        written = _as_written(missing.group(2).strip('"'), sql)
        for name, why in damaged.items():
            if written.strip('"').startswith((f"{name}.", f'{name}".')):
                return QueryError(f"The query reads {written}, but {why}")
        return not_a_product(_as_written(missing.group(2), sql), view, readable(con, view))
    if isinstance(error, duckdb.OutOfMemoryException):
        return _out_of_memory(message, limits or QueryLimits())
    if isinstance(error, duckdb.PermissionException):  # external access is off
        return QueryRefusedError(
            f"mesh query is read-only: it refused to reach outside the published products "
            f"(files, extensions, secrets). {message}"
        )
    for sign, what in _DUCKDB_REFUSALS:
        if sign in message:
            return QueryRefusedError(f"mesh query is read-only: it refused {what}. {message}")
    return QueryError(f"Query failed: {message}")


def _out_of_memory(message: str, limits: QueryLimits) -> QueryLimitError:
    """Which of the two limits a query ran out of: the disk it may spill to, or memory."""
    if "max_temp_directory_size" in message:
        return QueryLimitError(
            f"The query needed more temporary disk than its spill limit ({limits.spill_limit}, in "
            f"warehouse/tmp) and was stopped; allow more with "
            f"{limits.option('spill_limit', '8GB')} if the disk has room, or narrow the query."
        )
    return QueryLimitError(
        f"The query needed more memory than its memory limit ({limits.memory_limit}) and was "
        f"stopped; allow more with {limits.option('memory_limit', '4GB')}, or narrow the query."
    )


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, max_rows: int) -> QueryResult:
    """Run `sql` and fetch at most `max_rows` rows of its last statement (0: all), and
    whether it had more. Only max_rows + 1 rows are ever fetched into Python."""
    relation = con.sql(sql)
    if relation is None:
        raise QueryError("The query is empty: give a SELECT statement to run.")
    if max_rows:
        relation = relation.limit(max_rows + 1)
    rows = relation.fetchall()
    types = [str(t) for t in relation.types]
    cut = bool(max_rows) and len(rows) > max_rows
    return QueryResult(relation.columns, types, rows[:max_rows] if cut else rows, truncated=cut)


def _within_time(con: duckdb.DuckDBPyConnection, sql: str, limits: QueryLimits) -> QueryResult:
    """`_fetch` in a thread, while this one waits: past the time limit, or at Ctrl-C
    (KeyboardInterrupt, which DuckDB would otherwise turn into its own error seconds later),
    it interrupts the connection and raises QueryLimitError or KeyboardInterrupt."""
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            outcome["result"] = _fetch(con, sql, limits.max_rows)
        except BaseException as error:  # handed to the waiting thread
            outcome["error"] = error
        finally:
            done.set()

    threading.Thread(target=work, name="mesh query", daemon=True).start()
    stopped: BaseException | None = None
    try:
        if not done.wait(limits.timeout or None):
            stopped = timed_out(limits)
    except KeyboardInterrupt as interrupt:
        stopped = interrupt
    while not done.wait(0.1):  # again until it stops: one may come before it started
        con.interrupt()
    if "result" in outcome:
        return outcome["result"]  # type: ignore[no-any-return]
    error = outcome["error"]
    if stopped is not None and isinstance(error, duckdb.InterruptException):
        raise stopped from None
    raise error


def run_in(
    con: duckdb.DuckDBPyConnection, view: View, sql: str, limits: QueryLimits | None = None
) -> QueryResult:
    """Run `sql` in a sandbox of `view`, if it only reads, within `limits`."""
    limits = limits or QueryLimits()
    try:
        refuse_unless_reading(con, sql)
        result = _within_time(con, sql, limits)
    except duckdb.Error as error:
        raise _failed(error, con, view, sql, limits) from error
    return dataclasses.replace(result, warnings=list(unreadable(con, view).values()))


def run(view: View, sql: str, limits: QueryLimits | None = None) -> QueryResult:
    con = sandbox(view, limits)
    try:
        return run_in(con, view, sql, limits)
    finally:
        close(con)

"""`mesh.connect()`: read the mesh's data products from Python, as `mesh query` does.

    import mesh

    with mesh.connect() as con:                       # the current mesh snapshot
        con.sql("select * from orders.main.orders_v2 limit 5").show()
        rows = con.sql("select count(*) from customers.main.customers_v1").fetchall()

The connection holds one mesh snapshot for its whole life: every query sees the same
publishes, whatever is published meanwhile. It offers what `mesh query` does and nothing
more: the products of each domain's publish, attached read-only, external access off and
the configuration locked, and only statements that read. The DuckDB connection under it is
not handed out: a raw connection would accept `ATTACH ... (READ_ONLY false)`. It has the
limits of `mesh query` (`QueryLimits`), given as parameters of `connect()`: a query that
runs too long, or needs too much memory or temporary disk, is stopped with an error naming
the limit; a result is cut at `max_rows` rows, with a warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb

from mesh.discovery.snapshots import Snapshot, View, view
from mesh.engines.duckdb import query
from mesh.errors import MeshError
from mesh.pipeline.engine import QueryLimits, QueryResult
from mesh.workspace import Mesh


class Result:
    """The rows of one query: `fetchall()`, `columns`, `types`, `show()`, and `df()` when
    pandas is installed."""

    def __init__(self, result: QueryResult, note: str | None = None) -> None:
        self._result = result
        self._note = note

    @property
    def truncated(self) -> bool:
        """Whether the result had more rows than the connection's `max_rows` (those were
        not fetched)."""
        return self._result.truncated

    @property
    def columns(self) -> list[str]:
        return list(self._result.columns)

    @property
    def types(self) -> list[str]:
        return list(self._result.types)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self._result.rows)

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._result.rows[0] if self._result.rows else None

    def records(self) -> list[dict[str, Any]]:
        """The rows as dictionaries, column name to value."""
        return [dict(zip(self.columns, row, strict=True)) for row in self._result.rows]

    def df(self) -> Any:
        """The rows as a pandas DataFrame (pandas is not a dependency of the mesh)."""
        try:
            import pandas  # type: ignore[import-not-found, import-untyped, unused-ignore]
        except ImportError:
            raise MeshError("Result.df() needs pandas: pip install pandas.") from None
        return pandas.DataFrame.from_records(self._result.rows, columns=self.columns)

    def __len__(self) -> int:
        return len(self._result.rows)

    def __repr__(self) -> str:
        return _text_table(self.columns, self._result.rows)

    def show(self, limit: int = 20) -> None:
        print(_text_table(self.columns, self._result.rows[:limit]))
        if len(self._result.rows) > limit:
            print(f"({len(self._result.rows)} rows, {limit} shown)")
        if self._note:
            print(self._note)


def _text_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [list(columns), *[["" if v is None else str(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in cells]  # fmt: skip
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


class Connection:
    """A read-only connection to the data products of one mesh snapshot."""

    def __init__(self, view: View, limits: QueryLimits | None = None) -> None:
        self._view = view
        self._limits = limits or QueryLimits(python=True)
        self._con: duckdb.DuckDBPyConnection | None = query.sandbox(view, self._limits)

    @property
    def limits(self) -> QueryLimits:
        """What each query may use: time, rows fetched, memory, temporary disk."""
        return self._limits

    @property
    def snapshot(self) -> Snapshot | None:
        """The mesh snapshot it reads (None with `latest=True`)."""
        return self._view.snapshot

    @property
    def publishes(self) -> dict[str, str]:
        """The publish of each domain it reads."""
        return dict(self._view.publishes)

    @property
    def mixed(self) -> list[str]:
        """With `latest=True`: where the newest publishes were not built together."""
        return list(self._view.mixed)

    def _open(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise MeshError("This mesh connection is closed; open another with mesh.connect().")
        return self._con

    def sql(self, sql: str) -> Result:
        """Run one or more statements that only read; the last one's rows (at most
        `max_rows` of them: a warning says when there were more)."""
        result = query.run_in(self._open(), self._view, sql, self._limits)
        note = result.cut_note(self._limits)
        if note:
            warnings.warn(note, stacklevel=2)
        return Result(result, note)

    def products(self) -> list[str]:
        """The relations it can read: `<domain>.<schema>.<product>_v<N>`."""
        return query.readable(self._open(), self._view)

    def close(self) -> None:
        if self._con is not None:
            query.close(self._con)
            self._con = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._con is None else "open"
        return f"<mesh connection ({state}) to {self._view.label}>"


def connect(
    path: str | Path | None = None,
    *,
    at: str | None = None,
    latest: bool = False,
    timeout: float = QueryLimits.timeout,
    max_rows: int = QueryLimits.max_rows,
    memory_limit: str = QueryLimits.memory_limit,
    spill_limit: str = QueryLimits.spill_limit,
) -> Connection:
    """A read-only connection to the mesh at or above `path` (default: the current
    directory): its current snapshot, the one current `at` a time (ISO 8601), or with
    `latest` the newest publish of each domain (`Connection.mixed` says where they mix).

    Each query may run `timeout` seconds, fetches at most `max_rows` rows (0 for either: no
    limit), and DuckDB may use `memory_limit` of memory and spill `spill_limit` to disk in
    warehouse/tmp."""
    mesh = Mesh.find(Path(path) if path is not None else None)
    limits = QueryLimits(timeout, max_rows, memory_limit, spill_limit, python=True)
    return Connection(view(mesh, at_time=at, latest=latest), limits)

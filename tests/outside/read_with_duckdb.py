"""Run inside the environment of the oldest DuckDB the mesh promises to open its published
files with (make outside-tools), not by pytest:

    python read_with_duckdb.py <products.duckdb> [...]

Prints one JSON line per file: DuckDB's version, and for each table its rows, each as text in
the table's column order, sorted, so another DuckDB's reading can be compared with it.
"""

from __future__ import annotations

import json
import sys

import duckdb


def main(paths: list[str]) -> None:
    for path in paths:
        with duckdb.connect(path, read_only=True) as con:
            names = [row[0] for row in con.execute("show tables").fetchall()]
            tables = {}
            for name in names:
                rows = con.execute(f'select * from "{name}"').fetchall()
                tables[name] = sorted([str(value) for value in row] for row in rows)
        line = {"file": path, "duckdb": duckdb.__version__, "tables": tables}
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

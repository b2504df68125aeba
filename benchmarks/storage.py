"""What publishing in DuckDB 1.1's storage format costs (`mesh.engines.duckdb.storage`):
every products file of a built mesh written again in that format and in DuckDB's newest,
each timed, measured on disk, and scanned (the maximum of every column of every table).

    python -m benchmarks.storage <mesh root>    prints one JSON object
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from mesh.engines.duckdb.storage import STORAGE_VERSION


def _rewrite(source: Path, target: Path, version: str | None) -> float:
    config: dict[str, str | bool | int | float | list[str]] = {}
    if version:
        config["storage_compatibility_version"] = version
    started = time.perf_counter()
    with duckdb.connect(str(target), config=config) as con:
        con.execute(f"attach '{source}' as source (read_only)")
        con.execute(f"copy from database source to {target.stem}")
        con.execute("checkpoint")
    return time.perf_counter() - started


def _scan(database: Path) -> float:
    with duckdb.connect(str(database), read_only=True) as con:
        tables = [row[0] for row in con.execute("show tables").fetchall()]
        started = time.perf_counter()
        for table in tables:
            con.execute(f'select max(columns(*)) from "{table}"').fetchall()
        return time.perf_counter() - started


def measure(root: Path) -> dict[str, Any]:
    files = sorted((root / "warehouse" / "published").glob("*/current/*.duckdb"))
    found: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        for label, version in (("published", STORAGE_VERSION), ("newest", None)):
            seconds = scan = 0.0
            size = 0
            for source in files:
                target = Path(folder) / label / source.name
                target.parent.mkdir(exist_ok=True)
                seconds += _rewrite(source, target, version)
                size += target.stat().st_size
                scan += min(_scan(target) for _ in range(3))
            found[label] = {"write_seconds": seconds, "bytes": size, "scan_seconds": scan}
    found["version"] = STORAGE_VERSION
    return found


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]))))

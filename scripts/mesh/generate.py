"""Operational source data for every domain, generated with DuckDB SQL.

The SQL in `generate_sql/` simulates the shop's operational systems: each file creates one
schema per domain with one table per exported source table. Every table is written to
`landing/<domain>/<table>.csv`, as the operational system would export it: strings,
re-delivered duplicates, inconsistent casing, nulls and late updates included.

Randomness comes from hashing (row key, purpose, seed), so the same seed and scale give
byte-identical files, whatever the thread count.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb

from mesh.domains import LANDING_FORMAT
from mesh.errors import MeshError
from mesh.workspace import Mesh

# Rows of the main entities at scale 1. Every table grows in proportion to the scale,
# except the fixed category tree.
BASE_COUNTS = {"n_customers": 5_000, "n_products": 400, "n_orders": 25_000}


@dataclass(frozen=True)
class LandingFile:
    domain: str
    table: str
    path: Path
    rows: int


@dataclass(frozen=True)
class GenerateResult:
    files: list[LandingFile]
    seconds: float

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)


def entity_counts(scale: float) -> dict[str, int]:
    if not math.isfinite(scale) or scale <= 0:
        raise MeshError(f"--scale must be a number greater than 0, got {scale}.")
    return {name: max(1, round(base * scale)) for name, base in BASE_COUNTS.items()}


def _scripts() -> list[str]:
    folder = resources.files("mesh") / "generate_sql"
    return [
        f.read_text()
        for f in sorted(folder.iterdir(), key=lambda f: f.name)
        if f.name.endswith(".sql")
    ]


def generate(
    mesh: Mesh, scale: float = 1.0, seed: int = 42, threads: int | None = None
) -> GenerateResult:
    """Generate every domain's landing files; replaces each file atomically."""
    started = time.perf_counter()
    counts = entity_counts(scale)
    con = duckdb.connect(config={"threads": threads or os.cpu_count() or 1})
    try:
        con.execute("set variable seed = ?", [seed])
        for name, value in counts.items():
            con.execute(f"set variable {name} = ?", [value])
        for script in _scripts():
            con.execute(script)
        tables = con.execute(
            """
            select schema_name, table_name, estimated_size
            from duckdb_tables()
            where database_name = current_database() and not temporary
            order by schema_name, table_name
            """
        ).fetchall()
        files = []
        for domain, table, _ in tables:
            target = mesh.landing_dir(domain) / f"{table}.{LANDING_FORMAT}"
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(target.suffix + ".partial")
            quoted = str(partial).replace("'", "''")
            con.execute(
                f"copy (select * from {domain}.{table} order by all) "
                f"to '{quoted}' (format csv, header true)"
            )
            partial.replace(target)
            rows = con.execute(f"select count(*) from {domain}.{table}").fetchone()
            files.append(LandingFile(domain, table, target, rows[0] if rows else 0))
    finally:
        con.close()
    return GenerateResult(files, time.perf_counter() - started)

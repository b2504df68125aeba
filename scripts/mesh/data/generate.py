"""Operational source data for every domain, generated with DuckDB SQL.

The SQL in `generate_sql/` simulates the shop's operational systems: each file creates one
schema per domain with one table per exported source table. Each export of a table is one
Parquet file, `landing/<domain>/<table>/<export instant>.parquet`, as the operational
system would drop it: re-delivered duplicates, inconsistent casing, nulls and late status
updates included, and every row stamped with its `exported_at`. Each export run of a domain
then writes its delivery manifest, `landing/<domain>/_deliveries/<export instant>.json`
(every file's size, row count and sha256, see `landing`), as real export jobs do: a build
reads only files a manifest lists, unchanged.

`generate` writes the first export: a year of history up to `as_of`. `append` writes the
next export, the events of the following days only, which is what incremental models load.

Randomness comes from hashing (row key, purpose, seed), so the same seed, scale and export
instants give byte-identical files, whatever the thread count.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import duckdb

from mesh.data.landing import DELIVERIES, delivered, write_delivery
from mesh.discovery.domains import LANDING_FORMAT
from mesh.errors import MeshError
from mesh.workspace import Mesh

# Rows of the main entities at scale 1: customers and products in total, orders per year.
# Every table grows in proportion to the scale, except the fixed category tree.
BASE_COUNTS = {"n_customers": 5_000, "n_products": 400, "n_orders": 25_000}

# Systems that export a full snapshot once; the others export the events of each window.
SNAPSHOT_SYSTEMS = frozenset({"customers", "catalog"})

# What the exports so far were made with, so that `append` continues the same history.
EXPORTS_FILE = "exports.json"


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
    export_to: datetime

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class History:
    """The parameters of the first export and the instants of every export since."""

    scale: float
    seed: int
    exports: list[datetime]

    def to_json(self) -> str:
        exports = [e.isoformat() for e in self.exports]
        return json.dumps({"scale": self.scale, "seed": self.seed, "exports": exports}, indent=2)

    @classmethod
    def read(cls, mesh: Mesh) -> History:
        path = mesh.landing / EXPORTS_FILE
        if not path.exists():
            raise MeshError(
                f"{path.relative_to(mesh.root)} not found: run `mesh generate` before "
                "appending days to its history."
            )
        data = json.loads(path.read_text())
        exports = [datetime.fromisoformat(e) for e in data["exports"]]
        return cls(data["scale"], data["seed"], exports)


def entity_counts(scale: float) -> dict[str, int]:
    if not math.isfinite(scale) or scale <= 0:
        raise MeshError(f"--scale must be a number greater than 0, got {scale}.")
    return {name: max(1, round(base * scale)) for name, base in BASE_COUNTS.items()}


def _scripts() -> list[str]:
    folder = resources.files("mesh.data") / "generate_sql"
    return [
        f.read_text()
        for f in sorted(folder.iterdir(), key=lambda f: f.name)
        if f.name.endswith(".sql")
    ]


def _export(
    folder: Path,
    history: History,
    export_from: datetime,
    export_to: datetime,
    snapshots: bool,
    threads: int | None,
) -> list[LandingFile]:
    """Run the simulation for one export window and write its files under `folder`: each
    first as a hidden partial file beside the delivery manifests (out of every folder a
    build reads), moved into its table folder once all are written; then each domain's
    delivery manifest, which says the delivery is complete."""
    with duckdb.connect(config={"threads": threads or os.cpu_count() or 1}) as con:
        con.execute("set variable seed = ?", [history.seed])
        for name, value in entity_counts(history.scale).items():
            con.execute(f"set variable {name} = ?", [value])
        con.execute("set variable first_export = ?", [history.exports[0]])
        con.execute("set variable export_from = ?", [export_from])
        con.execute("set variable export_to = ?", [export_to])
        for script in _scripts():
            con.execute(script)
        # Each exported table is a view, computed once while it is written.
        tables = con.execute(
            """
            select schema_name, view_name
            from duckdb_views()
            where database_name = current_database() and not internal and not temporary
            order by schema_name, view_name
            """
        ).fetchall()
        files = []
        for domain, table in tables:
            if domain in SNAPSHOT_SYSTEMS and not snapshots:
                continue
            target = folder / domain / table / f"{_delivery(export_to)}.{LANDING_FORMAT}"
            partial = _partial(target)
            partial.parent.mkdir(parents=True, exist_ok=True)
            quoted = str(partial).replace("'", "''")
            written = con.execute(
                f"copy (select * from {domain}.{table}) to '{quoted}' (format parquet)"
            ).fetchone()
            files.append(LandingFile(domain, table, target, written[0] if written else 0))
    for f in files:
        f.path.parent.mkdir(parents=True, exist_ok=True)
        _partial(f.path).rename(f.path)
    for domain in sorted({f.domain for f in files}):
        write_delivery(
            folder / domain,
            _delivery(export_to),
            [delivered(f.path, f.rows) for f in files if f.domain == domain],
        )
    return files


def _delivery(export_to: datetime) -> str:
    """An export's name: its instant, as files may be named (no colons)."""
    return f"{export_to:%Y-%m-%dT%H%M%S}"


def _partial(target: Path) -> Path:
    """Where `target` is written before its delivery is complete."""
    domain_dir = target.parent.parent
    return domain_dir / DELIVERIES / f".{target.parent.name}-{target.name}.partial"


def generate(
    mesh: Mesh,
    scale: float = 1.0,
    seed: int = 42,
    threads: int | None = None,
    as_of: datetime | None = None,
) -> GenerateResult:
    """Write the first export of every system, a year of history up to `as_of`, replacing
    whatever landing data there was (in one rename)."""
    started = time.perf_counter()
    entity_counts(scale)
    # By default the last full hour: freshly generated data is fresh.
    export_to = as_of or datetime.now(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    history = History(scale, seed, [export_to])
    partial = mesh.landing.with_name(f".landing-{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    before_history = export_to - timedelta(days=400)  # so the export holds all of it
    files = _export(partial, history, before_history, export_to, snapshots=True, threads=threads)
    (partial / EXPORTS_FILE).write_text(history.to_json())
    old = mesh.landing.with_name(f".landing-{os.getpid()}.old")
    if mesh.landing.exists():
        mesh.landing.rename(old)
    partial.rename(mesh.landing)
    shutil.rmtree(old, ignore_errors=True)
    files = [replace(f, path=mesh.landing / f.path.relative_to(partial)) for f in files]
    return GenerateResult(files, time.perf_counter() - started, export_to)


def append(mesh: Mesh, days: int, threads: int | None = None) -> GenerateResult:
    """Write the next export of the event systems: what happened in the `days` after the
    last export (new orders, and the status changes, payments, shipments and deliveries of
    earlier ones). Snapshot systems are not exported again."""
    if days < 1:
        raise MeshError(f"--append-days must be 1 or more, got {days}.")
    started = time.perf_counter()
    history = History.read(mesh)
    export_from = history.exports[-1]
    export_to = export_from + timedelta(days=days)
    files = _export(mesh.landing, history, export_from, export_to, snapshots=False, threads=threads)
    history = History(history.scale, history.seed, [*history.exports, export_to])
    exports = mesh.landing / EXPORTS_FILE
    exports.with_suffix(".partial").write_text(history.to_json())
    exports.with_suffix(".partial").replace(exports)
    return GenerateResult(files, time.perf_counter() - started, export_to)

"""Landing contracts: every export file must carry the columns its dbt source declares.

A source table in a domain's YAML declares its columns with the `data_type` its operational
system exports. Before dbt runs, `mesh build` reads the schema of every export file of the
domain's tables (Parquet metadata, no data) and stops the domain, naming the file, the
source and the column, when a file cannot be read (empty, truncated, not Parquet), a
declared column is missing, or a column has another type (a number or a date exported as
text, text exported as bytes in another encoding). This holds for every new export, which
an incremental model would otherwise read with the missing column as nulls.

Extra columns are allowed: staging selects the columns it names, so a column a system
starts to export changes nothing until a model uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from mesh.discovery.domains import LANDING_FORMAT, Domain, read_yaml
from mesh.workspace import Mesh


@dataclass(frozen=True)
class SourceTable:
    source: str
    table: str
    columns: dict[str, str]  # name -> declared type, upper case


def _normalise(data_type: str) -> str:
    return "".join(str(data_type).split()).upper()


def declared(domain: Domain) -> list[SourceTable]:
    """The source tables of `domain` that declare typed columns."""
    found = []
    models = domain.path / "models"
    for path in sorted([*models.rglob("*.yml"), *models.rglob("*.yaml")]):
        for source in read_yaml(path).get("sources") or []:
            for table in source.get("tables") or []:
                columns = {
                    column["name"]: _normalise(column["data_type"])
                    for column in table.get("columns") or []
                    if column.get("data_type")
                }
                if columns:
                    found.append(SourceTable(source["name"], table["name"], columns))
    return found


def _problems(path: Path, table: SourceTable, con: duckdb.DuckDBPyConnection) -> list[str]:
    quoted = str(path).replace("'", "''")
    try:
        described = con.execute(f"describe select * from read_parquet('{quoted}')").fetchall()
    except duckdb.Error as error:
        return [f"cannot be read: {str(error).splitlines()[0]}"]
    actual = {name: _normalise(data_type) for name, data_type, *_ in described}
    problems = []
    for name, data_type in table.columns.items():
        if name not in actual:
            problems.append(f"column {name} ({data_type.lower()}) is missing")
        elif actual[name] != data_type:
            problems.append(
                f"column {name} is {actual[name].lower()}, the source declares {data_type.lower()}"
            )
    return problems


def check(mesh: Mesh, domain: Domain, passed: dict[str, str] | None = None) -> list[str]:
    """One line per export file that breaks its source's declared columns. `passed` maps
    files a published build already read (path -> "size mtime", as `fingerprint.
    landing_state` gives) to skip when unchanged: a year of daily exports is checked once."""
    found: list[str] = []
    passed = passed or {}
    with duckdb.connect() as con:
        for table in declared(domain):
            folder = mesh.landing_dir(domain.name) / table.table
            for path in sorted(folder.glob(f"*.{LANDING_FORMAT}")):
                if passed.get(str(path.relative_to(mesh.root))) == file_state(path):
                    continue
                where = f"{path.relative_to(mesh.root)} (source {table.source}.{table.table})"
                found.extend(f"{where}: {problem}" for problem in _problems(path, table, con))
    return found


def file_state(path: Path) -> str:
    """A file's size and modification time: what says it changed, as make does."""
    stat = path.stat()
    return f"{stat.st_size} {stat.st_mtime_ns}"


def landing_state(mesh: Mesh, domain: Domain) -> dict[str, str]:
    """Every landing file `domain` reads, by path, with its size and modification time."""
    return {
        str(path.relative_to(mesh.root)): file_state(path) for path in domain.landing_files(mesh)
    }

"""Landing integrity and contracts: dbt reads exactly the export files checked here.

Every export arrives as `landing/<domain>/<table>/<name>.parquet` together with a delivery
manifest, `landing/<domain>/_deliveries/<delivery>.json`, written by the export job once
its files are in place (as real export jobs do; `mesh generate` writes them): each file's
path, size, row count and sha256. An incremental export adds its own manifest and never
rewrites an earlier one, so a year of daily exports is a year of small manifests.

Before dbt runs, `mesh build` lists each table folder entry by entry (no glob, no following
of links) and refuses, naming the file, what dbt must not read:
- a name outside `EXPORT_NAME` (glob characters `*?[`, backslashes, spaces, quotes,
  non-ASCII, a leading dot): DuckDB would expand it as a pattern, Spark would skip it;
- a symbolic link (to a file in the folder or anywhere else) or anything but a regular file;
  a landing or table folder that is itself a link: what is read must be in the landing folder;
- a file no delivery manifest lists, a listed file that is missing, or one whose size, then
  sha256, differs from its manifest: damage in transit or on disk (a flipped bit in a data
  page keeps the file readable and every test passing);
- a file whose Parquet metadata holds another row count than its manifest, or which breaks
  its source's declared columns (the landing contract): a declared column missing or of
  another type (a number or a date exported as text, text as bytes in another encoding).
  Extra columns are allowed: staging selects the columns it names.

dbt then reads the verified files by name: the pipeline hands each table's list to dbt as
a SQL list of string literals (`dbt_env`), which the sources' `external_location` reads,
instead of a glob over the folder that could match other files than the ones checked.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from mesh.discovery.domains import LANDING_FORMAT, Domain, read_yaml
from mesh.workspace import Mesh

# What an export file may be called: letters, digits, `_`, `-` and `.`, not first a dot.
# Nothing a glob reads as a pattern, nothing a shell or SQL string must quote.
EXPORT_NAME = re.compile(rf"[A-Za-z0-9_-][A-Za-z0-9_.-]*\.{LANDING_FORMAT}")
# Per domain: one delivery manifest per export run, beside the table folders.
DELIVERIES = "_deliveries"
# The environment variable that hands a table's verified files to dbt (see dbt_env).
FILES_VARIABLE = "MESH_LANDING__{table}"
WHAT_TO_DO = "remove it, or have the export job deliver it again with its manifest"


@dataclass(frozen=True)
class SourceTable:
    source: str
    table: str
    columns: dict[str, str]  # name -> declared type, upper case


@dataclass(frozen=True)
class Delivered:
    """One file as a delivery manifest lists it."""

    file: str  # `<table>/<name>`, relative to the domain's landing folder
    size: int
    rows: int
    sha256: str


@dataclass
class Verified:
    """What `verify` found: the files dbt may read, or why it must not run."""

    files: dict[str, list[Path]] = field(default_factory=dict)  # table -> exports, by name
    problems: list[str] = field(default_factory=list)


def sha256_of(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def delivered(path: Path, rows: int) -> Delivered:
    """The manifest entry of an export file the export job just wrote with `rows` rows."""
    return Delivered(f"{path.parent.name}/{path.name}", path.stat().st_size, rows, sha256_of(path))


def write_delivery(domain_dir: Path, delivery: str, files: list[Delivered]) -> Path:
    """Write the manifest of one delivery of a domain's exports (after its files are in
    place: a manifest is what says a delivery is complete)."""
    folder = domain_dir / DELIVERIES
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{delivery}.json"
    partial = path.with_name(f".{path.name}.partial")
    content = {"delivery": delivery, "files": [asdict(f) for f in files]}
    partial.write_text(json.dumps(content, indent=2) + "\n")
    partial.replace(path)
    return path


def _deliveries(mesh: Mesh, domain_dir: Path) -> tuple[dict[str, Delivered], list[str]]:
    """Every file the domain's delivery manifests list, and one line per unusable manifest."""
    listed: dict[str, Delivered] = {}
    problems: list[str] = []
    folder = domain_dir / DELIVERIES
    if not folder.is_dir() or folder.is_symlink():
        shown = folder.relative_to(mesh.root)
        return {}, [f"{shown}: no delivery manifests; run `mesh generate`, or have the "
                    "export job write one per delivery"]  # fmt: skip
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        where = Path(entry.path).relative_to(mesh.root)
        if entry.name.startswith("."):
            continue  # a manifest being written (write_delivery)
        if entry.is_symlink() or not entry.is_file() or not entry.name.endswith(".json"):
            problems.append(f"{where}: not a delivery manifest (a regular .json file); remove it")
            continue
        try:
            files = json.loads(Path(entry.path).read_text())["files"]
            for item in files:
                found = Delivered(
                    str(item["file"]), int(item["size"]), int(item["rows"]), str(item["sha256"])
                )
                if found.file in listed and listed[found.file] != found:
                    problems.append(f"{where}: lists {found.file} again, with other content")
                listed[found.file] = found
        except (OSError, ValueError, KeyError, TypeError) as error:
            problems.append(f"{where}: cannot be read as a delivery manifest ({error!r})")
    return listed, problems


def verify(mesh: Mesh, domain: Domain, passed: dict[str, str] | None = None) -> Verified:
    """The export files of every table `domain` reads, checked against the delivery
    manifests and the sources' declared columns; one line per file that must not be read.

    `passed` maps files a published build already read (path -> "size mtime", as
    `landing_state` gives) whose columns need no second look: their manifest check is
    still made, every time."""
    result = Verified()
    if not domain.source_tables:
        return result  # it reads only other domains' products
    domain_dir = mesh.landing_dir(domain.name)
    if domain_dir.is_symlink():
        result.problems.append(
            f"{domain_dir.relative_to(mesh.root)}: is a symbolic link; a domain's landing "
            "folder must be a real folder in the warehouse's landing folder"
        )
        return result
    listed, result.problems = _deliveries(mesh, domain_dir)
    declared_tables = {t.table: t for t in declared(domain)}
    passed = passed or {}
    with duckdb.connect() as con:
        for table in domain.source_tables:
            folder = domain_dir / table
            if folder.is_symlink() or not folder.is_dir():
                kind = "is a symbolic link" if folder.is_symlink() else "is not a folder"
                result.problems.append(
                    f"{folder.relative_to(mesh.root)}: {kind}; each table's exports must be in "
                    "a real folder in the domain's landing folder"
                )
                continue
            files = []
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                path = Path(entry.path)
                problem = _refused(entry, listed.get(f"{table}/{entry.name}"))
                if problem is None:
                    item = listed[f"{table}/{entry.name}"]
                    checked = passed.get(str(path.relative_to(mesh.root))) == file_state(path)
                    contract = None if checked else declared_tables.get(table)
                    problem = _content_problem(path, item, contract, con)
                if problem is None:
                    files.append(path)
                else:
                    result.problems.append(f"{path.relative_to(mesh.root)}: {problem}")
            result.files[table] = files
            present = {f"{table}/{p.name}" for p in files}
            for name in sorted(n for n in listed if n.startswith(f"{table}/")):
                if name not in present and not (domain_dir / name).exists():
                    result.problems.append(
                        f"{(domain_dir / name).relative_to(mesh.root)}: listed in a delivery "
                        "manifest but missing; restore it or have the export job deliver it again"
                    )
    return result


def _refused(entry: os.DirEntry[str], listed: Delivered | None) -> str | None:
    """Why a table folder's entry must not be read, by its name, kind and manifest entry."""
    if not EXPORT_NAME.fullmatch(entry.name):
        return (
            f"name {entry.name!r} is not an export file name (letters, digits, _ - . and "
            f"the suffix .{LANDING_FORMAT}, not first a dot); rename or remove it"
        )
    if entry.is_symlink():
        return "is a symbolic link; exports must be regular files in the landing folder: " + (
            "copy the file there instead"
        )
    if not stat.S_ISREG(entry.stat(follow_symlinks=False).st_mode):
        return "is not a regular file; remove it"
    if listed is None:
        return f"is in no delivery manifest ({DELIVERIES}/); {WHAT_TO_DO}"
    return None


def _content_problem(
    path: Path, listed: Delivered, contract: SourceTable | None, con: duckdb.DuckDBPyConnection
) -> str | None:
    """Size, then sha256, then row count against the manifest, then the declared columns."""
    size = path.stat().st_size
    if size != listed.size:
        return f"is {size} bytes, its delivery manifest says {listed.size}; {WHAT_TO_DO}"
    if sha256_of(path) != listed.sha256:
        return f"its content differs from its delivery manifest (sha256); {WHAT_TO_DO}"
    if contract is None:
        return None
    source = f"(source {contract.source}.{contract.table})"
    problems = _problems(path, contract, con)
    if problems:
        return f"{source}: " + "; ".join(problems)
    row = con.execute("select count(*) from read_parquet(?)", [literal_path(path)]).fetchone()
    rows = row[0] if row else 0
    if rows != listed.rows:
        return f"{source}: holds {rows} rows, its delivery manifest says {listed.rows}"
    return None


def check(mesh: Mesh, domain: Domain, passed: dict[str, str] | None = None) -> list[str]:
    """One line per export file dbt must not read (see `verify`)."""
    return verify(mesh, domain, passed).problems


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
    try:
        described = con.execute(
            "describe select * from read_parquet(?)", [literal_path(path)]
        ).fetchall()
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


def literal_path(path: Path) -> str:
    """`path` as DuckDB reads one file: its glob characters (anywhere in the mesh's own
    path) each made a one-character class, which matches exactly that character."""
    return re.sub(r"([\[*?])", r"[\1]", str(path))


def sql_list(paths: list[Path]) -> str:
    """A DuckDB list of string literals naming exactly `paths`, for `read_parquet`."""
    return "[" + ", ".join("'" + literal_path(p).replace("'", "''") + "'" for p in paths) + "]"


def dbt_env(domain: Domain, files: dict[str, list[Path]]) -> dict[str, str]:
    """What each source's `external_location` reads: per table, its verified export files
    as a SQL list of literals, braces doubled (dbt-duckdb formats the location with
    `str.format_map`). An environment variable per table keeps each one small, well under
    the 128 KiB Linux allows one (a year of daily exports is about 36 KiB)."""
    return {
        FILES_VARIABLE.format(table=table): sql_list(files.get(table, []))
        .replace("{", "{{")
        .replace("}", "}}")
        for table in domain.source_tables
    }


def file_state(path: Path) -> str:
    """A file's size and modification time: what says it changed, as make does (not
    following a link: a link is refused, and its own change is what counts)."""
    state = path.lstat()
    return f"{state.st_size} {state.st_mtime_ns}"


def table_entries(mesh: Mesh, domain: Domain) -> list[Path]:
    """Every entry of every table folder `domain` reads, by name: exports and whatever else
    is there (which `verify` refuses), listed without glob and without following links."""
    found = []
    for table in domain.source_tables:
        folder = mesh.landing_dir(domain.name) / table
        if folder.is_dir() and not folder.is_symlink():
            found.extend(sorted(Path(e.path) for e in os.scandir(folder)))
    return found


def landing_state(mesh: Mesh, domain: Domain) -> dict[str, str]:
    """Every landing file `domain` reads, by path, with its size and modification time: a
    new, changed or removed file changes the build's fingerprint. Built from the same
    listing `verify` checks, so the files it names are the files dbt read."""
    return {
        str(path.relative_to(mesh.root)): file_state(path) for path in table_entries(mesh, domain)
    }

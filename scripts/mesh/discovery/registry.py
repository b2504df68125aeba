"""What is published: the publish folders of each domain and their records (read-only).

published/<domain>/<publish-id>/publish.json   the record of one publish
published/<domain>/current -> <publish-id>     the live version
published/<domain>/history.jsonl               publishes and rollbacks, one JSON per line

Which publishes became current is derived from the history and the `current` link together
(`timeline`): a publish's line is written ahead of the switch of `current`, the switch is the
commit point, and the link decides the last line. A publish folder that never became current
(a build stopped between renaming it into place and the switch) is not a publish: nothing
lists it, reads it or rolls back to it, and the domain's next build removes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mesh.errors import DamagedRecordError
from mesh.ids import now
from mesh.workspace import Mesh

RECORD = "publish.json"
HISTORY = "history.jsonl"
PORTS = "products"
CONTRACT = "contract.odcs.yaml"
DESCRIPTOR = "product.odps.yaml"  # ODPS (mesh.governance.odps)
# The storage format of published DuckDB files (mesh.engines.duckdb.storage): file format 64
# as DuckDB 1.1 serialises it, which DuckDB 1.1.0 and every newer release open. Not v1.0.0:
# DuckDB 2.0 writes a primary key in that format with a field DuckDB 1.0 cannot read
# ("Failed to deserialize: expected end of object, but found field id: 103").
DUCKDB_STORAGE_VERSION = "v1.1.0"
OLDEST_DUCKDB_READER = "1.1.0"


class ProductStats(BaseModel):
    """What a publish contains of one product version."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: str | None
    relation: str
    rows: int
    checksum: str


class FileStamp(BaseModel):
    """One file of a publish as it was when published (discovery/integrity checks it): its
    size, modification time and inode, cheap to compare on every build, and its sha256, for
    `mesh verify`. `path` is relative to the publish folder (or private store)."""

    model_config = ConfigDict(frozen=True)

    path: str
    size: int
    mtime_ns: int
    inode: int
    sha256: str

    @field_validator("path")
    @classmethod
    def _inside(cls, value: str) -> str:
        """A path that leaves the folder (absolute, `..`, empty) is a damaged record: checking
        it would read a file outside the publish."""
        parts = value.split("/")
        if not value or value.startswith("/") or "\x00" in value or ".." in parts or "" in parts:
            raise ValueError(f"a file path outside the publish folder: {value!r}")
        return value


class RecordedWaiver(BaseModel):
    """A governance rule a model of the publish waived (governance/rules/waivers_are_valid)."""

    model_config = ConfigDict(frozen=True)

    model: str
    rule: str
    reason: str
    expires: str
    active: bool  # it held when published


class RecordedOverride(BaseModel):
    """A gate finding published anyway, on purpose: the flag, the reason given, by whom."""

    model_config = ConfigDict(frozen=True)

    flag: str  # allow-breaking, accept-volume-change
    reason: str
    by: str
    findings: list[str] = Field(default_factory=list)

    def describe(self) -> str:
        return f"--{self.flag} by {self.by}: {self.reason!r} ({len(self.findings)} finding(s))"


class PublishRecord(BaseModel):
    """`publish.json`: what one publish of a domain is, and what it was built from."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    domain: str
    publish_id: str
    published_at: str
    run_id: str
    git_commit: str | None
    # Whether the code built differs from that commit (uncommitted changes); None outside git.
    git_dirty: bool | None = None
    upstreams: dict[str, str]
    dbt_results: dict[str, int]
    products: list[ProductStats] = Field(default_factory=list)
    output_ports: dict[str, str] = Field(default_factory=dict)
    # What the build depended on: the next build is skipped while it is the same.
    fingerprint: str | None = None
    code_fingerprint: str | None = None
    # Each input of the code fingerprint with its hash (pipeline.fingerprint.code_inputs):
    # what the next build names when it says why it rebuilds.
    code_files: dict[str, str] = Field(default_factory=dict)
    # Incremental models whose tables the next build may continue from.
    incremental_models: list[str] = Field(default_factory=list)
    # What the dbt build cost its worker: seconds, CPU seconds, peak memory (runner.workers).
    usage: dict[str, Any] | None = None
    # The landing files the build read (path -> "size mtime"): the next build continues
    # incrementally only if they are all still there, unchanged.
    landing: dict[str, str] = Field(default_factory=dict)
    # The engine, and on one that writes a version schema per build (Spark): the schema
    # holding this publish's tables (its products' among them).
    engine: str = "duckdb"
    waivers: list[RecordedWaiver] = Field(default_factory=list)
    schema_: str | None = Field(default=None, alias="schema")
    # On Spark: the catalog (metastore) holding that schema, `session` (the local one) or
    # `thrift://host:port` (a Thrift server's); a build on another cannot read it.
    catalog: str | None = None
    # What the publish gate noted (pipeline/gates.py): warnings, findings published anyway
    # with an override, product versions left out because they are past their deprecation
    # date (relation names), the consumers' expectations its products met (their keys), and
    # the deprecation date of each published product version (relation name -> date), and
    # which of the domain's own expectations each upstream publish it read met (publish id ->
    # keys), so they are not run again on the same publish.
    warnings: list[str] = Field(default_factory=list)
    overrides: list[RecordedOverride] = Field(default_factory=list)
    retired: list[str] = Field(default_factory=list)
    expectations_met: list[str] = Field(default_factory=list)
    deprecation_dates: dict[str, str] = Field(default_factory=dict)
    upstream_expectations_met: dict[str, list[str]] = Field(default_factory=dict)
    # Every file of the publish folder but this record, and of its private store, stamped
    # after the last write (discovery/integrity.py): what builds and `mesh verify` check it
    # against. Empty in publishes made before files were stamped: nothing to check them by.
    files: list[FileStamp] = Field(default_factory=list)
    private_files: list[FileStamp] = Field(default_factory=list)
    # Whether the build's dbt code ran in the build sandbox (runner/sandbox.py); false with
    # MESH_SANDBOX=off or an engine whose session outlives a domain's build (Spark's).
    sandboxed: bool = True

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, by_alias=True) + "\n"


class HistoryEvent(BaseModel):
    """One line of `history.jsonl`: a publish (written just before it is made current), a
    rollback `from` another publish, or a publish abandoned before it became current (noted
    by the domain's next build)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    event: Literal["publish", "rollback", "abandoned"]
    publish_id: str
    at: str
    rolled_back_from: str | None = Field(default=None, alias="from")
    overrides: list[RecordedOverride] | None = None  # gate findings it was published despite

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)


def port_folder(name: str, version: str | None) -> Path:
    """Where a product version's output ports live, relative to its publish folder."""
    return Path(PORTS) / name / (f"v{version}" if version is not None else "unversioned")


def parquet_name(name: str, version: str | None) -> str:
    return f"{name}_v{version}.parquet" if version is not None else f"{name}.parquet"


def domain_dir(mesh: Mesh, domain: str) -> Path:
    return mesh.published / domain


def current_publish_id(mesh: Mesh, domain: str) -> str | None:
    link = mesh.published_dir(domain)
    return link.readlink().name if link.is_symlink() and link.exists() else None


def publish_folders(mesh: Mesh, domain: str) -> list[str]:
    """Complete publish folders of a domain (renamed into place, with a record), oldest
    first, whether or not they ever became current (ids sort by time)."""
    folder = domain_dir(mesh, domain)
    if not folder.is_dir():
        return []
    return sorted(
        path.name
        for path in folder.iterdir()
        if path.is_dir()
        and not path.is_symlink()
        and not path.name.startswith(".")
        and (path / RECORD).exists()
    )


def publish_ids(mesh: Mesh, domain: str) -> list[str]:
    """The kept publishes of a domain that became current at some time, oldest first: its
    history (`mesh history`), what rollback and the mesh snapshots choose from."""
    became = set(timeline(mesh, domain).became_current)
    return [name for name in publish_folders(mesh, domain) if name in became]


def history(mesh: Mesh, domain: str) -> list[HistoryEvent]:
    """The lines of the domain's history. A line a crash cut short (only the last can be)
    is left out: its publish never became current, since the line is written before."""
    path = domain_dir(mesh, domain) / HISTORY
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return []
    events = []
    for line in lines:
        try:
            events.append(HistoryEvent.model_validate_json(line))
        except ValidationError:
            continue
    return events


@dataclass(frozen=True)
class Timeline:
    """Which publishes of a domain became current, and in what order (`timeline`)."""

    current: str | None
    # What rollback walks back through: each publish made current by a publish and not
    # withdrawn since; the last one is `current`.
    stack: tuple[str, ...]
    became_current: tuple[str, ...]  # every publish that was ever current, in that order
    withdrawn: frozenset[str]  # taken back by a rollback: never read or returned to again
    abandoned: frozenset[str]  # gathered and renamed into place, never made current
    # Lines that bring history.jsonl in line with `current` after a crash (the domain's next
    # build appends them): an abandoned publish, a rollback or publish that switched
    # `current` but was stopped before its line was written (by an older version of mesh).
    repairs: tuple[HistoryEvent, ...]


def timeline(mesh: Mesh, domain: str) -> Timeline:
    """Replay the history against the `current` link (see the module's docstring)."""
    current = current_publish_id(mesh, domain)
    events = history(mesh, domain)
    stack: list[str] = []
    became: list[str] = []
    withdrawn: set[str] = set()
    abandoned: set[str] = set()
    for event in events:
        target = event.publish_id
        if event.event == "publish":
            stack.append(target)
            became.append(target)
        elif event.event == "abandoned":
            abandoned.add(target)
            if target in stack:
                stack.remove(target)
                became.remove(target)
        elif target in stack:  # a rollback: back down to its target
            while stack[-1] != target:
                withdrawn.add(stack.pop())
        else:
            if event.rolled_back_from in stack:
                stack.remove(event.rolled_back_from)
                withdrawn.add(event.rolled_back_from)
            stack.append(target)
    repairs: list[HistoryEvent] = []
    last = events[-1] if events else None
    if (
        stack
        and stack[-1] != current
        and (current is None or current in stack)
        and last is not None
        and last.event == "publish"
        and last.publish_id == stack[-1]
    ):  # written ahead; the build stopped before it made the publish current
        abandoned.add(stack.pop())
        became.remove(last.publish_id)
        repairs.append(HistoryEvent(event="abandoned", publish_id=last.publish_id, at=now()))
    if current is not None and (not stack or stack[-1] != current):
        if current in stack:  # a rollback stopped before its line was written
            withdrawn_from = stack[-1]
            while stack[-1] != current:
                withdrawn.add(stack.pop())
            repairs.append(
                HistoryEvent(
                    event="rollback", publish_id=current, at=now(), rolled_back_from=withdrawn_from
                )
            )
        else:  # made current by a publish whose line was never written
            stack.append(current)
            became.append(current)
            repairs.append(HistoryEvent(event="publish", publish_id=current, at=now()))
    return Timeline(
        current=current,
        stack=tuple(stack),
        became_current=tuple(became),
        withdrawn=frozenset(withdrawn),
        abandoned=frozenset(abandoned),
        repairs=tuple(repairs),
    )


def rolled_back(mesh: Mesh, domain: str) -> set[str]:
    """Publishes of `domain` a rollback withdrew: never read or returned to again."""
    return set(timeline(mesh, domain).withdrawn)


def record_in(folder: Path) -> PublishRecord:
    """The record in a publish folder (OSError if there is none, DamagedRecordError if it
    cannot be read as one)."""
    path = folder / RECORD
    try:
        return PublishRecord.model_validate_json(path.read_bytes())
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the file"
        raise DamagedRecordError(
            f"The publish record {path} is damaged ({where}: {first['msg']}); restore it from "
            "a backup or build the domain again with --full."
        ) from None


def read_record(mesh: Mesh, domain: str, publish_id: str | None = None) -> PublishRecord | None:
    """The record of one publish of `domain`, the current one by default."""
    folder = (domain_dir(mesh, domain) / publish_id) if publish_id else mesh.published_dir(domain)
    return record_in(folder) if (folder / RECORD).exists() else None

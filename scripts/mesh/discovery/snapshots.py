"""Mesh snapshots: the one consistent set of publishes every reader sees.

    snapshots/<snapshot-id>.json      one publish per domain; written once, never changed
    snapshots/current -> <id>.json    the snapshot readers use, switched by one rename

(under the engine's folder: `warehouse/` for DuckDB, `warehouse/spark/` for Spark).

A snapshot is consistent: the publish of every domain in it was built from the publishes of
its upstreams in the same snapshot (each publish record names what its build read). The
pipeline commits one when a build or a rollback ends (`mesh.pipeline.snapshot`). Readers
(`mesh query`, `mesh.connect()`, `mesh products`, the catalog) read the link once and resolve
every domain through that one file, so a publish that happens meanwhile is not half seen.
Each domain's `current` link is the domain's newest accepted publish: what its next build
compares with and continues from, and what `--latest` reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mesh.discovery.domains import discover
from mesh.discovery.registry import (
    PublishRecord,
    current_publish_id,
    domain_dir,
    read_record,
    record_in,
)
from mesh.errors import DamagedRecordError, MeshError
from mesh.workspace import Mesh

CURRENT = "current"


class Snapshot(BaseModel):
    """`snapshots/<id>.json`: the publish of each domain readers see together."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    snapshot_id: str
    committed_at: str
    cause: str  # what committed it: a build run, a rollback
    publishes: dict[str, str]  # domain -> publish id
    # Domains whose newest publish is not in the snapshot, and why.
    behind: dict[str, str] = Field(default_factory=dict)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"

    @property
    def label(self) -> str:
        return f"snapshot {self.snapshot_id} (committed {self.committed_at})"


def folder(mesh: Mesh) -> Path:
    return mesh.engine_dir / "snapshots"


def read(path: Path) -> Snapshot:
    try:
        return Snapshot.model_validate_json(path.read_bytes())
    except ValidationError as error:
        raise DamagedRecordError(
            f"The mesh snapshot {path} is damaged ({error.errors()[0]['msg']}); run `mesh build` "
            "to commit a new one."
        ) from None


def current(mesh: Mesh, damaged_is_none: bool = False) -> Snapshot | None:
    """The snapshot readers see now (None before the first build commits one). A damaged
    file raises DamagedRecordError, or with `damaged_is_none` (for the build, which commits
    a new one) counts as none."""
    link = folder(mesh) / CURRENT
    try:
        return read(link)  # opens the file the link names at this instant: one snapshot
    except FileNotFoundError:
        return None
    except DamagedRecordError:
        if damaged_is_none:
            return None
        raise


def kept(mesh: Mesh) -> list[Snapshot]:
    """Every kept snapshot that can be read, oldest first (ids sort by time)."""
    found = []
    for path in sorted(folder(mesh).glob("*.json")) if folder(mesh).is_dir() else []:
        try:
            found.append(read(path))
        except (DamagedRecordError, OSError):
            continue
    return found


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def at(mesh: Mesh, when: str) -> Snapshot:
    """The snapshot that was current at `when` (ISO 8601; UTC unless it names an offset)."""
    try:
        instant = _instant(when)
    except ValueError:
        raise MeshError(
            f"--at {when!r} is not a time: give ISO 8601, e.g. 2026-12-03T08:15:00Z "
            "(UTC unless it names an offset)."
        ) from None
    snapshots = kept(mesh)
    if not snapshots:
        raise MeshError("No mesh snapshot has been committed yet; run `mesh build` first.")
    before = [s for s in snapshots if _instant(s.committed_at) <= instant]
    if not before:
        raise MeshError(
            f"No kept snapshot was current at {instant.isoformat()}: the oldest kept one was "
            f"committed at {snapshots[0].committed_at}."
        )
    return before[-1]


def mixes(records: dict[str, PublishRecord]) -> list[str]:
    """Where a set of publishes (one per domain) is not consistent: a domain's publish that
    was built from another publish of an upstream than the one in the set."""
    found = []
    for name, record in sorted(records.items()):
        for upstream, read_id in sorted(record.upstreams.items()):
            chosen = records.get(upstream)
            if chosen is None or chosen.publish_id != read_id:
                shown = chosen.publish_id if chosen else "none"
                found.append(
                    f"{name}'s publish {record.publish_id} was built from {upstream} "
                    f"{read_id}, not {shown}"
                )
    return found


@dataclass(frozen=True)
class View:
    """What one reader sees: one publish folder per domain, resolved once."""

    mesh: Mesh
    publishes: dict[str, str]  # domain -> publish id
    snapshot: Snapshot | None  # None: the newest publish of each domain (--latest)
    mixed: list[str] = field(default_factory=list)  # --latest: where it is not consistent
    latest: bool = False

    @property
    def label(self) -> str:
        if self.snapshot is not None:
            return self.snapshot.label
        return "the newest publish of each domain (--latest)" if self.latest else "no snapshot"

    def folder(self, domain: str) -> Path:
        return domain_dir(self.mesh, domain) / self.publishes[domain]

    def database(self, domain: str) -> Path:
        return self.folder(domain) / f"{domain}.duckdb"

    def manifest(self, domain: str) -> Path:
        return self.folder(domain) / "manifest.json"

    def record(self, domain: str) -> PublishRecord:
        return record_in(self.folder(domain))


def view(
    mesh: Mesh,
    domains: list[str] | None = None,
    at_time: str | None = None,
    latest: bool = False,
) -> View:
    """The publishes a reader of `domains` (default: every domain of the mesh) sees: the
    current snapshot, the one current `at_time`, or with `latest` each domain's newest
    publish (and where that mixes)."""
    if latest and at_time is not None:
        raise MeshError("Give --at or --latest, not both.")
    domains = sorted(discover(mesh)) if domains is None else domains
    if latest:
        heads = {name: current_publish_id(mesh, name) for name in domains}
        publishes = {name: publish_id for name, publish_id in heads.items() if publish_id}
        records = {name: read_record(mesh, name, pid) for name, pid in publishes.items()}
        found = {name: record for name, record in records.items() if record}
        return View(mesh, publishes, None, mixes(found), latest=True)
    snapshot = at(mesh, at_time) if at_time is not None else current(mesh)
    if snapshot is None:
        return View(mesh, {}, None)
    wanted = set(domains)
    publishes = {name: pid for name, pid in snapshot.publishes.items() if name in wanted}
    return View(mesh, publishes, snapshot)

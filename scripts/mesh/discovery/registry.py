"""What is published: the publish folders of each domain and their records (read-only).

published/<domain>/<publish-id>/publish.json   the record of one publish
published/<domain>/current -> <publish-id>     the live version
published/<domain>/history.jsonl               publishes and rollbacks, one JSON per line
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mesh.errors import DamagedRecordError
from mesh.workspace import Mesh

RECORD = "publish.json"
HISTORY = "history.jsonl"
PORTS = "products"
CONTRACT = "contract.odcs.yaml"
DESCRIPTOR = "descriptor.json"


class ProductStats(BaseModel):
    """What a publish contains of one product version."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: str | None
    relation: str
    rows: int
    checksum: str


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
    upstreams: dict[str, str]
    dbt_results: dict[str, int]
    products: list[ProductStats] = Field(default_factory=list)
    output_ports: dict[str, str] = Field(default_factory=dict)
    # What the build depended on: the next build is skipped while it is the same.
    fingerprint: str | None = None
    code_fingerprint: str | None = None
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
    # Whether the build's dbt code ran in the build sandbox (runner/sandbox.py); false with
    # MESH_SANDBOX=off or an engine whose session outlives a domain's build (Spark's).
    sandboxed: bool = True

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, by_alias=True) + "\n"


class HistoryEvent(BaseModel):
    """One line of `history.jsonl`: a publish, or a rollback `from` another publish."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    event: Literal["publish", "rollback"]
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


def publish_ids(mesh: Mesh, domain: str) -> list[str]:
    """Complete publish folders of a domain, oldest first (ids sort by time)."""
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


def rolled_back(mesh: Mesh, domain: str) -> set[str]:
    """Publishes of `domain` a rollback withdrew: never read or returned to again."""
    path = domain_dir(mesh, domain) / HISTORY
    if not path.exists():
        return set()
    events = [HistoryEvent.model_validate_json(line) for line in path.read_text().splitlines()]
    return {e.rolled_back_from for e in events if e.event == "rollback" and e.rolled_back_from}


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

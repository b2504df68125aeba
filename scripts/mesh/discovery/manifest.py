"""dbt manifests as typed objects: the one place that reads `manifest.json`.

Policies, contracts, expectations, ODCS, the catalog, lineage, products and the engines read
models, versions, columns, contracts, tests, access and meta through these types, so that
"primary key", "PII", "owner" or "the properties file of a model" mean the same thing
everywhere. Only the parts of a manifest the platform reads are modelled; the rest (macros,
docs, exposures...) is skipped when parsing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from mesh.workspace import Mesh

_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/|\{#.*?#\}", re.DOTALL)
_HASH_PII = re.compile(r"\bhash_pii\s*\(")

# dbt writes null for an empty description, and a version as a number or a string.
Text = Annotated[str, BeforeValidator(lambda value: str(value or ""))]
Version = Annotated[
    str | None, BeforeValidator(lambda value: None if value is None else str(value))
]
Date = Annotated[str | None, BeforeValidator(lambda value: str(value) if value else None)]


class _Read(BaseModel):
    """A part of a manifest: unknown keys are ignored, missing ones take their default."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class Constraint(_Read):
    type: str
    columns: list[str] = Field(default_factory=list)


class Contract(_Read):
    enforced: bool = False


class Config(_Read):
    """A node's or column's `config:` block, as far as the platform reads it."""

    materialized: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    contract: Contract | None = None
    severity: str | None = None  # of a data test
    where: str | None = None  # of a data test
    error_if: str = "!= 0"  # of a data test: when its failures count as an error
    warn_if: str = "!= 0"
    fail_calc: str = "count(*)"  # of a data test: what its failures are counted as
    limit: int | None = None  # of a data test: the most failing rows it counts


class Column(_Read):
    name: str
    description: Text = ""
    data_type: str | None = None
    constraints: list[Constraint] = Field(default_factory=list)
    column_meta: dict[str, Any] = Field(default_factory=dict, alias="meta")
    tags: list[str] = Field(default_factory=list)
    config: Config = Field(default_factory=Config)

    @property
    def is_pii(self) -> bool:
        """Tagged `pii`, or `pii: true` in its meta (top level or under config)."""
        tags = [*self.tags, *self.config.tags]
        return "pii" in tags or any(
            m.get("pii") is True for m in (self.column_meta, self.config.meta)
        )

    def has_constraint(self, kind: str) -> bool:
        return any(c.type == kind for c in self.constraints)


class DependsOn(_Read):
    nodes: list[str] = Field(default_factory=list)


class TestMetadata(_Read):
    name: str = ""
    namespace: str | None = None
    arguments: dict[str, Any] = Field(default_factory=dict, alias="kwargs")


class Ref(_Read):
    name: str
    package: str | None = None
    version: Version = None


class Node(_Read):
    """A model, test, seed, snapshot or unit test of the manifest's `nodes`."""

    unique_id: str
    resource_type: str
    package_name: str
    name: str
    alias: str | None = None
    database: str | None = None
    relation_schema: str | None = Field(default=None, alias="schema")
    original_file_path: Text = ""
    patch_path: str | None = None
    description: Text = ""
    columns: dict[str, Column] = Field(default_factory=dict)
    config: Config = Field(default_factory=Config)
    node_meta: dict[str, Any] = Field(default_factory=dict, alias="meta")
    tags: list[str] = Field(default_factory=list)
    access: str | None = None
    group: str | None = None
    version: Version = None
    latest_version: Version = None
    deprecation_date: Date = None
    node_contract: Contract | None = Field(default=None, alias="contract")
    constraints: list[Constraint] = Field(default_factory=list)
    depends_on: DependsOn = Field(default_factory=DependsOn)
    refs: list[Ref] = Field(default_factory=list)
    raw_code: Text = ""
    compiled_code: str | None = None
    test_metadata: TestMetadata | None = None
    column_name: str | None = None
    attached_node: str | None = None

    @property
    def is_model(self) -> bool:
        return self.resource_type == "model"

    @property
    def is_public(self) -> bool:
        return self.is_model and self.access == "public"

    @property
    def meta(self) -> dict[str, Any]:
        """Its meta: under `config:` where dbt puts it, else at the top level."""
        return dict(self.config.meta or self.node_meta)

    @property
    def contract_enforced(self) -> bool:
        contract = self.node_contract or self.config.contract
        return bool(contract and contract.enforced)

    @property
    def materialized(self) -> str | None:
        return self.config.materialized

    @property
    def relation_name(self) -> str:
        """The relation dbt builds: its alias (e.g. `orders_v2`), else its name."""
        return self.alias or self.name

    @property
    def relation(self) -> str:
        """`database.schema.alias`, as a query names it."""
        return ".".join(str(p) for p in (self.database, self.relation_schema, self.alias))

    @property
    def label(self) -> str:
        """`orders v2`, or the name of an unversioned model."""
        return self.name if self.version is None else f"{self.name} v{self.version}"

    @property
    def yaml_path(self) -> str:
        """The properties file (contracts, docs, meta), else the SQL file."""
        return self.patch_path.split("://", 1)[-1] if self.patch_path else self.original_file_path

    @property
    def primary_key(self) -> list[str]:
        """The primary key columns: a model-level constraint, or column constraints."""
        for constraint in self.constraints:
            if constraint.type == "primary_key" and constraint.columns:
                return [str(column) for column in constraint.columns]
        return [
            name for name, column in self.columns.items() if column.has_constraint("primary_key")
        ]

    @property
    def pii_columns(self) -> list[str]:
        return [name for name, column in self.columns.items() if column.is_pii]

    @property
    def code(self) -> str:
        """Its raw code without SQL and Jinja comments."""
        return _COMMENTS.sub(" ", self.raw_code)

    @property
    def test_name(self) -> str:
        """The generic test a data test runs (`unique`, `not_null`...), else ""."""
        return self.test_metadata.name if self.test_metadata else ""


class Threshold(_Read):
    count: int | None = None
    period: str | None = None


class SourceFreshness(_Read):
    """A source's `freshness:` rule, as dbt's `source freshness` reads it."""

    warn_after: Threshold | None = None
    error_after: Threshold | None = None


class Source(_Read):
    unique_id: str
    resource_type: str = "source"
    package_name: str
    source_name: str
    name: str
    identifier: str | None = None
    original_file_path: str = ""
    description: str = ""
    columns: dict[str, Column] = Field(default_factory=dict)
    config: Config = Field(default_factory=Config)
    node_meta: dict[str, Any] = Field(default_factory=dict, alias="meta")
    loaded_at_field: str | None = None
    freshness: SourceFreshness | None = None
    relation_name: str | None = None

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self.config.meta or self.node_meta)

    @property
    def label(self) -> str:
        """`checkout.orders`: the source and the table, as `source()` names them."""
        return f"{self.source_name}.{self.name}"


class Owner(_Read):
    name: str | None = None
    email: str | None = None


class Group(_Read):
    unique_id: str = ""
    name: str
    package_name: str = ""
    original_file_path: str = ""
    owner: Owner = Field(default_factory=Owner)
    description: str | None = None


class UnitTest(_Read):
    unique_id: str = ""
    name: str
    model: str = ""
    package_name: str = ""
    original_file_path: str = ""
    depends_on: DependsOn = Field(default_factory=DependsOn)


class SemanticElement(_Read):
    """An entity, dimension or measure of a semantic model: a name, and the SQL expression
    over the model's columns it stands for (its name when there is none)."""

    name: str
    expr: str | None = None

    @property
    def sql(self) -> str:
        return self.expr or self.name


class SemanticModel(_Read):
    """A semantic model (MetricFlow's): the product version it reads, and what of it."""

    unique_id: str
    name: str
    package_name: str
    depends_on: DependsOn = Field(default_factory=DependsOn)
    entities: list[SemanticElement] = Field(default_factory=list)
    dimensions: list[SemanticElement] = Field(default_factory=list)
    measures: list[SemanticElement] = Field(default_factory=list)

    def reads_column(self, column: str) -> bool:
        """Whether an entity, dimension or measure names `column` in its expression."""
        name = re.compile(rf"(?<![\w.]){re.escape(column)}(?!\w)", re.IGNORECASE)
        parts = [*self.entities, *self.dimensions, *self.measures]
        return any(name.search(part.sql) for part in parts)


class Metric(_Read):
    """A metric: on semantic models' measures, or on other metrics (ratio, derived)."""

    unique_id: str
    name: str
    package_name: str
    description: Text = ""
    config: Config = Field(default_factory=Config)
    depends_on: DependsOn = Field(default_factory=DependsOn)


class Manifest(_Read):
    nodes: dict[str, Node] = Field(default_factory=dict)
    sources: dict[str, Source] = Field(default_factory=dict)
    groups: dict[str, Group] = Field(default_factory=dict)
    unit_tests: dict[str, UnitTest] = Field(default_factory=dict)
    child_map: dict[str, list[str]] = Field(default_factory=dict)
    semantic_models: dict[str, SemanticModel] = Field(default_factory=dict)
    metrics: dict[str, Metric] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _ids_from_keys(cls, data: Any) -> Any:
        """Each entry's unique id is its key (dbt writes both; hand-made manifests may not)."""
        if isinstance(data, dict):
            for part in ("nodes", "sources", "groups", "unit_tests", "semantic_models", "metrics"):
                entries = data.get(part)
                if isinstance(entries, dict):
                    data = {**data, part: {k: _with_id(k, v) for k, v in entries.items()}}
        return data

    def models(self, package: str | None = None) -> list[Node]:
        """The models (of `package`, when given), ordered by unique id."""
        return [
            node
            for _, node in sorted(self.nodes.items())
            if node.is_model and (package is None or node.package_name == package)
        ]

    def metrics_on(self, unique_id: str) -> list[str]:
        """The names of the metrics that read the semantic model (or metric) `unique_id`,
        directly or through other metrics (a ratio of two of them, say)."""
        found: set[str] = set()
        reached, pending = {unique_id}, [unique_id]
        while pending:
            current = pending.pop()
            for metric in self.metrics.values():
                if current in metric.depends_on.nodes and metric.unique_id not in reached:
                    reached.add(metric.unique_id)
                    found.add(metric.name)
                    pending.append(metric.unique_id)
        return sorted(found)

    def semantic_label(self, model: SemanticModel) -> str:
        """How governance names a semantic model to people: with the metrics it feeds."""
        metrics = self.metrics_on(model.unique_id)
        return f"{model.name} (semantic model of metrics {', '.join(metrics) or '(none)'})"

    def public_models(self, package: str | None = None) -> list[Node]:
        return [node for node in self.models(package) if node.is_public]

    def tests(self, package: str | None = None) -> list[Node]:
        """Data tests (of `package`, when given), ordered by unique id."""
        return [
            node
            for _, node in sorted(self.nodes.items())
            if node.resource_type == "test" and (package is None or node.package_name == package)
        ]

    def incremental_models(self, package: str) -> list[str]:
        """The package's models materialized incrementally, by relation name."""
        return sorted(
            m.relation_name for m in self.models(package) if m.materialized == "incremental"
        )

    def owner(self, node: Node) -> str | None:
        """Who owns a node: `owner` in its meta, else its group's owner (email, else name)."""
        if node.meta.get("owner"):
            return str(node.meta["owner"])
        group = self.group_of(node)
        if group:
            return group.owner.email or group.owner.name
        return None

    def metric_owner(self, metric: Metric) -> str | None:
        """Who owns a metric: `owner` in its meta, else its domain's owner (its group's)."""
        if metric.config.meta.get("owner"):
            return str(metric.config.meta["owner"])
        groups = [g for g in self.groups.values() if g.package_name == metric.package_name]
        return (groups[0].owner.email or groups[0].owner.name) if len(groups) == 1 else None

    def group_of(self, node: Node) -> Group | None:
        return self.groups.get(f"group.{node.package_name}.{node.group}")

    def pii_columns(self) -> set[str]:
        """Names (lower case) of the columns tagged PII in any model or source."""
        items: list[Node | Source] = [*self.models(), *self.sources.values()]
        return {name.lower() for item in items for name, c in item.columns.items() if c.is_pii}

    def attached_tests(self, unique_id: str) -> list[Node]:
        """The generic data tests attached to a node, in manifest order."""
        return [
            node
            for node in self.nodes.values()
            if node.resource_type == "test"
            and node.attached_node == unique_id
            and node.test_metadata is not None
        ]

    def hashes_pii(self, node: Node) -> bool:
        """Whether the model or one of its upstream models in its package calls hash_pii()."""
        seen: set[str] = set()
        stack = [node.unique_id]
        while stack:
            current = self.nodes.get(stack.pop())
            if (
                not current
                or current.unique_id in seen
                or current.package_name != node.package_name
            ):
                continue
            seen.add(current.unique_id)
            if _HASH_PII.search(current.code):
                return True
            stack.extend(current.depends_on.nodes)
        return False


class RunResult(_Read):
    """How one node ended in a dbt invocation (an entry of run_results.json)."""

    unique_id: str = ""
    status: str = ""
    execution_time: float = 0.0
    message: str | None = None


class RunResults(_Read):
    results: list[RunResult] = Field(default_factory=list)


def parse(data: dict[str, Any]) -> Manifest:
    """A manifest already read as JSON."""
    return Manifest.model_validate(data)


def load(path: Path) -> Manifest:
    """Read and parse `manifest.json` (raises OSError or ValueError as json does)."""
    return Manifest.model_validate_json(path.read_bytes())


def load_published(path: Path) -> Manifest:
    """The manifest of a publish, parsed once per process while its file is the same (path,
    inode, change time, size): a publish is sealed read-only and never rewritten, and one
    build's gates read each upstream's manifest several times (13 ms each at scale 1)."""
    stat = path.stat()
    return _load_once(str(path), stat.st_ino, stat.st_ctime_ns, stat.st_size)


@functools.lru_cache(maxsize=32)
def _load_once(path: str, inode: int, changed_ns: int, size: int) -> Manifest:
    return load(Path(path))


def load_run_results(path: Path) -> RunResults:
    """Read and parse `run_results.json` (raises OSError or ValueError as json does)."""
    return RunResults.model_validate_json(path.read_bytes())


def _with_id(key: str, entry: Any) -> Any:
    return {"unique_id": key, **entry} if isinstance(entry, dict) else entry


def published(mesh: Mesh, names: Iterable[str]) -> dict[str, Manifest]:
    """The current published manifests of the named domains that have one (what they run
    now)."""
    return {
        name: load_published(mesh.published_manifest(name))
        for name in names
        if mesh.published_manifest(name).exists()
    }

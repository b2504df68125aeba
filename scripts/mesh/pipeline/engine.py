"""What an engine must provide to the pipeline, the one seam between the two: its dbt
environment (`env`, `before_build`), how the gates read a candidate's products
(`relation`, `run_checks` in its SQL dialect), what a publish holds and how it becomes current
(`publish`, `make_current`), and how a query session opens (`query`). An engine is one
module under `mesh.engines`; tests/integration/test_engine_seam.py defines a third.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mesh.discovery.domains import Domain
from mesh.discovery.manifest import Manifest, Node, RunResults
from mesh.discovery.registry import ProductStats, PublishRecord
from mesh.discovery.snapshots import View
from mesh.errors import QueryError, QueryLimitError
from mesh.governance import expectations
from mesh.governance.expectations import Query
from mesh.runner.workers import TASKS_PER_WORKER, DbtOutcome, DbtTask, Isolation
from mesh.workspace import Mesh

# The staging folder's links to the upstream publishes a build reads: `upstreams/<name>/current`.
UPSTREAMS = "upstreams"


@dataclass(frozen=True)
class Upstream:
    """An upstream domain's current publish, resolved once for the whole build."""

    name: str
    folder: Path  # its publish folder (not a link)
    record: PublishRecord


@dataclass
class Job:
    """One build of one domain, as the pipeline hands it to the engine."""

    mesh: Mesh
    domain: Domain
    run_id: str
    staging: Path  # the build's own folder: the only place it writes
    upstreams: dict[str, Upstream]
    current: PublishRecord | None  # the domain's current publish, if any
    code_fingerprint: str
    code_files: dict[str, str]  # each input of the code fingerprint with its hash
    fingerprint: str  # code, landing data and upstream publishes: recorded with the publish
    landing: dict[str, str]  # the landing files it reads (data.landing.landing_state)
    full: bool  # rebuild everything: no continuing from the current publish
    jobs: int  # domain builds running at once (engines share the machine between them)
    notice: Callable[[str], None]  # tell the user something about this build
    run: Callable[[DbtTask], DbtOutcome]  # run more dbt commands on the build's workers, now

    @property
    def name(self) -> str:
        return self.domain.name

    @property
    def current_publish(self) -> Upstream | None:
        """The domain's current publish, as the gates read it (beside its upstreams')."""
        if self.current is None:
            return None
        folder = self.mesh.published / self.name / self.current.publish_id
        return Upstream(self.name, folder, self.current)

    @property
    def upstream_ids(self) -> dict[str, str]:
        """The publish id of each upstream it reads."""
        return {name: upstream.folder.name for name, upstream in self.upstreams.items()}


@dataclass(frozen=True)
class Candidate:
    """A build whose dbt models and tests all passed, before the gates: its artifacts."""

    manifest: Manifest
    run_results: RunResults
    outcome: DbtOutcome
    # Product versions past their deprecation date (relation names): left out of the publish.
    retired: tuple[str, ...] = ()

    def products(self, domain: str) -> list[Node]:
        """The public model versions the publish holds: all but the retired ones."""
        return [
            n for n in self.manifest.public_models(domain) if n.relation_name not in self.retired
        ]


@dataclass(frozen=True)
class PublishedParts:
    """What the engine put in a publish folder, for the publish record."""

    products: list[ProductStats] = field(default_factory=list)
    output_ports: dict[str, str] = field(default_factory=dict)
    schema: str | None = None
    catalog: str | None = None


@dataclass(frozen=True)
class QueryLimits:
    """What one query may use, on any engine. A runaway query otherwise holds a terminal,
    the machine's memory and the warehouse's disk (measured: a 300-million-row result took
    6 GB in Python, a group-by spilled 6.4 GB, a killed query left 5.2 GB behind)."""

    timeout: float = 60.0  # seconds the query may run (0: no limit)
    max_rows: int = 10_000  # rows fetched at most (0: all); more are cut, with a note
    memory_limit: str = "2GB"  # the engine's working memory
    spill_limit: str = "2GB"  # temporary disk the engine may spill to, in warehouse/tmp
    python: bool = False  # asked for by `mesh.connect()`, not by `mesh query`

    def option(self, name: str, value: object) -> str:
        """How a user raises the limit `name` (`max_rows`): `--max-rows 20000` on the
        command line, `max_rows=20000` in Python."""
        if self.python:
            return f"mesh.connect({name}={value!r})"
        return f"--{name.replace('_', '-')} {value}"


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool = False  # more rows than `QueryLimits.max_rows`: only those were fetched
    warnings: list[str] = field(default_factory=list)  # e.g. a domain that could not be read

    def cut_note(self, limits: QueryLimits) -> str | None:
        """What to tell a user whose result was cut at the row limit."""
        if not self.truncated:
            return None
        return (
            f"Only the first {limits.max_rows:,} rows were fetched: the result has more "
            f"(the row limit). Fetch more with {limits.option('max_rows', limits.max_rows * 10)} "
            f"(0 for all), or narrow the query with LIMIT, WHERE or an aggregate."
        )


def timed_out(limits: QueryLimits) -> QueryLimitError:
    """What a query stopped at its time limit gets, on any engine."""
    longer = int(limits.timeout * 10) or 600
    return QueryLimitError(
        f"The query ran longer than its time limit ({limits.timeout:g} s) and was stopped; "
        f"allow longer with {limits.option('timeout', longer)} (0 for no limit), or narrow "
        f"the query."
    )


def not_a_product(name: str, view: View, products: list[str]) -> QueryError:
    """What a query that names something other than a product of `view` gets, on any engine:
    the name, and the products it can read."""
    return QueryError(
        f"{name} is not a published product in {view.label}: only products are published, "
        f"not a domain's staging or intermediate models. The products you can read: "
        f"{', '.join(products)}."
    )


class Engine(ABC):
    """An engine the pipeline builds, publishes and queries domains on."""

    name: str  # the `--target` name; the engine's state lives in `mesh.on(name)`
    # Packages beyond dbt, its adapters and DuckDB whose upgrade rebuilds every domain.
    toolchain: tuple[str, ...] = ()
    max_jobs: int | None = None  # domains built at once at most (None: as many as asked)
    tasks_per_worker: int = TASKS_PER_WORKER  # tasks before a dbt worker is replaced
    # Modules the workers' fork server imports once, so no task's child imports them again
    # (the engine's dbt plugin: loaded by every invocation that connects).
    worker_modules: tuple[str, ...] = ()
    # Where its dbt tasks run (runner.workers.Isolation): the build sandbox, unless the engine
    # keeps a session in the worker across domains ("worker": unconfined, no time limit).
    isolation: Isolation = "sandbox"

    def require(self, mesh: Mesh) -> None:
        """Raise a MeshError naming what is missing to run this engine here."""
        return None

    def unconfined_because(self) -> str:
        """Why its builds run outside the sandbox, when `isolation` is not "sandbox"."""
        return "its session outlives a domain's build"

    def worker_output(self, mesh: Mesh) -> Path | None:
        """A file for what dbt workers print (default: the terminal)."""
        return None

    def check_upstream(self, mesh: Mesh, consumer: str, upstream: Upstream) -> None:
        """Raise a MeshError if `consumer`'s build cannot read `upstream`'s publish."""
        return None

    @abstractmethod
    def env(self, job: Job) -> dict[str, str]:
        """The environment of the domain's dbt commands: its target and connection. Called
        once per build, in the staging folder, before dbt runs."""

    def before_build(self, job: Job) -> list[list[str]]:
        """dbt commands to run before `dbt build` (e.g. run-operations)."""
        return []

    def freshness_landing(self, job: Job) -> Path | None:
        """Where source freshness reads the exports: None to read the sources' relations."""
        return None

    def quote(self, column: str) -> str:
        """A column name in the engine's SQL (for the expectations)."""
        return expectations.quote(column)

    def literal(self, text: str) -> str:
        """A string literal in the engine's SQL."""
        return expectations.string_literal(text)

    def matches(self, text: str, pattern: str) -> str:
        """SQL that is true where `text` contains a match of the regular expression `pattern`
        (written without backslashes, so that every engine reads it alike)."""
        return f"regexp_matches({text}, {self.literal(pattern)})"

    @abstractmethod
    def relation(self, job: Job, relation: str, of: Upstream | None = None) -> str:
        """How the gates' SQL names a relation of the candidate, or with `of`, of a publish
        the build reads: an upstream's, or the domain's own current one (`Upstream` of the
        domain itself)."""

    @abstractmethod
    def run_checks(self, job: Job, queries: list[Query]) -> list[str]:
        """Run the gates' check queries (`Query`: NULL when the check holds) on the candidate
        and the publishes it reads; one line per failure (`Query.failed`)."""

    @abstractmethod
    def publish(
        self, job: Job, candidate: Candidate, folder: Path, private: Path, published_at: str
    ) -> PublishedParts:
        """Put the candidate's products, and nothing else of it, into the (hidden, new)
        publish folder; what the domain's next builds need of the rest (incremental state)
        into `private`, the publish's private store, which no reader opens."""

    def make_current(self, job: Job, record: PublishRecord) -> str | None:
        """What else must switch once the publish is current; an error message if it failed
        (the publish stays current, and the next build of the domain runs again)."""
        return None

    @abstractmethod
    def query(self, view: View, sql: str, limits: QueryLimits | None = None) -> QueryResult:
        """Run one read-only statement over the products of the publishes in `view` (a mesh
        snapshot, one publish per domain), within `limits` (default: `QueryLimits()`)."""

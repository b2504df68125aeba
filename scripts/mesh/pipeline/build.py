"""Build domains in dependency order, in parallel where the graph allows, and publish each
one whose models and tests all pass.

A build of a domain runs in its own staging folder, `build/<domain>/<run-id>/`, against a new
DuckDB file with the same name as the published one (so dbt's database name is the same).
Its upstreams' published files are attached read-only and dbt-loom reads their published
manifests. dbt runs in worker processes; the parent holds each domain's build lock, publishes
what passed and skips the consumers of what failed.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

import duckdb

from mesh.data import freshness, landing
from mesh.data.landing import landing_state
from mesh.discovery import graph
from mesh.discovery.domains import LANDING_FORMAT, Domain, discover, select
from mesh.discovery.registry import PublishRecord, domain_dir, read_record
from mesh.errors import (
    MeshError,
    MissingLandingDataError,
    MissingPublishError,
    PublishedDatabaseLockedError,
)
from mesh.governance import expectations
from mesh.ids import new_id
from mesh.pipeline.fingerprint import code_fingerprint, fingerprint, only_appended
from mesh.pipeline.locks import domain_lock
from mesh.pipeline.publish import cleanup, publish
from mesh.runner import parse_cache
from mesh.runner.dbt import dbt_args, with_packages
from mesh.runner.workers import DbtOutcome, DbtTask, DbtWorkers, ProgressEvent, event_queue
from mesh.workspace import Mesh

DEFAULT_LOCK_TIMEOUT = 300.0


@dataclass
class DomainResult:
    """How the build of one domain ended: published, failed or skipped."""

    domain: str
    status: str
    seconds: float = 0.0
    outcome: DbtOutcome | None = None
    reason: str = ""
    publish_id: str | None = None
    log_dir: Path | None = None
    counts: dict[str, int] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Its current publish is good: just published, or unchanged and skipped."""
        return self.status in {"published", "unchanged"}


class Reporter:
    """What a build tells its caller as it goes. This base says nothing; the CLI's displays
    (progress.py) override what they show."""

    def planned(self, domains: list[str]) -> None:
        """The domains this build will go through, in order."""

    def notice(self, domain: str, message: str) -> None:
        """Something worth saying before a domain starts (e.g. waiting for its lock)."""

    def started(self, domain: str, models: int) -> None:
        """dbt starts on `domain`, which has `models` models."""

    def totals(self, domain: str, totals: dict[str, int]) -> None:
        """How many nodes dbt will run for `domain`."""

    def node_done(self, domain: str, resource_type: str, status: str) -> None:
        """dbt finished one node of `domain`."""

    def finished(self, result: DomainResult) -> None:
        """`domain` ended: published, unchanged, failed or skipped."""


# Folder of a staging area where the upstreams' published databases are linked.
UPSTREAMS = "upstreams"


# What every DuckDB of a build may use together; each of the `jobs` domain builds running
# at once gets its share. Leaves room for the Python processes within 4 GB.
DUCKDB_MEMORY_BUDGET_MB = 3072


def duckdb_threads() -> int:
    """DuckDB threads per domain build: every core. Domains built side by side share them;
    one building alone (the end of a dependency chain) gets the whole machine."""
    return os.cpu_count() or 1


def duckdb_memory_limit(jobs: int) -> str:
    """DuckDB memory limit per domain build: MESH_MEMORY_LIMIT, or a share of the budget."""
    return os.environ.get("MESH_MEMORY_LIMIT") or f"{DUCKDB_MEMORY_BUDGET_MB // max(1, jobs)}MB"


def default_jobs() -> int:
    """One build per core: each DuckDB build is mostly single-threaded at mesh sizes."""
    return max(1, os.cpu_count() or 1)


def plan(mesh: Mesh, targets: list[str], only: bool = False) -> tuple[dict[str, Domain], list[str]]:
    """The domains to build for `targets` (all when empty), upstreams first.

    With `only`, just the targets: their upstreams are read as currently published.
    """
    domains = discover(mesh)
    if not targets:
        return domains, graph.build_order(domains)
    select(domains, targets)
    chosen = set(targets) if only else graph.with_upstreams(domains, targets)
    return domains, graph.build_order(domains, chosen)


def check_landing(mesh: Mesh, domains: list[Domain]) -> None:
    missing = [
        folder
        for domain in domains
        for folder in domain.landing_tables(mesh)
        if not any(folder.glob(f"*.{LANDING_FORMAT}"))
    ]
    if missing:
        shown = ", ".join(str(p.relative_to(mesh.root)) for p in missing[:6])
        more = f" and {len(missing) - 6} more" if len(missing) > 6 else ""
        raise MissingLandingDataError(
            f"Landing data is missing: {shown}{more}. Run `mesh generate` to create it."
        )


def dbt_env(
    mesh: Mesh,
    domain: Domain,
    staging: Path,
    upstreams: dict[str, Path],
    duckdb_threads: int,
    target: str = "dev",
) -> dict[str, str]:
    """The environment profiles.yml, the sources and dbt-loom read for one domain build.

    Database paths are relative to the staging folder, the task's working directory, where
    `link_upstreams` links each upstream's published file: the rendered profile is then the
    same in every build of the domain, so dbt can parse partially (a changed profile makes
    dbt parse every file again)."""
    link_upstreams(staging, upstreams)
    attach = [
        {"path": f"{UPSTREAMS}/{name}.duckdb", "alias": name, "read_only": True}
        for name in sorted(upstreams)
    ]
    return {
        "MESH_DB_PATH": f"{domain.name}.duckdb",
        "MESH_LANDING_DIR": str(mesh.landing_dir(domain.name)),
        "MESH_PUBLISHED_DIR": str(mesh.published),
        "MESH_ATTACH": json.dumps(attach),
        "MESH_TARGET": target,
        "MESH_DUCKDB_THREADS": str(duckdb_threads),
        "DBT_LOOM_CONFIG": str(domain.loom_config),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def newest_export_loaded(database: Path, models: list[str]) -> str | None:
    """The newest `exported_at` every incremental model of a domain's database holds (the
    oldest of their newest: rows after it are new to all of them), or None if unknown."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        tables = {
            row[0]
            for row in con.execute(
                "select table_name from duckdb_columns() "
                "where schema_name = 'main' and column_name = 'exported_at'"
            ).fetchall()
        }
        newest: list[Any] = []
        for model in models:
            if model in tables:
                row = con.execute(f'select max(exported_at) from main."{model}"').fetchone()
                newest.append(row[0] if row else None)
    finally:
        con.close()
    known = [value for value in newest if value is not None]
    if not known or len(known) < len(newest):
        return None
    return str(min(known))


def all_exported_after(files: list[Path], instant: str) -> bool:
    """Whether every row of these export files was exported after `instant`: otherwise an
    incremental build, which reads only rows after it, would miss some (a late backfill,
    a row without exported_at)."""
    if not files:
        return True
    con = duckdb.connect()
    try:
        row = con.execute(
            "select min(exported_at) > ?::timestamp, count(*) = count(exported_at) "
            "from read_parquet(?, union_by_name = true)",
            [instant, [str(path) for path in files]],
        ).fetchone()
    except duckdb.Error:
        return False  # unreadable: the full build reports it with the landing contracts
    finally:
        con.close()
    return bool(row and row[0] and row[1])


def link_upstreams(staging: Path, upstreams: dict[str, Path]) -> None:
    """Link each upstream's resolved published database into `staging/upstreams/`."""
    for name, database in upstreams.items():
        link = staging / UPSTREAMS / f"{name}.duckdb"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.unlink(missing_ok=True)
        link.symlink_to(database)


def resolve_upstreams(mesh: Mesh, domain: Domain) -> dict[str, Path]:
    """Each upstream's published database, resolved to one publish folder for the whole
    build, and checked to be readable (no other process holds it open for writing)."""
    resolved = {}
    for name in domain.upstreams:
        database = mesh.published_database(name)
        if not database.exists() or not mesh.published_manifest(name).exists():
            raise MissingPublishError(
                f"{domain.name} consumes {name}, which has no published version; "
                f"run `mesh build {name}` first."
            )
        try:
            duckdb.connect(str(database.resolve()), read_only=True).close()
        except duckdb.Error as error:
            raise PublishedDatabaseLockedError(
                f"{domain.name} cannot read {name}'s published database "
                f"{database.resolve()}: {error}. Close the program holding it and run again."
            ) from error
        resolved[name] = database.resolve()
    return resolved


@dataclass
class _Running:
    domain: Domain
    staging: Path
    run_id: str
    upstreams: dict[str, Path]
    started: float
    locks: ExitStack
    fingerprint: str
    code_fingerprint: str
    landing: dict[str, str]


def _dbt_commands(mesh: Mesh, domain: Domain, staging: Path) -> list[list[str]]:
    build = ["build", *dbt_args(mesh, domain, staging), "--target-path", str(staging / "target")]
    return with_packages(mesh, domain, staging, build)


class _Scheduler:
    """Starts each domain once its upstreams are published, `jobs` at a time."""

    def __init__(
        self,
        mesh: Mesh,
        domains: dict[str, Domain],
        order: list[str],
        jobs: int,
        lock_timeout: float,
        reporter: Reporter,
        full: bool = False,
    ) -> None:
        self.mesh = mesh
        self.full = full
        self.domains = domains
        self.pending = list(order)
        self.selected = set(order)
        self.jobs = jobs
        self.lock_timeout = lock_timeout
        self.reporter = reporter
        self.results: dict[str, DomainResult] = {}
        self.running: dict[Future[DbtOutcome], _Running] = {}
        self.duckdb_threads = duckdb_threads()
        self.duckdb_memory_limit = duckdb_memory_limit(jobs)

    def _finish(self, result: DomainResult) -> None:
        self.results[result.domain] = result
        self.reporter.finished(result)

    def _start(self, workers: DbtWorkers, name: str) -> None:
        """Prepare the domain's build and hand it to a worker. Whatever goes wrong on the way
        (a lock, a full disk, an unreadable publish) fails this domain, not the whole build."""
        started = time.perf_counter()
        locks = ExitStack()
        staging: list[Path] = []
        try:
            self._prepare(workers, name, started, locks, staging)
        except (MeshError, OSError, duckdb.Error) as error:
            locks.close()
            for folder in staging:
                shutil.rmtree(folder, ignore_errors=True)
            reason = str(error)
            if not isinstance(error, MeshError):
                reason = f"its build could not be prepared: {error}"
            self._finish(DomainResult(name, "failed", time.perf_counter() - started, reason=reason))

    def _prepare(
        self,
        workers: DbtWorkers,
        name: str,
        started: float,
        locks: ExitStack,
        staging_made: list[Path],
    ) -> None:
        domain = self.domains[name]
        locks.enter_context(
            domain_lock(
                self.mesh.locks,
                name,
                self.lock_timeout,
                lambda m: self.reporter.notice(name, m),
            )
        )
        cleanup(self.mesh, name)
        upstreams = resolve_upstreams(self.mesh, domain)
        reading = {u: p.parent.name for u, p in upstreams.items()}
        code = code_fingerprint(self.mesh, domain)
        landing_read = landing_state(self.mesh, domain)
        print_ = fingerprint(code, landing_read, reading)
        current = read_record(self.mesh, name)
        if not self.full and current and current.fingerprint == print_:
            locks.close()
            self._finish(
                DomainResult(
                    name,
                    "unchanged",
                    time.perf_counter() - started,
                    publish_id=current.publish_id,
                    reason="code, landing data and upstreams as at its last publish",
                )
            )
            return
        # Exports the current publish read passed the same contracts if the code is the same.
        passed = current.landing if current and current.code_fingerprint == code else None
        problems = landing.check(self.mesh, domain, passed=passed)
        if problems:
            locks.close()
            self._finish(
                DomainResult(
                    name,
                    "failed",
                    time.perf_counter() - started,
                    reason=f"{len(problems)} problem(s) in landing exports against the columns "
                    "their sources declare, so it was not built",
                    details=problems,
                )
            )
            return
        run_id = new_id()
        staging = self.mesh.builds / name / run_id
        staging_made.append(staging)
        staging.mkdir(parents=True)
        loaded_through = None
        if not self.full and current and current.code_fingerprint == code:
            loaded_through = self._continue_incremental(
                name, current, staging, landing_read, reading
            )
        parse_cache.restore(self.mesh, name, staging / "target")
        task = DbtTask(
            name,
            _dbt_commands(self.mesh, domain, staging),
            {
                **dbt_env(self.mesh, domain, staging, upstreams, self.duckdb_threads),
                "MESH_MEMORY_LIMIT": self.duckdb_memory_limit,
                "MESH_LOADED_THROUGH": loaded_through or "",
            },
            cwd=str(staging),
        )
        self.reporter.started(name, models=len(list((domain.path / "models").rglob("*.sql"))))
        future = workers.submit(task)
        self.running[future] = _Running(
            domain, staging, run_id, upstreams, started, locks, print_, code, landing_read
        )

    def _continue_incremental(
        self,
        name: str,
        current: PublishRecord,
        staging: Path,
        landing: dict[str, str],
        upstreams: dict[str, str],
    ) -> str | None:
        """Start the build from a copy of the current publish, so that its incremental
        models process only the new exports; returns the newest export instant they hold
        (MESH_LOADED_THROUGH, see shared_macros.only_new_exports). Only while the code is
        the one that built the publish and the exports it read are all still there,
        unchanged: otherwise every model is built again from all the landing data."""
        models = current.incremental_models
        if not models:
            return None
        if not only_appended(current.landing, landing):
            self.reporter.notice(
                name,
                f"{name}: landing exports were replaced or removed since publish "
                f"{current.publish_id}: every model is rebuilt from all of them",
            )
            return None
        if current.upstreams != upstreams:
            # Rows computed from an upstream's earlier publish may no longer be what it
            # says now; recomputing only the keys new exports touched would keep them.
            self.reporter.notice(
                name,
                f"{name}: an upstream published a new version since publish "
                f"{current.publish_id}: every model is rebuilt",
            )
            return None
        published = domain_dir(self.mesh, name) / current.publish_id / f"{name}.duckdb"
        copy = staging / published.name
        shutil.copyfile(published, copy)
        loaded_through = newest_export_loaded(copy, models)
        new_files = [self.mesh.root / path for path in landing if path not in current.landing]
        if loaded_through is None or not all_exported_after(new_files, loaded_through):
            copy.unlink()
            self.reporter.notice(
                name,
                f"{name}: a new export is not newer than what publish {current.publish_id} "
                "loaded, or has rows without exported_at: every model is rebuilt",
            )
            return None
        self.reporter.notice(
            name,
            f"{name}: incremental: {', '.join(models)} continue from publish {current.publish_id}",
        )
        return loaded_through

    def _complete(self, future: Future[DbtOutcome]) -> None:
        job = self.running.pop(future)
        name = job.domain.name
        parse_cache.save(self.mesh, name, job.staging / "target")
        try:
            outcome = future.result()
        except Exception as error:  # the worker died (killed, out of memory...)
            outcome = DbtOutcome(success=False, error=f"the dbt worker process died: {error}")
        try:
            seconds = time.perf_counter() - job.started
            if not outcome.success:
                self._finish(
                    DomainResult(
                        name,
                        "failed",
                        seconds,
                        outcome,
                        "dbt build failed",
                        log_dir=job.staging / "logs",
                        counts=outcome.counts,
                    )
                )
                return
            blocked = self._publish_gates(name, job.staging)
            if blocked:
                reason, details = blocked
                self._finish(
                    DomainResult(
                        name,
                        "failed",
                        seconds,
                        outcome,
                        reason,
                        counts=outcome.counts,
                        details=details,
                    )
                )
                return
            try:
                record = publish(
                    self.mesh,
                    name,
                    job.staging,
                    job.run_id,
                    upstreams={u: p.parent.name for u, p in job.upstreams.items()},
                    dbt_results=outcome.counts,
                    fingerprint=job.fingerprint,
                    code_fingerprint=job.code_fingerprint,
                    usage=asdict(outcome.usage) if outcome.usage else None,
                    landing=job.landing,
                )
            except MeshError as error:
                self._finish(
                    DomainResult(
                        name, "failed", seconds, outcome, str(error), counts=outcome.counts
                    )
                )
                return
            shutil.rmtree(job.staging, ignore_errors=True)
            self._finish(
                DomainResult(
                    name,
                    "published",
                    time.perf_counter() - job.started,
                    outcome,
                    publish_id=record.publish_id,
                    counts=outcome.counts,
                )
            )
        finally:
            job.locks.close()

    def _publish_gates(self, name: str, staging: Path) -> tuple[str, list[str]] | None:
        """What stops a domain whose dbt build passed from publishing, as (reason, details):
        sources past their freshness error_after, then consumers' failing expectations."""
        target = staging / "target"
        try:
            manifest = json.loads((target / "manifest.json").read_text())
            run_results = json.loads((target / "run_results.json").read_text())
        except (OSError, ValueError) as error:
            return "dbt's manifest or run results could not be read", [str(error)]
        stale = stale_sources(name, manifest, self.reporter)
        if stale:
            return (
                f"landing data is older than {len(stale)} source(s) allow (error_after), "
                "so it was not published",
                stale,
            )
        failures = self._consumer_expectations(
            name, staging / f"{name}.duckdb", expectations.passed_tests(manifest, run_results)
        )
        if failures:
            return (
                f"{len(failures)} consumer expectation(s) failed, so it was not published",
                failures,
            )
        return None

    def _consumer_expectations(
        self, name: str, database: Path, tested: set[expectations.PassedTest]
    ) -> list[str]:
        """Run every consumer's expectations on this domain's candidate products, except
        those its passing data tests (`tested`) already checked."""
        consumers = [d for d in self.domains.values() if name in d.upstreams]
        try:
            failures = expectations.verify(
                database, expectations.on_products_of(name, consumers), tested
            )
        except MeshError as error:
            return [str(error)]
        return [f"{failure.expectation.label} -> {failure.detail}" for failure in failures]

    def _schedule(self, workers: DbtWorkers) -> None:
        for name in list(self.pending):
            upstreams = [u for u in self.domains[name].upstreams if u in self.selected]
            if any(u not in self.results for u in upstreams):
                continue  # an upstream is still building
            self.pending.remove(name)
            blocked = [u for u in upstreams if not self.results[u].ok]
            if blocked:
                self._finish(
                    DomainResult(
                        name, "skipped", reason=f"upstream {', '.join(blocked)} did not publish"
                    )
                )
            elif len(self.running) < self.jobs:
                self._start(workers, name)
            else:
                self.pending.insert(0, name)
                return

    def run(self, workers: DbtWorkers, events: Queue[ProgressEvent]) -> None:
        while True:
            self._schedule(workers)
            if not self.running:
                if not self.pending:
                    return
                continue
            done, _ = wait(list(self.running), timeout=0.1, return_when=FIRST_COMPLETED)
            drain(events, self.reporter)
            for future in done:
                self._complete(future)


def stale_sources(
    name: str, manifest: dict[str, Any], reporter: Reporter, landing_dir: Path | None = None
) -> list[str]:
    """Warn of the domain's sources past their warn_after; return those past error_after
    (`landing_dir`: read the export files there, for another engine's manifest)."""
    try:
        found = freshness.check(name, manifest, landing_dir=landing_dir)
    except (OSError, ValueError, duckdb.Error) as error:
        return [f"source freshness could not be read: {error}"]
    for stale in found:
        if stale.level == "warn":
            reporter.notice(name, f"{name}: warning: {stale.describe()}")
    return [stale.describe() for stale in found if stale.level == "error"]


def drain(events: Queue[ProgressEvent], reporter: Reporter) -> None:
    """Pass the progress the workers reported so far on to the reporter."""
    while True:
        try:
            domain, kind, data = events.get_nowait()
        except queue.Empty:
            return
        if kind == "stats":
            reporter.totals(domain, data)
        elif kind == "node":
            reporter.node_done(domain, data["resource_type"], data["status"])


def summary_line(results: list[DomainResult]) -> str:
    """One sentence for a build where every domain is published or unchanged."""
    if len(results) == 1:
        return f"{results[0].domain} {results[0].status}."
    unchanged = sum(result.status == "unchanged" for result in results)
    if not unchanged:
        return f"All {len(results)} domains published."
    return f"{len(results) - unchanged} domains published, {unchanged} unchanged."


def build(
    mesh: Mesh,
    targets: list[str],
    reporter: Reporter | None = None,
    jobs: int | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    only: bool = False,
    full: bool = False,
    workers: DbtWorkers | None = None,
) -> list[DomainResult]:
    """Build `targets` (every domain when empty) and what they consume, upstreams first.

    A domain whose code, landing data and upstream publishes are those of its current
    publish is skipped as unchanged, unless `full`. `workers`: dbt workers already running
    (made with an event queue), which the build uses, at most one domain per worker, and
    leaves open for the caller's next one; progress a worker reports after its domain ended
    may then reach the next build's reporter. By default the build starts its own workers
    and stops them at the end.
    """
    if workers is not None and workers.events is None:
        raise ValueError("build() needs workers made with an event queue")
    domains, order = plan(mesh, targets, only)
    check_landing(mesh, [domains[name] for name in order])
    jobs = jobs or (workers.size if workers else default_jobs())
    if workers is not None:
        jobs = min(jobs, workers.size)
    jobs = max(1, min(jobs, len(order)))
    reporter = reporter or Reporter()
    reporter.planned(order)
    scheduler = _Scheduler(mesh, domains, order, jobs, lock_timeout, reporter, full)
    if workers is None:
        events = event_queue()
        with DbtWorkers(workers=jobs, events=events) as own:
            scheduler.run(own, events)
    else:
        assert workers.events is not None  # checked above
        events = workers.events
        scheduler.run(workers, events)
    drain(events, reporter)
    return [scheduler.results[name] for name in order]

"""Build domains in dependency order, `jobs` at a time, and publish each one that passes:
plan -> lock -> unchanged? -> landing check -> run dbt -> publish gates -> publish -> clean up.

A domain builds in its own staging folder, `build/<domain>/<run-id>/`, reading one publish of
each upstream, resolved once: the one this build published (or found unchanged), else the one
in the mesh snapshot. dbt runs in worker processes; the parent holds each domain's lock, runs
the gates, publishes what passed and skips the consumers of what failed. When the build ends
it commits the newest consistent mesh snapshot (snapshot.py): only then do readers see what it
published. What differs per engine is asked of the `Engine` (engine.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import math
import os
import queue
import shutil
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import dataclass
from multiprocessing.queues import Queue
from pathlib import Path

import duckdb

from mesh import ids
from mesh.data import landing
from mesh.data.landing import landing_state
from mesh.discovery import graph, integrity, manifest, snapshots
from mesh.discovery.domains import (
    Domain,
    discover,
    require_projects,
    require_published,
    select,
    standing_in,
)
from mesh.discovery.registry import (
    PublishRecord,
    current_publish_id,
    domain_dir,
    read_record,
    record_in,
)
from mesh.errors import (
    DamagedPublishError,
    DamagedRecordError,
    MeshError,
    MissingPublishError,
)
from mesh.governance import pii_key
from mesh.governance.contracts import removed_reads
from mesh.governance.rules import dbt_code_stays_in_its_database
from mesh.ids import new_id
from mesh.pipeline import gates, snapshot
from mesh.pipeline.engine import UPSTREAMS, Candidate, Engine, Job, Upstream
from mesh.pipeline.fingerprint import code_fingerprint, code_inputs, fingerprint, rebuild_reasons
from mesh.pipeline.locks import domain_lock
from mesh.pipeline.publish import cleanup, forget_fingerprint, publish
from mesh.pipeline.report import DomainResult, Reporter, Status
from mesh.runner import parse_cache, sandbox
from mesh.runner.dbt import dbt_args, loom_env, with_packages
from mesh.runner.workers import (
    DbtOutcome,
    DbtTask,
    DbtWorkers,
    Isolation,
    NodesPlanned,
    ProgressEvent,
    event_queue,
    worth_warming,
)
from mesh.workspace import DEFAULT_ENGINE, Mesh

DEFAULT_LOCK_TIMEOUT = 300.0
# Seconds a domain's dbt commands may run before they are stopped (`mesh build --timeout`).
DEFAULT_TIMEOUT = 3600.0


def default_jobs() -> int:
    """One build per core: each DuckDB build is mostly single-threaded at mesh sizes."""
    return max(1, os.cpu_count() or 1)


def plan(mesh: Mesh, targets: list[str], only: bool = False) -> tuple[dict[str, Domain], list[str]]:
    """The domains to build for `targets` (all when empty), upstreams first.

    With `only`, just the targets: their upstreams are read as the mesh snapshot has them.
    A domain built in a repository of its own is never built here: its publish is read; in
    its repository, no targets means that domain alone.
    """
    domains = discover(mesh)
    if not targets and (mine := standing_in(mesh, domains)):  # in its own repository
        targets, only = [mine], True
    require_projects(mesh, select(domains, targets), "build")
    chosen = set(targets) if only else graph.with_upstreams(domains, targets or list(domains))
    built = {name for name in chosen if not domains[name].published_only}
    order = graph.build_order(domains, built)
    require_published(mesh, domains, {u for name in built for u in domains[name].upstreams})
    return domains, order


def expected_seconds(mesh: Mesh, names: list[str]) -> dict[str, float]:
    """How long each domain's dbt build is likely to take: its current publish's, as the
    record says (a domain without one, or with a damaged one: the others' mean, or 1 s).
    Only the order builds start in depends on it."""
    known: dict[str, float] = {}
    for name in names:
        with contextlib.suppress(MeshError, OSError, ValueError):  # damaged: not known
            record = read_record(mesh, name)
            seconds = record.usage.get("seconds") if record and record.usage else None
            # Only a finite number: not text, a bool, NaN, or an int too large for a float.
            if isinstance(seconds, int | float) and not isinstance(seconds, bool):
                with contextlib.suppress(ArithmeticError):
                    if math.isfinite(seconds):
                        known[name] = max(float(seconds), 0.1)
    default = sum(known.values()) / len(known) if known else 1.0
    return {name: known.get(name, default) for name in names}


def missing_landing(mesh: Mesh, domain: Domain) -> str | None:
    """Why `domain` cannot be built for want of landing data, if so: a table its sources
    read has no export. Only that domain fails (and what consumes it is skipped)."""
    missing = [
        folder
        for folder in domain.landing_tables(mesh)
        if not folder.is_dir() or not any(folder.iterdir())
    ]
    if not missing:
        return None
    shown = ", ".join(str(p.relative_to(mesh.root)) for p in missing[:6])
    more = f" and {len(missing) - 6} more" if len(missing) > 6 else ""
    return f"its landing data is missing ({shown}{more}); run `mesh generate` to create it"


def upstream_publish(
    mesh: Mesh, consumer: str, name: str, publish_id: str | None, engine: Engine
) -> Upstream:
    """The publish `publish_id` of upstream `name`, as `consumer`'s build reads it."""
    folder = domain_dir(mesh, name) / publish_id if publish_id else None
    try:
        record = record_in(folder) if folder else None
    except OSError:  # a damaged record is its own error, not a missing publish
        record = None
    if folder is None or record is None or not (folder / "manifest.json").exists():
        on, target = (
            ("", "")
            if engine.name == DEFAULT_ENGINE
            else (f" on {engine.name}", f" --target {engine.name}")
        )
        raise MissingPublishError(
            f"{consumer} consumes {name}, which has no published version{on}; "
            f"run `mesh build{target} {name}` first."
        )
    return Upstream(name, folder, record)


def check_intact(
    mesh: Mesh, record: PublishRecord, reader: str | None = None, full: bool = False
) -> None:
    """Raise DamagedPublishError if a file of the publish (or its private store) is not the
    one published, by stat (integrity.changed; with `full`, by sha256): before a build reads
    it as an upstream (`reader`) or calls its own domain unchanged or continues from it."""
    damaged = integrity.publish_damage(mesh, record, full)
    if not damaged:
        return
    domain, more = record.domain, f" (and {len(damaged) - 1} more)" if len(damaged) > 1 else ""
    whose = f"{reader} reads {domain}'s publish" if reader else f"{domain}'s current publish"
    raise DamagedPublishError(
        f"{whose} {record.publish_id}, which changed after it was published: "
        f"{damaged[0].describe()}{more}. Run `mesh repair {domain}` to rebuild it, or "
        f"`mesh rollback {domain}` to return to its previous publish."
    )


@dataclass
class _Running:
    job: Job
    started: float
    locks: ExitStack


class _Scheduler:
    """Starts each domain once its upstreams are published, `jobs` at a time."""

    def __init__(
        self,
        mesh: Mesh,
        engine: Engine,
        domains: dict[str, Domain],
        order: list[str],
        jobs: int,
        lock_timeout: float,
        reporter: Reporter,
        full: bool,
        workers: DbtWorkers | None,
        overrides: dict[str, gates.Overrides],
        timeout: float | None,
    ) -> None:
        self.mesh, self.engine, self.domains = mesh, engine, domains
        self.timeout, self.isolation = timeout, isolation(engine)
        self.overrides, self.today = overrides, ids.today()
        # Started longest chain first, not in `order`: orders (whose chain to analytics is
        # the mesh's longest) waiting behind catalog and customers cost a warm build 1 s.
        self.pending = graph.longest_chain_first(domains, order, expected_seconds(mesh, order))
        self.selected = set(order)
        self.jobs, self.lock_timeout, self.reporter, self.full = jobs, lock_timeout, reporter, full
        self.results: dict[str, DomainResult] = {}
        # What upstreams built before this run are read at (a damaged one: their newest).
        self.reading = snapshots.current(mesh, damaged_is_none=True)
        self.running: dict[Future[DbtOutcome], _Running] = {}
        self.own_workers = workers is None
        self.events: Queue[ProgressEvent] = (
            workers.events if workers and workers.events else event_queue()
        )
        self.workers = workers or self._new_workers()

    def _new_workers(self) -> DbtWorkers:
        return DbtWorkers(
            workers=self.jobs,
            events=self.events,
            output=self.engine.worker_output(self.mesh),
            tasks_per_worker=self.engine.tasks_per_worker,
            preload=self.engine.worker_modules,
            warm=worth_warming(len(self.pending)),  # a task per domain to build
        )

    def close(self, stop: bool = False) -> None:
        """Release what the build holds; with `stop` (Ctrl-C), kill its dbt work at once."""
        if self.own_workers:
            self.workers.close(stop=stop)
        for running in self.running.values():  # the build stopped early: release the domains
            running.locks.close()
        self.drain()

    def _finish(self, result: DomainResult) -> None:
        self.results[result.domain] = result
        self.reporter.finished(result)

    def _submit(self, task: DbtTask) -> Future[DbtOutcome]:
        """Hand the task to a worker, confined as this build's tasks are (an engine's own
        tasks, its gate's checks, included); a pool broken by a dead worker is replaced first."""
        task = dataclasses.replace(task, isolation=self.isolation)
        try:
            return self.workers.submit(task)
        except BrokenProcessPool:
            if not self.own_workers:
                raise
            self.workers.close()
            self.workers = self._new_workers()
            return self.workers.submit(task)

    def run_now(self, task: DbtTask) -> DbtOutcome:
        """Run more dbt commands of a domain in the parent's step, passing progress on."""
        future = self._submit(task)
        while not future.done():
            wait([future], timeout=0.1)
            self.drain()
        return _outcome(future)

    # plan -> lock -> unchanged? -> landing check -> run dbt ----------------------------------

    def _start(self, name: str) -> None:
        """Prepare the domain's build and hand it to a worker. Whatever goes wrong on the way
        (a lock, a full disk, an unreadable publish) fails this domain, not the whole build."""
        started = time.perf_counter()
        locks, staging = ExitStack(), self.mesh.builds / name / new_id()
        try:
            ended = self._prepare(name, started, locks, staging)
        except (MeshError, OSError, ValueError, duckdb.Error) as error:
            shutil.rmtree(staging, ignore_errors=True)
            ended = DomainResult(
                name, Status.FAILED, reason=_problem(error, "its build could not be prepared")
            )
        except BaseException:  # a bug or Ctrl-C: release the domain, then stop the build
            locks.close()
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if ended:
            locks.close()
            ended.seconds = time.perf_counter() - started
            self._finish(ended)

    def _prepare(
        self, name: str, started: float, locks: ExitStack, staging: Path
    ) -> DomainResult | None:
        """Lock, skip if unchanged, check the landing data, start dbt; a result if it ended."""
        mesh, domain = self.mesh, self.domains[name]
        notice = lambda message: self.reporter.notice(name, message)  # noqa: E731
        locks.enter_context(domain_lock(mesh.locks, name, self.lock_timeout, notice))
        cleanup(mesh, name)
        upstreams = {
            u: upstream_publish(mesh, name, u, self._upstream_id(u), self.engine)
            for u in domain.upstreams
        }
        for upstream in upstreams.values():
            check_intact(mesh, upstream.record, reader=name)
            try:
                self.engine.check_upstream(mesh, name, upstream)
            except MeshError:  # unreadable: damage with its stat put back says why, if so
                check_intact(mesh, upstream.record, reader=name, full=True)
                raise
        key = pii_key.for_build(mesh, domain)  # the mesh's, if the domain owns PII
        inputs = code_inputs(mesh, domain, self.engine.toolchain, key.fingerprint if key else "")
        code = code_fingerprint(inputs)
        landing_read = landing_state(mesh, domain)
        upstream_ids = {u: up.folder.name for u, up in upstreams.items()}
        print_ = fingerprint(code, landing_read, upstream_ids)
        try:
            current = read_record(mesh, name)
        except DamagedRecordError:
            if not self.full:
                raise
            current = None  # --full rebuilds from nothing: the damaged record is not needed
        if current and not self.full:  # what "unchanged" keeps, and what builds continue from
            check_intact(mesh, current)
        elif current and (damaged := integrity.publish_damage(mesh, current, full=True)):
            # --full (and `mesh repair`) rebuilds from nothing: a damaged publish is no
            # baseline for the gate's comparisons either (its files are hashed: --full is rare).
            self.reporter.notice(
                name,
                f"its current publish {current.publish_id} is damaged "
                f"({damaged[0].describe()}): rebuilt from its code and landing data, compared "
                "with no earlier publish",
            )
            current = None
        expired = sorted(
            relation
            for relation, day in (current.deprecation_dates if current else {}).items()
            if dt.date.fromisoformat(day) < self.today
        )
        if not self.full and current and current.fingerprint == print_ and not expired:
            reason = "code, landing data and upstreams as at its last publish"
            return DomainResult(
                name, Status.UNCHANGED, publish_id=current.publish_id, reason=reason
            )
        if expired:
            self.reporter.notice(
                name, f"{', '.join(expired)} passed its deprecation date: rebuilt to leave it out"
            )
        elif not self.full:
            reasons = rebuild_reasons(current, inputs, landing_read, upstream_ids)
            self.reporter.notice(
                name, f"{name}: building because {'; '.join(reasons) or 'its inputs changed'}"
            )
        # Escapes from its database the mesh does not allow: refused before any of its code runs.
        escapes = dbt_code_stays_in_its_database.refused(name, domain.path, mesh.root)
        if escapes:
            reason = (
                f"its dbt code does what the mesh does not allow it "
                f"({dbt_code_stays_in_its_database.RULE.name}), so it was not built"
            )
            fix = dbt_code_stays_in_its_database.RULE.fix
            details = [f"{message} Fix: {' '.join(fix.split())}" for _, _, message in escapes]
            return DomainResult(name, Status.FAILED, reason=reason, details=details)
        # Exports the current publish read passed the same contracts if the code is the same.
        passed = current.landing if current and current.code_fingerprint == code else None
        if missing := missing_landing(mesh, domain):
            return DomainResult(name, Status.FAILED, reason=missing)
        exports = landing.verify(mesh, domain, passed=passed)
        if exports.problems:
            reason = (
                f"{len(exports.problems)} problem(s) in landing exports against their delivery "
                "manifests or the columns their sources declare, so it was not built"
            )
            return DomainResult(name, Status.FAILED, reason=reason, details=exports.problems)
        # What dbt reads: the verified files, by name; recorded as what this build read.
        if landing_state(mesh, domain) != landing_read:  # an export landed meanwhile
            return DomainResult(
                name, Status.FAILED, reason="its landing exports changed while they were "
                "checked (a delivery in progress?); build it again"
            )  # fmt: skip
        staging.mkdir(parents=True)
        for upstream in upstreams.values():  # what dbt-loom and the engine read, never `current`
            (staging / UPSTREAMS / upstream.name).mkdir(parents=True)
            (staging / UPSTREAMS / upstream.name / "current").symlink_to(upstream.folder)
        job = Job(
            mesh=mesh,
            domain=domain,
            run_id=staging.name,
            staging=staging,
            upstreams=upstreams,
            current=current,
            code_fingerprint=code,
            code_files=inputs,
            fingerprint=print_,
            landing=landing_read,
            full=self.full,
            jobs=self.jobs,
            notice=notice,
            run=self.run_now,
        )
        manifests = {n: staging / UPSTREAMS / n / "current" / "manifest.json" for n in upstreams}
        env = {
            **self.engine.env(job),
            **loom_env(staging, manifests),
            **pii_key.build_env(key),
            **landing.dbt_env(domain, exports.files),
        }
        build = [
            "build",
            *dbt_args(mesh, domain, staging),
            "--target-path",
            str(staging / "target"),
        ]
        commands = with_packages(mesh, domain, staging, *self.engine.before_build(job), build)
        parse_cache.restore(mesh, name, staging / "target")
        self.reporter.started(name, models=len(list((domain.path / "models").rglob("*.sql"))))
        # The staging folder is all the build may write (sandbox.py); then it stops.
        task = DbtTask(name, commands, env, (str(staging),), str(staging), timeout=self.timeout)
        future = self._submit(task)
        self.running[future] = _Running(job, started, locks)
        return None

    def _upstream_id(self, name: str) -> str | None:
        """The publish of upstream `name` a build reads: this run's (published or unchanged),
        else the mesh snapshot's, else (no snapshot yet, or none that can hold it) its newest.
        One built in a repository of its own: its newest, as if this build found it unchanged."""
        if self.domains[name].published_only:
            return current_publish_id(self.mesh, name)
        result = self.results.get(name)
        if result is not None and result.ok and result.publish_id:
            return result.publish_id
        if self.reading is not None and name in self.reading.publishes:
            return self.reading.publishes[name]
        return current_publish_id(self.mesh, name)

    # -> publish gates -> publish -> clean up ---------------------------------------------------

    def _complete(self, future: Future[DbtOutcome]) -> None:
        """Gate and publish a domain whose dbt build ended. Whatever goes wrong on the way (a
        full disk, a permission, any OS error) fails this domain, not the whole build."""
        running = self.running.pop(future)
        job = running.job
        try:
            with contextlib.suppress(OSError):  # a cache: without it the next parse is slower
                parse_cache.save(self.mesh, job.name, job.staging / "target")
            result = self._gate_and_publish(running, _outcome(future))
        except (MeshError, OSError, ValueError, duckdb.Error) as error:
            shutil.rmtree(job.staging, ignore_errors=True)
            result = DomainResult(
                job.name,
                Status.FAILED,
                time.perf_counter() - running.started,
                reason=_problem(error, "it could not be published"),
            )
        finally:
            running.locks.close()
        self._finish(result)

    def _gate_and_publish(self, running: _Running, outcome: DbtOutcome) -> DomainResult:
        job, name = running.job, running.job.name

        def failed(reason: str, details: list[str] | None = None, **more: object) -> DomainResult:
            seconds = time.perf_counter() - running.started
            return DomainResult(
                name, Status.FAILED, seconds, outcome, reason, counts=outcome.counts,
                details=details or [], **more,  # type: ignore[arg-type]
            )  # fmt: skip

        target = job.staging / "target"
        if outcome.timed_out:
            return DomainResult(
                name, Status.FAILED, time.perf_counter() - running.started,
                reason=f"its dbt build ran past the time limit of {self.timeout:g} s and was "
                "stopped; raise the limit with `mesh build --timeout SECONDS`",
            )  # fmt: skip
        if not outcome.success:
            removed = _removed_reads(job, target / "manifest.json", self.today)
            if removed:
                return failed("it reads product versions that are no longer published", removed)
            return failed("dbt build failed", log_dir=job.staging / "logs")
        try:
            candidate = Candidate(
                manifest.load(target / "manifest.json"),
                manifest.load_run_results(target / "run_results.json"),
                outcome,
            )
        except (OSError, ValueError) as error:
            return failed("dbt's manifest or run results could not be read", [str(error)])
        consumers = [d for d in self.domains.values() if name in d.upstreams]
        try:
            overrides = self.overrides.get(name, gates.Overrides())  # only the named
            verdict = gates.evaluate(self.engine, job, candidate, consumers, overrides, self.today)
            if verdict.blocked:
                return failed(verdict.blocked.reason, verdict.blocked.details)
            candidate = dataclasses.replace(candidate, retired=tuple(verdict.retired))
            record = publish(self.engine, job, candidate, verdict)
        except (MeshError, OSError, ValueError, duckdb.Error) as error:
            shutil.rmtree(job.staging, ignore_errors=True)  # frees the space a full disk needs
            return failed(_problem(error, "it could not be published"))
        try:
            problem = self.engine.make_current(job, record)
        except (MeshError, OSError, ValueError, duckdb.Error) as error:
            doing = f"publish {record.publish_id} could not be made fully current"
            problem = _problem(error, doing)
        if problem:
            with contextlib.suppress(OSError):  # then the next build finds it changed anyway
                forget_fingerprint(self.mesh, record)
            return failed(problem)
        shutil.rmtree(job.staging, ignore_errors=True)
        return DomainResult(
            name,
            Status.PUBLISHED,
            time.perf_counter() - running.started,
            outcome,
            publish_id=record.publish_id,
            counts=outcome.counts,
        )

    def _schedule(self) -> None:
        for name in list(self.pending):
            upstreams = [u for u in self.domains[name].upstreams if u in self.selected]
            if any(u not in self.results for u in upstreams):
                continue  # an upstream is still building
            self.pending.remove(name)
            blocked = [u for u in upstreams if not self.results[u].ok]
            if blocked:
                reason = f"upstream {', '.join(blocked)} did not publish"
                self._finish(DomainResult(name, Status.SKIPPED, reason=reason))
            elif len(self.running) < self.jobs:
                self._start(name)
            else:
                self.pending.insert(0, name)
                return

    def run(self) -> None:
        while True:
            self._schedule()
            if not self.running:
                if not self.pending:
                    return
                continue
            done, _ = wait(list(self.running), timeout=0.1, return_when=FIRST_COMPLETED)
            self.drain()
            for future in done:
                self._complete(future)

    def drain(self) -> None:
        """Pass the progress the workers reported so far on to the reporter."""
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return
            if isinstance(event, NodesPlanned):
                self.reporter.totals(event.domain, event.nodes)
            else:
                self.reporter.node_done(event.domain, event.resource_type, event.status)


def _problem(error: Exception, doing: str) -> str:
    """One line for a domain that failed on `error`: a MeshError says it all; an OS error is
    named (a full disk, a permission, a read-only file system) with where and what to do."""
    if isinstance(error, MeshError):
        return str(error)
    if not isinstance(error, OSError):
        return f"{doing}: {error}"
    path = error.filename2 or error.filename  # of a copy or a rename: where it was going
    where = f" at {path}" if path else ""
    if error.errno == errno.ENOSPC:
        what, fix = "the disk is full", "free space on it and build again"
    elif error.errno in (errno.EACCES, errno.EPERM):
        what, fix = "permission denied", "give the user running mesh write access and build again"
    elif error.errno == errno.EROFS:
        what, fix = "the file system is read-only", "make it writable and build again"
    else:
        what, fix = error.strerror or str(error), "fix that and build again"
    return f"{doing}: {what}{where}; {fix}"


def _removed_reads(job: Job, manifest_path: Path, today: dt.date) -> list[str]:
    """Why a failed build failed, when it reads an upstream product version past its
    deprecation date (dbt's own message does not say what to move to)."""
    try:
        return removed_reads(job.name, manifest.load(manifest_path), today)
    except (OSError, ValueError):
        return []


def isolation(engine: Engine) -> Isolation:
    """How this build's dbt tasks run: in the build sandbox unless MESH_SANDBOX=off or the
    engine keeps a session in its worker across domains (Spark in session mode)."""
    if engine.isolation == "sandbox" and not sandbox.enabled():
        return "fork"
    return engine.isolation


def unconfined_warning(engine: Engine) -> str:
    if engine.isolation != "sandbox":
        return (
            f"{engine.name} builds run unconfined ({engine.unconfined_because()}): a domain's "
            "dbt code can write anywhere this build can; the publish records say sandboxed: false"
        )
    return (
        f"{sandbox.SWITCH}=off: builds run without the sandbox, so a domain's dbt code can "
        "write anywhere this build can; the publish records say sandboxed: false"
    )


def _outcome(future: Future[DbtOutcome]) -> DbtOutcome:
    try:
        return future.result()
    except Exception as error:  # the worker died (killed, out of memory...)
        return DbtOutcome(success=False, error=f"the dbt worker process died: {error}")


def build(
    mesh: Mesh,
    targets: list[str],
    engine: Engine,
    reporter: Reporter | None = None,
    jobs: int | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    only: bool = False,
    full: bool = False,
    workers: DbtWorkers | None = None,
    overrides: gates.Overrides | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> list[DomainResult]:
    """Build `targets` (every domain when empty) and what they consume, upstreams first, on
    `engine`.

    A domain whose code, landing data and upstream publishes are those of its current
    publish is skipped as unchanged, unless `full`. `workers`: dbt workers already running
    (made with an event queue), which the build uses, at most one domain per worker, and
    leaves open for the caller's next one; progress a worker reports after its domain ended
    may then reach the next build's reporter. By default the build starts its own workers
    and stops them at the end. `overrides`: gate findings to publish despite (gates.py), in
    the named `targets` only. `timeout`: seconds each domain's dbt commands may run; a
    domain that runs longer is stopped and fails, and the others go on.
    """
    if workers is not None and workers.events is None:
        raise ValueError("build() needs workers made with an event queue")
    if workers is not None and engine.max_jobs == 1 and workers.size > 1:
        raise ValueError(f"{engine.name} runs a build's dbt commands on one worker, not a pool")
    mesh = mesh.on(engine.name)
    domains, order = plan(mesh, targets, only)
    engine.require(mesh)
    jobs = jobs or (workers.size if workers else default_jobs())
    if workers is not None:
        jobs = min(jobs, workers.size)
    jobs = max(1, min(jobs, len(order), engine.max_jobs or jobs))
    reporter = reporter or Reporter()
    reporter.planned(order)
    if isolation(engine) != "sandbox":
        reporter.notice("mesh", unconfined_warning(engine))
    scheduler = _Scheduler(
        mesh, engine, domains, order, jobs, lock_timeout, reporter, full, workers,
        dict.fromkeys(targets, overrides) if overrides else {}, timeout,
    )  # fmt: skip
    interrupted = False
    try:
        scheduler.run()
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        scheduler.close(stop=interrupted)
        # Even after Ctrl-C: what was published becomes readable once it is consistent.
        try:
            snapshot.commit(mesh, cause=f"build of {', '.join(targets) or 'every domain'}")
        except (MeshError, OSError) as error:
            reporter.notice("mesh", f"no new mesh snapshot was committed: {error}")
    return [scheduler.results[name] for name in order]

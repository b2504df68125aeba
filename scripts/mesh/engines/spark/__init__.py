"""The mesh on Apache Spark: `mesh build --target spark` and `mesh query --target spark`.

The same domain projects run on Spark through dbt-spark (the profile's `spark` target);
engine differences live in shared_macros (macros/spark/). What the platform does
differently from DuckDB, and why:
- Storage: one Spark catalog for the mesh. In session mode (a local Spark inside the dbt
  worker) that is a metastore and a table folder under `warehouse/spark/`; on a cluster,
  its metastore. Each domain writes only schemas of its own: `<domain>__<run>`, one per
  build (a version), and `<domain>`, its published views.
- Publishing: a build writes a new version. Only after every model and test passed, its
  sources are fresh and its consumers' expectations hold, is its manifest published
  (`warehouse/spark/published/<domain>/current`, records as on DuckDB), and then the
  domain's views (`<domain>.<relation>`, what `mesh query` and outside readers use) pointed
  at it. Consumers' dbt-loom resolves refs through that manifest to the version's tables,
  so a consumer build reads one version of each upstream throughout, while a build that
  fails changes nothing anyone reads. Versions nothing reads are dropped when the domain
  next builds.
- One domain at a time: the local metastore (Derby) admits one Spark process, and one
  worker keeps its Spark session (about 15 s to start) from domain to domain.
- Every build is a full build of a new version; continuing incremental models from the
  last publish is the DuckDB path's.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from concurrent.futures import wait
from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb

from mesh.data import landing
from mesh.data.landing import landing_state
from mesh.discovery.domains import Domain
from mesh.discovery.registry import RECORD, PublishRecord, domain_dir, publish_ids, read_record
from mesh.engines.duckdb.query import QueryResult
from mesh.engines.spark import java
from mesh.errors import MeshError, QueryError, QueryRefusedError
from mesh.governance import expectations
from mesh.ids import new_id, now
from mesh.pipeline.build import (
    DEFAULT_LOCK_TIMEOUT,
    DomainResult,
    Reporter,
    check_landing,
    drain,
    plan,
    stale_sources,
)
from mesh.pipeline.fingerprint import code_fingerprint, fingerprint, toolchain
from mesh.pipeline.locks import domain_lock
from mesh.pipeline.publish import (
    cleanup,
    finish_publish,
    git_commit,
    start_publish,
)
from mesh.runner.dbt import dbt_args, with_packages
from mesh.runner.workers import DbtOutcome, DbtTask, DbtWorkers, event_queue
from mesh.workspace import Mesh

SPARK = "spark"
# What a Spark build adds to the DuckDB path's toolchain: an upgrade rebuilds every domain.
TOOLCHAIN = ("dbt-spark", "pyspark")
SPARK_MEMORY = "2g"  # the driver's heap: the local Spark's whole memory
# Tasks (2 per domain, 4 dbt invocations) before the worker, and its Spark, are replaced:
# dbt-loom's limit of about a thousand invocations per process, not the DuckDB path's 20.
TASKS_PER_WORKER = 200


class SparkUnavailableError(MeshError):
    """Spark cannot run here: dbt-spark/pyspark not installed, or no Java 17+."""


def require_spark() -> None:
    """Raise SparkUnavailableError naming what is missing to run Spark here."""
    missing = [name for name in ("pyspark", "dbt.adapters.spark") if not _importable(name)]
    if missing:
        raise SparkUnavailableError(
            f"--target spark needs dbt-spark with session support and pyspark "
            f"({', '.join(missing)} not installed). Run `make test-spark` once, or "
            "`.venv/bin/pip install -c constraints.txt -e '.[spark]'`."
        )
    found = java.problem()
    if found:
        raise SparkUnavailableError(f"--target spark cannot run: {found}")


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def settings(mesh: Mesh) -> dict[str, str]:
    """Where the local Spark keeps the mesh's catalog and tables (the profile reads these)."""
    return {
        "MESH_SPARK_HOME": str(mesh.engine_dir),
        "SPARK_LOCAL_IP": "127.0.0.1",  # local mode: no network lookup of the host name
        "MESH_SPARK_WAREHOUSE": str(mesh.engine_dir / "tables"),
        "MESH_SPARK_METASTORE": str(mesh.engine_dir / "metastore_db"),
        "MESH_SPARK_MEMORY": SPARK_MEMORY,
        "MESH_SPARK_PARTITIONS": str(os.cpu_count() or 1),  # shuffle partitions: one per core
    }


def version_schema(domain: str, run_id: str) -> str:
    """The schema one build of `domain` writes: `<domain>__<run id>` in Spark's spelling."""
    return f"{domain}__{run_id.lower().replace('-', '_')}"


def kept_versions(mesh: Mesh, domain: str, domains: list[str]) -> list[str]:
    """The version schemas of `domain` still read: by its kept publishes, and by the current
    publish of any other domain (whose views may read an upstream's version)."""
    kept = set()
    for publish_id in publish_ids(mesh, domain):
        record = read_record(mesh, domain, publish_id)
        if record and record.schema_:
            kept.add(record.schema_)
    for other in domains:
        other_record = read_record(mesh, other)
        read = other_record.upstream_schemas.get(domain) if other_record else None
        if read:
            kept.add(str(read))
    return sorted(kept)


def public_relations(domain: str, manifest: dict[str, Any]) -> list[str]:
    """The relation names of the domain's public models: its products' published views."""
    return sorted(
        node["alias"]
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "model"
        and node.get("package_name") == domain
        and node.get("access") == "public"
    )


def _operation(
    mesh: Mesh, domain: Domain, staging: Path, macro: str, args: dict[str, Any]
) -> list[str]:
    """A `dbt run-operation` of one of shared_macros' Spark steps (macros/spark/)."""
    return [
        "run-operation",
        f"shared_macros.{macro}",
        "--args",
        json.dumps(args),
        *dbt_args(mesh, domain, staging),
        # Not the build's target folder: an operation writes its own run results there.
        "--target-path",
        str(staging / "operations"),
    ]


def _env(mesh: Mesh, domain: Domain, schema: str) -> dict[str, str]:
    return {
        "MESH_TARGET": SPARK,
        "MESH_SPARK_SCHEMA": schema,
        "MESH_LANDING_DIR": str(mesh.landing_dir(domain.name)),
        "MESH_PUBLISHED_DIR": str(mesh.published),
        "DBT_LOOM_CONFIG": str(domain.loom_config),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **settings(mesh),
    }


def _failed(name: str, started: float, reason: str, **more: Any) -> DomainResult:
    return DomainResult(name, "failed", time.perf_counter() - started, reason=reason, **more)


class _SparkBuild:
    """Builds domains one after another on one worker, publishing each that passes."""

    def __init__(
        self,
        mesh: Mesh,
        domains: dict[str, Domain],
        reporter: Reporter,
        lock_timeout: float,
        full: bool,
    ) -> None:
        self.mesh = mesh
        self.domains = domains
        self.reporter = reporter
        self.lock_timeout = lock_timeout
        self.full = full
        self.results: dict[str, DomainResult] = {}
        self.events = event_queue()
        self.log = mesh.engine_dir / "spark.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.workers = self._workers()

    def _workers(self) -> DbtWorkers:
        # One worker, kept for the whole build: its Spark session serves every domain.
        return DbtWorkers(
            workers=1, events=self.events, output=self.log, tasks_per_worker=TASKS_PER_WORKER
        )

    def close(self) -> None:
        self.workers.close()
        drain(self.events, self.reporter)

    def domain(self, name: str) -> DomainResult:
        blocked = [
            u for u in self.domains[name].upstreams if u in self.results and not self.results[u].ok
        ]
        if blocked:
            return DomainResult(
                name, "skipped", reason=f"upstream {', '.join(blocked)} did not publish"
            )
        started = time.perf_counter()
        try:
            with domain_lock(
                self.mesh.locks, name, self.lock_timeout, lambda m: self.reporter.notice(name, m)
            ):
                return self._build(self.domains[name], started)
        except MeshError as error:  # a lock, a missing upstream...: this domain fails
            return _failed(name, started, str(error))
        except (OSError, ValueError, duckdb.Error) as error:  # a full disk, a broken file...
            return _failed(name, started, f"its build could not be prepared or published: {error}")

    def _build(self, domain: Domain, started: float) -> DomainResult:
        name = domain.name
        cleanup(self.mesh, name)
        reading, schemas = {}, {}
        for upstream in domain.upstreams:
            published = read_record(self.mesh, upstream)
            if published is None:
                raise MeshError(
                    f"{name} consumes {upstream}, which has no published version on Spark; "
                    f"run `mesh build --target spark {upstream}` first."
                )
            reading[upstream] = published.publish_id
            schemas[upstream] = published.schema_ or ""
        code = hashlib.sha256(
            f"{code_fingerprint(self.mesh, domain)}\n{toolchain(TOOLCHAIN)}".encode()
        )
        code_print = code.hexdigest()
        landing_read = landing_state(self.mesh, domain)
        print_ = fingerprint(code_print, landing_read, reading)
        current = read_record(self.mesh, name)
        if not self.full and current and current.fingerprint == print_:
            return DomainResult(
                name,
                "unchanged",
                time.perf_counter() - started,
                publish_id=current.publish_id,
                reason="code, landing data and upstreams as at its last publish",
            )
        # Exports the current publish read passed the same contracts if the code is the same.
        passed = current.landing if current and current.code_fingerprint == code_print else None
        problems = landing.check(self.mesh, domain, passed=passed)
        if problems:
            return _failed(
                name,
                started,
                f"{len(problems)} problem(s) in landing exports against the columns their "
                "sources declare, so it was not built",
                details=problems,
            )
        run_id = new_id()
        schema = version_schema(name, run_id)
        staging = self.mesh.builds / name / run_id
        staging.mkdir(parents=True)
        build = ["build", *dbt_args(self.mesh, domain, staging)]
        build += ["--target-path", str(staging / "target")]
        keep = {"domain": name, "keep": kept_versions(self.mesh, name, list(self.domains))}
        commands = with_packages(
            self.mesh,
            domain,
            staging,
            _operation(self.mesh, domain, staging, "drop_versions", keep),
            _operation(self.mesh, domain, staging, "register_landing_sources", {}),
            build,
        )
        env = _env(self.mesh, domain, schema)
        self.reporter.started(name, models=len(list((domain.path / "models").rglob("*.sql"))))
        outcome = self._run(DbtTask(name, commands, env, cwd=str(staging)))
        if not outcome.success:
            return _failed(
                name,
                started,
                "dbt build failed",
                outcome=outcome,
                log_dir=staging / "logs",
                counts=outcome.counts,
            )
        manifest = json.loads((staging / "target" / "manifest.json").read_text())
        stale = stale_sources(name, manifest, self.reporter, self.mesh.landing_dir(name))
        if stale:
            return _failed(
                name,
                started,
                f"landing data is older than {len(stale)} source(s) allow (error_after), "
                "so it was not published",
                outcome=outcome,
                details=stale,
            )
        failed = self._expectations(domain, staging, env, schema, manifest)
        if failed:
            return _failed(
                name,
                started,
                f"{len(failed)} consumer expectation(s) failed, so it was not published",
                outcome=outcome,
                details=failed,
            )
        relations = public_relations(name, manifest)
        record = PublishRecord(
            domain=name,
            publish_id=new_id(),
            published_at=now(),
            run_id=run_id,
            git_commit=git_commit(self.mesh.root),
            upstreams=reading,
            dbt_results=outcome.counts,
            products=[],
            output_ports={relation: f"{name}.{relation}" for relation in relations},
            fingerprint=print_,
            code_fingerprint=code_print,
            usage=asdict(outcome.usage) if outcome.usage else None,
            landing=landing_read,
            engine=SPARK,
            schema_=schema,
            upstream_schemas=schemas,
        )
        # The manifest first: consumers' builds read the new version from here on. Then the
        # views; should that fail, they still show the previous version, which is kept.
        partial = start_publish(self.mesh, name, record.publish_id)
        for artifact in ("manifest.json", "run_results.json"):
            shutil.copy2(staging / "target" / artifact, partial / artifact)
        finish_publish(self.mesh, partial, record)
        views = {"domain": name, "version": schema, "relations": relations}
        switched = self._run(
            DbtTask(
                name,
                [_operation(self.mesh, domain, staging, "publish_views", views)],
                env,
                cwd=str(staging),
            )
        )
        if not switched.success:
            self._forget_fingerprint(record)
            return _failed(
                name,
                started,
                f"publish {record.publish_id} is current for consumers' builds, but its views "
                f"still show the previous version: {switched.error}. Build it again.",
                outcome=outcome,
            )
        shutil.rmtree(staging, ignore_errors=True)
        return DomainResult(
            name,
            "published",
            time.perf_counter() - started,
            outcome,
            publish_id=record.publish_id,
            counts=outcome.counts,
        )

    def _forget_fingerprint(self, record: PublishRecord) -> None:
        """Make the next build of the domain run again even if nothing changed (its views
        were not switched), by clearing the fingerprint in the publish's record."""
        path = domain_dir(self.mesh, record.domain) / record.publish_id / RECORD
        partial = path.with_name(f".{RECORD}.partial")
        partial.write_text(record.model_copy(update={"fingerprint": None}).to_json())
        partial.replace(path)

    def _expectations(
        self,
        domain: Domain,
        staging: Path,
        env: dict[str, str],
        schema: str,
        manifest: dict[str, Any],
    ) -> list[str]:
        """Run consumers' expectations on the candidate version, on Spark; the failures."""
        consumers = [d for d in self.domains.values() if domain.name in d.upstreams]
        run_results = json.loads((staging / "target" / "run_results.json").read_text())
        pending = expectations.queries(
            expectations.on_products_of(domain.name, consumers),
            lambda e: f"{schema}.{e.relation}",
            expectations.passed_tests(manifest, run_results),
            quoted=lambda column: "`" + column.replace("`", "``") + "`",
            literal=lambda text: "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'",
        )
        if not pending:
            return []
        checks = [
            {"label": q.expectation.label, "sql": q.sql, "counted": q.counted} for q in pending
        ]
        outcome = self._run(
            DbtTask(
                domain.name,
                [_operation(self.mesh, domain, staging, "check_expectations", {"checks": checks})],
                env,
                cwd=str(staging),
            )
        )
        if outcome.success:
            return []
        lines = (outcome.error or "").splitlines()
        found = [line.strip() for line in lines if " expects " in line and " -> " in line]
        return found or [outcome.error or "the expectations could not be run"]

    def _run(self, task: DbtTask) -> DbtOutcome:
        """Run the task on the worker, passing its progress on meanwhile. A worker that died
        fails this task; the next one gets a new worker."""
        try:
            future = self.workers.submit(task)
            while not future.done():
                wait([future], timeout=0.1)
                drain(self.events, self.reporter)
            return future.result()
        except Exception as error:  # the worker died (killed, out of memory...)
            self.workers.close()
            self.workers = self._workers()
            return DbtOutcome(success=False, error=f"the dbt worker process died: {error}")


def build(
    mesh: Mesh,
    targets: list[str],
    reporter: Reporter | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    only: bool = False,
    full: bool = False,
) -> list[DomainResult]:
    """Build `targets` (every domain when empty) and their upstreams on Spark, in order."""
    mesh = mesh.on(SPARK)
    domains, order = plan(mesh, targets, only)
    check_landing(mesh, [domains[name] for name in order])
    require_spark()
    reporter = reporter or Reporter()
    reporter.planned(order)
    run = _SparkBuild(mesh, domains, reporter, lock_timeout, full)
    try:
        for name in order:
            result = run.domain(name)
            run.results[name] = result
            reporter.finished(result)
    finally:
        run.close()
    return [run.results[name] for name in order]


# Statements `mesh query --target spark` runs: queries, and commands that only read.
READING_COMMANDS = {
    "ShowNamespaces",
    "ShowTables",
    "ShowViews",
    "ShowColumns",
    "ShowFunctions",
    "DescribeRelation",
    "DescribeColumn",
    "DescribeNamespace",
    "ExplainCommand",
}


def query(mesh: Mesh, sql: str) -> QueryResult:
    """Run one read-only statement on the mesh's local Spark (its published views are
    `<domain>.<relation>`, e.g. `orders.orders_v2`)."""
    mesh = mesh.on(SPARK)
    require_spark()
    if not (mesh.engine_dir / "metastore_db").exists():
        raise MeshError("Nothing has been published on Spark yet; run `mesh build --target spark`.")
    env = settings(mesh)
    os.environ.setdefault("SPARK_LOCAL_IP", env["SPARK_LOCAL_IP"])
    with _output_to(mesh.engine_dir / "spark.log"):
        spark = _session(env, mesh.engine_dir)
    try:
        _refuse_unless_reading(spark, sql)
        frame = spark.sql(sql)
        rows = [tuple(row) for row in frame.collect()]
        return QueryResult(
            list(frame.columns), [field.dataType.simpleString() for field in frame.schema], rows
        )
    except MeshError:
        raise
    except Exception as error:  # pyspark's AnalysisException, ParseException...
        raise QueryError(f"Query failed: {str(error).strip().splitlines()[0]}") from error
    finally:
        spark.stop()


@contextlib.contextmanager
def _output_to(log: Path) -> Iterator[None]:
    """Send what this process and the programs it starts meanwhile (the JVM, which keeps
    it) print to `log`; restore the terminal after."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log.open("a") as handle:
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def _session(env: dict[str, str], home: Path) -> Any:
    """A local Spark session on the mesh's catalog, configured as the profile's target."""
    from pyspark.sql import SparkSession  # only with `make test-spark`'s install

    return (
        SparkSession.builder.master("local[*]")
        .appName("mesh query")
        .enableHiveSupport()
        .config("spark.sql.warehouse.dir", env["MESH_SPARK_WAREHOUSE"])
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={env['MESH_SPARK_METASTORE']};create=true",
        )
        .config(
            "spark.driver.extraJavaOptions",
            f"-Dderby.system.home={home} -Dderby.stream.error.file={home / 'derby.log'}",
        )
        .config(  # not a folder per session left in the system's temporary folder
            "spark.hadoop.hive.downloaded.resources.dir",
            f"{home / 'hive-resources'}/${{hive.session.id}}",
        )
        .config("spark.log.level", "ERROR")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", env["MESH_SPARK_PARTITIONS"])
        # No `select ... from parquet.\`/any/path\``: a query reads the published views.
        .config("spark.sql.runSQLOnFiles", "false")
        .config("spark.driver.memory", SPARK_MEMORY)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )


def _refuse_unless_reading(spark: Any, sql: str) -> None:
    """Raise QueryRefusedError unless every node of the statement's parsed plan only reads
    (a write can hide under a WITH, or in a multi-insert)."""
    command = spark._jvm.java.lang.Class.forName(
        "org.apache.spark.sql.catalyst.plans.logical.Command"
    )
    pending = [spark._jsparkSession.sessionState().sqlParser().parsePlan(sql.strip().rstrip(";"))]
    while pending:
        node = pending.pop()
        kind = node.getClass().getSimpleName()
        writes = command.isInstance(node) or kind.startswith(("Insert", "Create", "Drop", "Alter"))
        if writes and kind not in READING_COMMANDS:
            article = "an" if kind[:1] in "AEIOU" else "a"
            raise QueryRefusedError(
                f"mesh query is read-only: it refused {article} {kind} statement, which does not "
                "only read. Only queries (SELECT, WITH, ...) and SHOW/DESCRIBE/EXPLAIN run."
            )
        children = node.children()
        pending.extend(children.apply(index) for index in range(children.size()))

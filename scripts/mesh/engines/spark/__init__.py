"""The Spark engine: `mesh build --target spark` and `mesh query --target spark`.

The same domain projects run on Spark through dbt-spark (the profile's `spark` target);
engine differences live in shared_macros (macros/spark/). What the platform does
differently from DuckDB, and why:
- Storage: one Spark catalog for the builds. In session mode (a local Spark inside the dbt
  worker) that is a metastore under `warehouse/spark/`; on a Spark Thrift server
  (MESH_SPARK_THRIFT, `local`), the server's metastore. Each build of a domain writes one
  schema, `<domain>__<run>` (a version), located in the mesh's table folder
  (`warehouse/spark/tables/`): its products and its private models together, as Parquet
  tables.
- Publishing: only after every model and test passed, its sources are fresh and its
  consumers' expectations hold, is a version's manifest published
  (`warehouse/spark/published/<domain>/<publish>`, records as on DuckDB); the record names
  the version schema and the products' relations in it. Consumers' dbt-loom resolves refs
  through that manifest to the version's tables, so a consumer build reads one version of
  each upstream throughout, while a build that fails changes nothing anyone reads.
- Reading: readers do not use the builds' catalog, which holds private models. `mesh query`
  builds its own catalog per query from one mesh snapshot, holding only the products of
  each domain's publish in it (`query`). Versions no kept publish or snapshot reads are
  dropped when the domain next builds.
- One domain at a time: the local metastore (Derby) admits one Spark process, and one
  worker keeps its Spark session (about 15 s to start) from domain to domain. On a Thrift
  server each dbt command opens a session of its own, and the server's metastore serves
  other clients (readers, other builds) meanwhile.
- Every build is a full build of a new version; continuing incremental models from the
  last publish is the DuckDB path's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mesh.discovery.manifest import Manifest
from mesh.discovery.registry import publish_ids, read_record
from mesh.discovery.snapshots import View
from mesh.engines.spark import query
from mesh.engines.spark.local import (
    SPARK,
    THRIFT,
    catalog,
    literal,
    require_spark,
    settings,
    target,
    thrift_server,
)
from mesh.errors import MeshError
from mesh.governance.expectations import Query
from mesh.pipeline.engine import (
    Candidate,
    Engine,
    Job,
    PublishedParts,
    QueryLimits,
    QueryResult,
    Upstream,
)
from mesh.runner.dbt import base_env, dbt_args
from mesh.runner.workers import DbtTask
from mesh.workspace import Mesh


def version_schema(domain: str, run_id: str) -> str:
    """The schema one build of `domain` writes: `<domain>__<run id>` in Spark's spelling."""
    return f"{domain}__{run_id.lower().replace('-', '_')}"


def kept_versions(mesh: Mesh, domain: str) -> list[str]:
    """The version schemas of `domain` still read: those of its kept publishes. Pruning keeps
    every publish a kept mesh snapshot names (`mesh.pipeline.snapshot.prune`), so this holds
    every version `mesh query`, `--at` included, may read."""
    records = [read_record(mesh, domain, publish_id) for publish_id in publish_ids(mesh, domain)]
    return sorted({record.schema_ for record in records if record and record.schema_})


def public_relations(domain: str, manifest: Manifest, omit: tuple[str, ...] = ()) -> list[str]:
    """The relation names of the domain's public models, but those `omit` names (versions
    past their deprecation date): its products, the tables of its version schema that
    readers see."""
    public = manifest.public_models(domain)
    return sorted(node.relation_name for node in public if node.relation_name not in omit)


class OtherCatalogError(MeshError):
    """A Spark build would read a publish whose tables are in another Spark catalog."""


def _require_catalog(job: Job) -> None:
    """Raise OtherCatalogError if the build reads a publish (an upstream's, or its own
    current one, which the publish gate compares with) made on another Spark catalog than
    the one it runs on: its tables are not there. Records from before catalogs were
    recorded are the local session's."""
    here = catalog()
    read = [(f"{name}'s publish", up) for name, up in sorted(job.upstreams.items())]
    if job.current_publish:
        read.append(("its current publish", job.current_publish))
    for what, publish in read:
        there = publish.record.catalog or "session"
        if there != here:
            raise OtherCatalogError(
                f"{job.name} reads {what} {publish.folder.name}, whose tables are in the Spark "
                f"catalog {there}, but this build runs on {here} ({THRIFT} "
                f"{'is unset' if here == 'session' else 'names another server'}), "
                f"which does not hold them. Build on the catalog it was published on (set "
                f"{THRIFT} as it was then), or build the mesh on this one in another clone of "
                f"the repository (a mesh of its own)"
            )


def _operation(job: Job, macro: str, args: dict[str, Any]) -> list[str]:
    """A `dbt run-operation` of one of shared_macros' Spark steps (macros/spark/)."""
    return [
        "run-operation", f"shared_macros.{macro}", "--args", json.dumps(args),
        *dbt_args(job.mesh, job.domain, job.staging),
        # Not the build's target folder: an operation writes its own run results there.
        "--target-path", str(job.staging / "operations"),
    ]  # fmt: skip


class Spark(Engine):
    name = SPARK
    toolchain = ("dbt-spark", "pyspark")  # an upgrade rebuilds every domain
    # Derby, the local metastore, admits one Spark process: one domain at a time, on one
    # worker whose Spark session serves every domain of the build.
    max_jobs = 1
    # Tasks before the worker, and its Spark, are replaced: dbt-loom's limit of about a
    # thousand invocations per process, not the DuckDB path's 20.
    tasks_per_worker = 200
    # Its worker keeps one JVM, with Spark's shared metastore and table folder, across the
    # domains of a build: tasks run in the worker, not in a sandboxed child per domain (a
    # fork does not carry a JVM), so session mode is not isolated and its records say so.
    # On a Thrift server the SQL runs in the server, outside any sandbox of the mesh's.
    isolation = "worker"

    def require(self, mesh: Mesh) -> None:
        require_spark(build=True)

    def unconfined_because(self) -> str:
        server = thrift_server()
        if server:
            return f"its SQL runs in the Spark Thrift server at {server[0]}:{server[1]}"
        return "its Spark session outlives a domain's build"

    def worker_output(self, mesh: Mesh) -> Path:
        log = mesh.engine_dir / "spark.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        return log

    def _schema(self, job: Job) -> str:
        return version_schema(job.name, job.run_id)

    def env(self, job: Job) -> dict[str, str]:
        return {
            **base_env(job.mesh, job.domain, target()),
            "MESH_SPARK_SCHEMA": self._schema(job),
            **settings(job.mesh),
        }

    def before_build(self, job: Job) -> list[list[str]]:
        """Drop the versions nothing reads any more; register the landing exports as tables
        of the new version (the sources' schema is the target's)."""
        _require_catalog(job)
        keep = kept_versions(job.mesh, job.name)
        return [
            _operation(job, "drop_versions", {"domain": job.name, "keep": keep}),
            _operation(job, "register_landing_sources", {}),
        ]

    def freshness_landing(self, job: Job) -> Path:
        return job.mesh.landing_dir(job.name)

    def quote(self, column: str) -> str:
        return "`" + column.replace("`", "``") + "`"

    def literal(self, text: str) -> str:
        return literal(text)

    def matches(self, text: str, pattern: str) -> str:
        return f"{text} rlike {self.literal(pattern)}"

    def relation(self, job: Job, relation: str, of: Upstream | None = None) -> str:
        schema = of.record.schema_ if of else self._schema(job)
        return f"{schema}.{relation}"

    def run_checks(self, job: Job, queries: list[Query]) -> list[str]:
        """Run as Spark SQL by a run-operation on the build's worker (its Spark session)."""
        checks = [{"label": q.label, "sql": q.sql, "counted": q.counted} for q in queries]
        outcome = job.run(self._task(job, "run_checks", {"checks": checks}))
        if outcome.success:
            return []
        lines = (outcome.error or "").splitlines()
        found = [line.strip() for line in lines if " -> " in line]
        return found or [outcome.error or "the publish gate's checks could not be run"]

    def publish(
        self, job: Job, candidate: Candidate, folder: Path, private: Path, published_at: str
    ) -> PublishedParts:
        """The manifest (copied by the pipeline) is the publish for consumers' builds; the
        record names the products' tables in the version schema, which readers register."""
        relations = public_relations(job.name, candidate.manifest, candidate.retired)
        return PublishedParts(
            output_ports={relation: f"{job.name}.{relation}" for relation in relations},
            schema=self._schema(job),
            catalog=catalog(),
        )

    def _task(self, job: Job, macro: str, args: dict[str, Any]) -> DbtTask:
        staging = str(job.staging)
        return DbtTask(
            job.name, [_operation(job, macro, args)], self.env(job), (staging,), staging, "worker"
        )

    def query(self, view: View, sql: str, limits: QueryLimits | None = None) -> QueryResult:
        return query.query(view, sql, limits)


ENGINE = Spark()

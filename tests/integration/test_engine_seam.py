"""Adding an engine means one module: a minimal engine defined here runs through the real
pipeline (plan, lock, unchanged?, landing check, real dbt, gates, publish, clean up)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from mesh.discovery import snapshots
from mesh.discovery.registry import PublishRecord, read_record
from mesh.discovery.snapshots import View
from mesh.governance.expectations import Query
from mesh.pipeline.build import build
from mesh.pipeline.engine import (
    Candidate,
    Engine,
    Job,
    PublishedParts,
    QueryLimits,
    QueryResult,
    Upstream,
)
from mesh.pipeline.report import Status
from mesh.runner.dbt import PRODUCTION, base_env
from mesh.workspace import Mesh

pytestmark = pytest.mark.integration


class ParquetFiles(Engine):
    """Builds on DuckDB in the staging folder, publishes each product as one Parquet file,
    and queries those files: no database is published at all."""

    name = "parquet-files"

    def __init__(self) -> None:
        self.became_current: list[str] = []

    def env(self, job: Job) -> dict[str, str]:
        # dbt-duckdb builds the private models in `<domain>__private` (shared_macros).
        private = [{"path": f"{job.name}__private.duckdb", "alias": f"{job.name}__private"}]
        return {
            **base_env(job.mesh, job.domain, PRODUCTION),
            "MESH_DB_PATH": f"{job.name}.duckdb",
            "MESH_ATTACH": json.dumps(private),
        }

    def relation(self, job: Job, relation: str, of: Upstream | None = None) -> str:
        if of is None:
            return f"{job.name}.main.{relation}"
        return f"read_parquet('{of.folder / relation}.parquet')"

    def run_checks(self, job: Job, queries: list[Query]) -> list[str]:
        with duckdb.connect(str(job.staging / f"{job.name}.duckdb"), read_only=True) as con:
            found = [(q, con.execute(q.sql).fetchone()) for q in queries]
        return [q.failed(row[0]) for q, row in found if row and row[0] is not None]

    def publish(
        self, job: Job, candidate: Candidate, folder: Path, private: Path, published_at: str
    ) -> PublishedParts:
        ports = {}
        with duckdb.connect(str(job.staging / f"{job.name}.duckdb"), read_only=True) as con:
            for node in candidate.products(job.name):
                path = folder / f"{node.relation_name}.parquet"
                con.execute(f"copy (select * from {node.relation}) to '{path}'")
                ports[node.relation_name] = str(path)
        return PublishedParts(output_ports=ports)

    def make_current(self, job: Job, record: PublishRecord) -> str | None:
        self.became_current.append(record.publish_id)
        return None

    def query(self, view: View, sql: str, limits: QueryLimits | None = None) -> QueryResult:
        with duckdb.connect() as con:
            for domain in sorted(view.publishes):
                for port in sorted(view.folder(domain).glob("*.parquet")):
                    con.execute(f"create view {port.stem} as select * from '{port}'")
            relation = con.sql(sql)
            return QueryResult(
                relation.columns, [str(t) for t in relation.types], relation.fetchall()
            )


def test_a_third_engine_runs_through_the_same_pipeline(mesh_copy: Path) -> None:
    mesh, engine = Mesh(mesh_copy), ParquetFiles()
    duckdb_current = mesh.published_dir("customers").resolve()

    results = build(mesh, ["customers"], engine)

    assert [(r.domain, r.status) for r in results] == [("customers", Status.PUBLISHED)]
    on_engine = mesh.on(engine.name)
    record = read_record(on_engine, "customers")
    assert record is not None and record.engine == "parquet-files"
    assert engine.became_current == [r.publish_id for r in results]
    assert sorted(record.output_ports) == ["customers_v1"]
    folder = on_engine.published_dir("customers").resolve()
    assert sorted(p.name for p in folder.iterdir()) == [
        "customers_v1.parquet",
        "manifest.json",
        "publish.json",
        "run_results.json",
    ]
    assert not (on_engine.builds / "customers").exists() or not any(
        (on_engine.builds / "customers").iterdir()
    )  # staging cleaned up
    snapshot = snapshots.current(on_engine)  # the build committed one on the engine
    assert snapshot is not None and snapshot.publishes == {"customers": record.publish_id}
    rows = engine.query(
        snapshots.view(on_engine, ["customers"]), "select count(*) from customers_v1"
    ).rows
    expected = duckdb.connect(str(mesh.published_database("customers")), read_only=True)
    try:
        assert (
            rows == expected.execute("select count(*) from customers.main.customers_v1").fetchall()
        )
    finally:
        expected.close()

    again = build(mesh, ["customers"], engine, only=True)
    assert [r.status for r in again] == [Status.UNCHANGED]
    # The default engine's publishes are another engine's business: untouched.
    assert mesh.published_dir("customers").resolve() == duckdb_current

"""The raw DuckDB reference: the compiled SQL of every model of every domain, executed in
dependency order in one DuckDB process, with nothing else (no dbt, no publish).

It reads each domain's published manifest (which holds the SQL dbt compiled for that
build), creates each model as its materialization says (a view, or a table for tables and
incremental models), into fresh database files attached under the domains' database names
(`<domain>` for the products, `<domain>__private` for the rest, as the build does), with the
same DuckDB threads and memory limit as the mesh build. Run it as a process of its own so
its CPU time and peak memory are its alone:

    python -m benchmarks.reference MESH_ROOT OUTPUT_DIR --threads 2 --memory-limit 2GB

With `--tests`, it runs instead the compiled SQL of every dbt data test of every domain on
the tables a models run left in OUTPUT_DIR, counting failures as dbt does: what a build's
data tests cost in DuckDB alone, to tell them apart from dbt's and the mesh's own overhead.
(Not timed: unit tests, which run on fixtures dbt builds, and the publish gates of the mesh,
consumer expectations and source freshness.) A failing test stops it: the reference's
tables are then not the build's.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import duckdb

from mesh.discovery.domains import discover
from mesh.discovery.graph import build_order
from mesh.engines.duckdb.dbt_plugin import set_pii_key
from mesh.governance import pii_key
from mesh.workspace import Mesh

TABLE_MATERIALIZATIONS = {"table", "incremental"}


def models_in_order(domain: str, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The domain's own models, each after the models it selects from."""
    own = {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["package_name"] == domain
    }
    graph = {uid: [d for d in node["depends_on"]["nodes"] if d in own] for uid, node in own.items()}
    return [own[uid] for uid in TopologicalSorter(graph).static_order()]


def data_tests(domain: str, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The domain's own data tests (unit tests run on fixtures dbt builds: not SQL to time)."""
    return [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and node["package_name"] == domain
    ]


def test_statement(node: dict[str, Any]) -> str:
    """The failure count of a data test, as dbt's `get_test_sql` computes it (a `where`
    config is in the compiled code already)."""
    config = node["config"]
    if config.get("store_failures"):
        raise SystemExit(f"{node['unique_id']} stores its failures: not timed as dbt runs it")
    limit = f"\nlimit {config['limit']}" if config.get("limit") is not None else ""
    fail_calc = config.get("fail_calc") or "count(*)"
    return (
        f"select {fail_calc} as failures from ({node['compiled_code']}{limit}) as dbt_internal_test"
    )


def statement(node: dict[str, Any]) -> str | None:
    materialized = node["config"]["materialized"]
    if materialized == "ephemeral":
        return None  # inlined by dbt into the SQL of the models that use it
    kind = "table" if materialized in TABLE_MATERIALIZATIONS else "view"
    return f"create or replace {kind} {node['relation_name']} as {node['compiled_code']}"


def build_models(con: duckdb.DuckDBPyConnection, domain: str, manifest: dict[str, Any]) -> None:
    for node in models_in_order(domain, manifest):
        sql = statement(node)
        if sql:
            con.execute(sql)
    con.execute(f"checkpoint {domain}")


def run_tests(con: duckdb.DuckDBPyConnection, domain: str, manifest: dict[str, Any]) -> None:
    for node in data_tests(domain, manifest):
        found = con.execute(test_statement(node)).fetchone()
        failures = found[0] if found else 0
        if failures and node["config"].get("severity", "ERROR").upper() == "ERROR":
            raise SystemExit(f"{node['unique_id']} failed on the reference's tables ({failures})")


def run(
    mesh: Mesh, output: Path, threads: int, memory_limit: str, tests: bool = False
) -> dict[str, Any]:
    """Build every domain's models into fresh files in `output`, or with `tests`, run every
    domain's data tests on the files a models run left there."""
    order = build_order(discover(mesh))
    if not tests:
        shutil.rmtree(output, ignore_errors=True)
        output.mkdir(parents=True)
    manifests = {
        name: json.loads((mesh.published / name / "current" / "manifest.json").read_text())
        for name in order
    }
    step = run_tests if tests else build_models
    attach_mode = " (read_only)" if tests else ""
    started, cpu_started = time.perf_counter(), time.process_time()
    con = duckdb.connect(config={"threads": threads, "memory_limit": memory_limit})
    # The mesh's key, as the builds of the domains that own PII get it (shared_macros.hash_pii)
    set_pii_key(con, pii_key.load(mesh).secret.hex())
    seconds: dict[str, float] = {}
    try:
        for name in order:  # each domain's products file and its private database
            for database in (name, f"{name}__private"):
                con.execute(f"attach '{output / database}.duckdb' as {database}{attach_mode}")
        for name in order:
            domain_started = time.perf_counter()
            step(con, name, manifests[name])
            seconds[name] = time.perf_counter() - domain_started
    finally:
        con.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu_started,
        "peak_rss_bytes": usage.ru_maxrss * 1024,
        "domain_seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mesh", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--memory-limit", required=True)
    parser.add_argument(
        "--tests", action="store_true", help="run the data tests on a models run's output"
    )
    args = parser.parse_args()
    result = run(
        Mesh(args.mesh.resolve()), args.output, args.threads, args.memory_limit, args.tests
    )
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()

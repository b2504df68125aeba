"""The raw DuckDB reference: the compiled SQL of every model of every domain, executed in
dependency order in one DuckDB process, with nothing else (no dbt, no tests, no publish).

It reads each domain's published manifest (which holds the SQL dbt compiled for that
build), creates each model as its materialization says (a view, or a table for tables and
incremental models), into fresh database files attached under the domains' names, with the
same DuckDB threads and memory limit as the mesh build. Run it as a process of its own so
its CPU time and peak memory are its alone:

    python -m benchmarks.reference MESH_ROOT OUTPUT_DIR --threads 2 --memory-limit 2GB

With `--tests`, it runs instead the compiled SQL of every data test of every domain against
the tables a models run left in OUTPUT_DIR, as dbt counts failures: what the checking a
build does costs in DuckDB alone, to tell it apart from dbt's and the mesh's own overhead.
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

from mesh.domains import discover
from mesh.graph import build_order
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
    """The failure count of a data test, as dbt's `get_test_sql` computes it."""
    fail_calc = node["config"].get("fail_calc") or "count(*)"
    return f"select {fail_calc} as failures from ({node['compiled_code']}) as dbt_internal_test"


def statement(node: dict[str, Any]) -> str | None:
    materialized = node["config"]["materialized"]
    if materialized == "ephemeral":
        return None  # inlined by dbt into the SQL of the models that use it
    kind = "table" if materialized in TABLE_MATERIALIZATIONS else "view"
    return f"create or replace {kind} {node['relation_name']} as {node['compiled_code']}"


def run(
    mesh: Mesh, output: Path, threads: int, memory_limit: str, tests: bool = False
) -> dict[str, Any]:
    domains = discover(mesh)
    order = build_order(domains)
    if not tests:
        shutil.rmtree(output, ignore_errors=True)
        output.mkdir(parents=True)
    manifests = {
        name: json.loads((mesh.published / name / "current" / "manifest.json").read_text())
        for name in order
    }
    started, cpu_started = time.perf_counter(), time.process_time()
    con = duckdb.connect(config={"threads": threads, "memory_limit": memory_limit})
    seconds: dict[str, float] = {}
    try:
        for name in order:
            mode = " (read_only)" if tests else ""
            con.execute(f"attach '{output / name}.duckdb' as {name}{mode}")
        for name in order:
            domain_started = time.perf_counter()
            if tests:
                for node in data_tests(name, manifests[name]):
                    con.execute(test_statement(node)).fetchall()
            else:
                for node in models_in_order(name, manifests[name]):
                    sql = statement(node)
                    if sql:
                        con.execute(sql)
                con.execute(f"checkpoint {name}")
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

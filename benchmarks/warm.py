"""What a full build costs once dbt is warm in its workers: the floor a long-lived worker
process (kept between builds) could reach, measured rather than guessed.

`mesh build` starts its dbt workers with each build: every worker imports dbt and pays its
first invocation (JSON schemas, serialisers, the adapter) before its first domain. Here one
pool of workers serves several `build --full` runs in this process: the first warms them
and is not counted; the next `--runs` are. Nothing else differs from `mesh build --full`
(same scheduler, same gates, same publish), except the command-line start of `mesh` itself,
which a client of long-lived workers would still pay.

    python -m benchmarks.warm MESH_ROOT [--runs 3] [--jobs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from mesh.discovery.domains import discover
from mesh.engines.duckdb import DuckDB
from mesh.pipeline.build import build, default_jobs
from mesh.runner.workers import DbtWorkers, event_queue
from mesh.workspace import Mesh


def measure(mesh: Mesh, runs: int, jobs: int) -> list[float]:
    """Seconds of each counted `build --full` of every domain on one warm pool."""
    events = event_queue()
    seconds = []
    # No worker is replaced between runs (a new one would start cold): at most one task per
    # domain and run, each a dbt invocation or two, far below what dbt-loom allows a process.
    tasks = (runs + 1) * len(discover(mesh))
    engine = DuckDB()
    with DbtWorkers(
        workers=jobs, events=events, tasks_per_worker=tasks,
        preload=engine.worker_modules, warm=True,
    ) as workers:  # fmt: skip
        for run in range(runs + 1):
            started = time.perf_counter()
            results = build(mesh, [], engine, full=True, workers=workers)  # reports nothing
            elapsed = time.perf_counter() - started
            failed = [r.domain for r in results if not r.ok]
            if failed:
                raise SystemExit(f"the build failed for {', '.join(failed)}")
            if run:  # the first run warms the workers
                seconds.append(elapsed)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mesh", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()
    seconds = measure(Mesh(args.mesh.resolve()), args.runs, args.jobs or default_jobs())
    json.dump({"seconds": seconds, "median": statistics.median(seconds)}, sys.stdout)


if __name__ == "__main__":
    main()

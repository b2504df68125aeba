"""Run dbt in-process, in worker processes.

dbt runs through `dbtRunner` inside a worker process rather than one CLI start per command:
the import cost is paid once per worker. Two things decide the shape (measured, see the
README's notes): dbt invocations must not run concurrently in one process, and dbt-loom
re-wraps dbt functions on every invocation, so a worker is replaced after a number of tasks.
Each task sets the whole environment it needs, because `env_var()` in profiles and sources
and dbt-loom's configuration are read from the process environment.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

# A worker runs this many dbt invocations, then is replaced (dbt-loom fails after ~1000).
TASKS_PER_WORKER = 50

# Statuses in run_results.json that mean a node did not pass.
FAILED_STATUSES = {"error", "fail", "runtime error"}


@dataclass(frozen=True)
class NodeFailure:
    """A node that did not pass: what it is, where it is defined, and dbt's message."""

    unique_id: str
    resource_type: str
    status: str
    message: str
    path: str = ""

    @property
    def name(self) -> str:
        return self.unique_id.split(".", 2)[-1] if self.unique_id else "?"


@dataclass
class DbtOutcome:
    """What one dbt invocation did, in plain data that crosses process boundaries."""

    success: bool
    error: str | None = None
    failures: list[NodeFailure] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    warnings: int = 0


def _summarise(result: Any) -> tuple[list[NodeFailure], dict[str, int], int]:
    failures: list[NodeFailure] = []
    counts: dict[str, int] = {}
    warnings = 0
    for node_result in getattr(result, "results", None) or []:
        node = node_result.node
        status = str(node_result.status)
        resource_type = str(node.resource_type)
        counts[resource_type] = counts.get(resource_type, 0) + 1
        if status == "warn":
            warnings += 1
        if status in FAILED_STATUSES:
            failures.append(
                NodeFailure(
                    unique_id=node.unique_id,
                    resource_type=resource_type,
                    status=status,
                    message=(node_result.message or "").strip(),
                    path=getattr(node, "original_file_path", "") or "",
                )
            )
    return failures, counts, warnings


def invoke(args: list[str], env: dict[str, str]) -> DbtOutcome:
    """Run one dbt command in this process. Called inside a worker process."""
    os.environ.update(env)
    from dbt.cli.main import dbtRunner

    try:
        outcome = dbtRunner().invoke(args)
    except Exception as raised:  # dbt raised instead of reporting: still one outcome
        return DbtOutcome(success=False, error=f"{type(raised).__name__}: {raised}")
    failures, counts, warnings = _summarise(outcome.result)
    message = None
    if outcome.exception is not None:
        message = str(outcome.exception).strip()
    elif not outcome.success and not failures:
        message = "dbt reported failure without a failing node; see the build log."
    return DbtOutcome(
        success=bool(outcome.success),
        error=message,
        failures=failures,
        counts=counts,
        warnings=warnings,
    )


class DbtWorkers:
    """A pool of worker processes running dbt, recycled after TASKS_PER_WORKER invocations."""

    def __init__(self, workers: int = 1) -> None:
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            max_tasks_per_child=TASKS_PER_WORKER,
        )

    def run(self, args: list[str], env: dict[str, str]) -> DbtOutcome:
        return self._pool.submit(invoke, args, env).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> DbtWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

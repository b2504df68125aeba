"""The publish gates: what stops a domain whose dbt build passed from being published.

Evaluated on the candidate (the build's artifacts and products, not yet published), in order:
1. source freshness: landing data past a source's `error_after` (warn_after only warns);
2. consumers' expectations (`domains/<consumer>/expectations.yml`) of this domain's products,
   except those the domain's own passing data tests already checked.
The same for every engine: the engine only runs the SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from mesh.data import freshness
from mesh.discovery.domains import Domain
from mesh.errors import MeshError
from mesh.governance import expectations
from mesh.pipeline.engine import Candidate, Engine, Job


@dataclass(frozen=True)
class Blocked:
    """Why a candidate is not published, and the findings."""

    reason: str
    details: list[str]


def evaluate(
    engine: Engine, job: Job, candidate: Candidate, consumers: list[Domain]
) -> Blocked | None:
    stale = stale_sources(engine, job, candidate)
    if stale:
        return Blocked(
            f"landing data is older than {len(stale)} source(s) allow (error_after), "
            "so it was not published",
            stale,
        )
    failures = consumer_expectations(engine, job, candidate, consumers)
    if failures:
        return Blocked(
            f"{len(failures)} consumer expectation(s) failed, so it was not published", failures
        )
    return None


def stale_sources(engine: Engine, job: Job, candidate: Candidate) -> list[str]:
    """Warn of the domain's sources past their warn_after; return those past error_after."""
    try:
        found = freshness.check(
            job.name, candidate.manifest, landing_dir=engine.freshness_landing(job)
        )
    except (OSError, ValueError, duckdb.Error) as error:
        return [f"source freshness could not be read: {error}"]
    for stale in found:
        if stale.level == "warn":
            job.notice(f"{job.name}: warning: {stale.describe()}")
    return [stale.describe() for stale in found if stale.level == "error"]


def consumer_expectations(
    engine: Engine, job: Job, candidate: Candidate, consumers: list[Domain]
) -> list[str]:
    """Run every consumer's expectations of this domain's products on the candidate."""
    try:
        pending = expectations.queries(
            expectations.on_products_of(job.name, consumers),
            lambda e: engine.relation(job, e.relation),
            expectations.passed_tests(candidate.manifest, candidate.run_results),
            quoted=engine.quote,
            literal=engine.literal,
        )
    except MeshError as error:
        return [str(error)]
    return engine.run_expectations(job, pending) if pending else []

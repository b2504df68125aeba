"""Build domains in dependency order and publish each one that passes.

A build of a domain runs in its own staging folder, `build/<domain>/<run-id>/`, against a new
DuckDB file of the same name as the published one (so dbt's database name is the same). Its
upstream domains' published files are attached read-only and dbt-loom reads their published
manifests. Only a build whose models and tests all pass is published; a domain whose
upstream failed is skipped.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mesh import graph
from mesh.dbt_runner import DbtOutcome, DbtWorkers
from mesh.domains import Domain, discover, select
from mesh.errors import MissingLandingDataError, MissingPublishError
from mesh.publish import new_id, publish
from mesh.workspace import Mesh


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

    @property
    def ok(self) -> bool:
        return self.status == "published"


Reporter = Callable[[str, DomainResult | None], None]
"""Called with (domain, None) when a domain starts and (domain, result) when it ends."""


def plan(mesh: Mesh, targets: list[str]) -> tuple[dict[str, Domain], list[str]]:
    """The domains to build for `targets` (all when empty), upstreams first."""
    domains = discover(mesh)
    if targets:
        select(domains, targets)
        return domains, graph.build_order(domains, graph.with_upstreams(domains, targets))
    return domains, graph.build_order(domains)


def check_landing(mesh: Mesh, domains: list[Domain]) -> None:
    missing = [
        path for domain in domains for path in domain.landing_files(mesh) if not path.exists()
    ]
    if missing:
        shown = ", ".join(str(p.relative_to(mesh.root)) for p in missing[:6])
        more = f" and {len(missing) - 6} more" if len(missing) > 6 else ""
        raise MissingLandingDataError(
            f"Landing data is missing: {shown}{more}. Run `mesh generate` to create it."
        )


def dbt_env(
    mesh: Mesh, domain: Domain, staging: Path, upstreams: dict[str, Path]
) -> dict[str, str]:
    """The environment profiles.yml, the sources and dbt-loom read for one domain build."""
    attach = [
        {"path": str(database), "alias": name, "read_only": True}
        for name, database in sorted(upstreams.items())
    ]
    return {
        "MESH_DB_PATH": str(staging / f"{domain.name}.duckdb"),
        "MESH_LANDING_DIR": str(mesh.landing_dir(domain.name)),
        "MESH_PUBLISHED_DIR": str(mesh.published),
        "MESH_ATTACH": json.dumps(attach),
        "MESH_TARGET": "dev",
        "DBT_LOOM_CONFIG": str(domain.loom_config),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def _resolve_upstreams(mesh: Mesh, domain: Domain) -> dict[str, Path]:
    """Each upstream's published database, resolved to one publish folder for the whole build."""
    resolved = {}
    for name in domain.upstreams:
        database = mesh.published_database(name)
        if not database.exists() or not mesh.published_manifest(name).exists():
            raise MissingPublishError(
                f"{domain.name} consumes {name}, which has no published version; "
                f"run `mesh build {name}` first."
            )
        resolved[name] = database.resolve()
    return resolved


def _packages_ready(mesh: Mesh, domain: Domain) -> bool:
    installed = domain.path / "dbt_packages" / "shared_macros"
    return installed.exists() and installed.resolve() == (mesh.root / "shared_macros").resolve()


def build_domain(mesh: Mesh, domain: Domain, workers: DbtWorkers) -> DomainResult:
    started = time.perf_counter()
    run_id = new_id()
    staging = mesh.builds / domain.name / run_id
    staging.mkdir(parents=True)
    common = [
        "--project-dir",
        str(domain.path),
        "--profiles-dir",
        str(mesh.root),
        "--log-path",
        str(staging / "logs"),
        "--log-level",
        "none",
        "--log-level-file",
        "info",
        "--no-use-colors",
    ]
    try:
        upstreams = _resolve_upstreams(mesh, domain)
    except MissingPublishError as error:
        return DomainResult(domain.name, "failed", reason=str(error))
    env = dbt_env(mesh, domain, staging, upstreams)

    if not _packages_ready(mesh, domain):
        outcome = workers.run(["deps", *common], env)
        if not outcome.success:
            return DomainResult(
                domain.name,
                "failed",
                time.perf_counter() - started,
                outcome,
                "dbt deps failed",
                log_dir=staging / "logs",
            )

    outcome = workers.run(["build", *common, "--target-path", str(staging / "target")], env)
    if not outcome.success:
        return DomainResult(
            domain.name,
            "failed",
            time.perf_counter() - started,
            outcome,
            "dbt build failed",
            log_dir=staging / "logs",
            counts=outcome.counts,
        )

    record = publish(
        mesh,
        domain.name,
        staging,
        run_id,
        upstreams={name: path.parent.name for name, path in upstreams.items()},
        dbt_results=outcome.counts,
    )
    shutil.rmtree(staging, ignore_errors=True)
    return DomainResult(
        domain.name,
        "published",
        time.perf_counter() - started,
        outcome,
        publish_id=record.publish_id,
        counts=outcome.counts,
    )


def build(mesh: Mesh, targets: list[str], report: Reporter | None = None) -> list[DomainResult]:
    """Build `targets` (every domain when empty) and what they consume, in dependency order."""
    domains, order = plan(mesh, targets)
    check_landing(mesh, [domains[name] for name in order])
    results: dict[str, DomainResult] = {}
    with DbtWorkers(workers=1) as workers:
        for name in order:
            domain = domains[name]
            blocked = [u for u in domain.upstreams if u in results and not results[u].ok]
            if blocked:
                result = DomainResult(
                    name, "skipped", reason=f"upstream {', '.join(blocked)} did not publish"
                )
            else:
                if report:
                    report(name, None)
                result = build_domain(mesh, domain, workers)
            results[name] = result
            if report:
                report(name, result)
    return [results[name] for name in order]

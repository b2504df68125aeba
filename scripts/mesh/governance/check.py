"""`mesh check`: federated computational governance, run before anything is published.

For each domain checked, its working tree is parsed by dbt (no database is opened), then:
- the mesh-wide policies (`policies.py`, `rules/`) are evaluated on its manifest, and its
  waivers of them listed;
- its contracts are compared with its last published state, by dbt's own state comparison
  (`state:modified`, unversioned breaking changes as errors) and by `contracts.py`, which
  names every change; each breaking change is traced to the consumer models it would break;
- every consumer still reading a deprecated product version is listed with the days left
  (the producer's date from its working tree when it is checked);
- consumers' expectations of its products that its current publish has not met yet (new or
  changed ones) are run on that publish.
The publish gate (`mesh.pipeline.gates`) enforces the same rules, printing the same lines.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mesh import ids
from mesh.discovery import graph
from mesh.discovery.domains import Domain, discover, require_projects, select, standing_in
from mesh.discovery.manifest import Manifest, load
from mesh.discovery.manifest import published as published_manifests
from mesh.discovery.registry import read_record
from mesh.errors import MeshError
from mesh.governance import Progress, expectations, quiet
from mesh.governance.contracts import (
    ChangeReport,
    DeprecatedUse,
    deprecated_uses,
    describe_report,
    reports,
)
from mesh.governance.policies import DomainState, Violation, Waiver, describe, evaluate, waivers
from mesh.ids import new_id
from mesh.runner import sandbox
from mesh.runner.dbt import LINT, base_env, dbt_args, loom_env, with_packages
from mesh.runner.workers import DbtOutcome, DbtTask, DbtWorkers, Isolation, worth_warming
from mesh.workspace import Mesh


@dataclass
class DomainCheck:
    domain: str
    parse_error: str | None = None
    violations: list[Violation] = field(default_factory=list)
    waivers: list[Waiver] = field(default_factory=list)
    changes: list[ChangeReport] = field(default_factory=list)
    dbt_state_error: str | None = None
    compared_with: str | None = None  # publish id of the published state compared with
    expectations: list[str] = field(default_factory=list)  # consumers' that its publish fails

    @property
    def failed(self) -> bool:
        return bool(
            self.parse_error
            or self.violations
            or self.changes
            or self.dbt_state_error
            or self.expectations
        )


@dataclass
class CheckReport:
    domains: list[DomainCheck]
    deprecations: list[DeprecatedUse]

    @property
    def failed(self) -> bool:
        return any(d.failed for d in self.domains) or any(
            use.days_left < 0 for use in self.deprecations
        )


def _state_check_args(mesh: Mesh, domain: Domain, staging: Path) -> list[str]:
    return [
        "ls", *dbt_args(mesh, domain, staging), "--target-path", str(staging / "target"),
        "--resource-type", "model", "--select", "state:modified",
        "--state", str(mesh.published_dir(domain.name).resolve()),
        "--warn-error-options", json.dumps({"error": ["UnversionedBreakingChange"]}),
    ]  # fmt: skip


@dataclass(frozen=True)
class _Parsed:
    """A domain's working tree as dbt parsed it, and dbt's comparison with its published state."""

    manifest: Manifest | None = None
    parse_error: str | None = None
    state_error: str | None = None


def _parse(
    mesh: Mesh, domains: dict[str, Domain], names: list[str], progress: Progress
) -> dict[str, _Parsed]:
    """Parse each domain's working tree in worker processes, with dbt's state comparison."""
    runs: dict[str, tuple[Future[list[DbtOutcome]], Path, bool]] = {}
    results: dict[str, _Parsed] = {}
    isolation: Isolation = "sandbox" if sandbox.enabled() else "fork"
    with DbtWorkers(workers=max(1, min(len(names), 2)), warm=worth_warming(len(names))) as workers:
        for name in names:
            domain = domains[name]
            unpublished = [u for u in domain.upstreams if not mesh.published_manifest(u).exists()]
            if unpublished:
                results[name] = _Parsed(
                    parse_error=f"{name} consumes {', '.join(unpublished)}, which has no "
                    f"published version; run `mesh build {' '.join(unpublished)}` first."
                )
                progress(name, "not parsed: upstream unpublished", True)
                continue
            staging = mesh.warehouse / "check" / name / new_id()
            staging.mkdir(parents=True)
            published = mesh.published_manifest(name).exists()
            target_path = str(staging / "target")
            parse = ["parse", *dbt_args(mesh, domain, staging), "--target-path", target_path]
            commands = [parse, _state_check_args(mesh, domain, staging)] if published else [parse]
            manifests = {u: mesh.published_manifest(u) for u in domain.upstreams}
            env = {**base_env(mesh, domain, target=LINT), **loom_env(staging, manifests)}
            commands = with_packages(mesh, domain, staging, *commands)
            # Parsing writes only the check's own folder; it runs in the build sandbox.
            task = DbtTask(name, commands, env, (str(staging),), str(staging), isolation)
            runs[name] = (workers.submit_each(task), staging, published)
        for name in _as_parsed(runs, progress):
            future, staging, published = runs[name]
            outcomes = future.result()
            manifest_path = staging / "target" / "manifest.json"
            parsed, compared = outcomes[-2] if published else outcomes[-1], outcomes[-1]
            results[name] = _Parsed(
                load(manifest_path) if parsed.success and manifest_path.exists() else None,
                None if parsed.success else (parsed.error or "dbt parse failed"),
                (compared.error or "dbt reported a breaking change")
                if published and not compared.success
                else None,
            )
            shutil.rmtree(staging, ignore_errors=True)
            progress(name, "parsed" if parsed.success else "dbt parse failed", True)
    return results


def _as_parsed(
    runs: dict[str, tuple[Future[list[DbtOutcome]], Path, bool]], progress: Progress
) -> Iterator[str]:
    """The domains in the order their parses end, telling `progress` when each starts."""
    waiting = {future: name for name, (future, _, _) in runs.items()}
    seen: set[str] = set()
    while waiting:
        done, _ = wait(waiting, timeout=0.2, return_when=FIRST_COMPLETED)
        for future, name in waiting.items():
            if name not in seen and (future.running() or future in done):
                seen.add(name)
                progress(name, "parsing", False)
        for future in done:
            yield waiting.pop(future)


def run(
    mesh: Mesh, targets: list[str], today: dt.date | None = None, progress: Progress = quiet
) -> CheckReport:
    domains, today = discover(mesh), today or ids.today()
    targets = targets or [name for name in [standing_in(mesh, domains)] if name]
    require_projects(mesh, select(domains, targets), "check")
    names = targets or [n for n in graph.build_order(domains) if not domains[n].published_only]
    for name in names:
        progress(name, "queued", False)
    parsed = _parse(mesh, domains, names, progress)
    # What consumers run now: their published, compiled manifests.
    published = published_manifests(mesh, domains)
    checks = []
    for name in names:
        result = DomainCheck(name, parse_error=parsed[name].parse_error)
        manifest = parsed[name].manifest
        if manifest is not None:
            state = DomainState(name, domains[name].path, manifest)
            result.violations = evaluate([state], today=today)
            result.waivers = waivers(state, today)
            if name in published:
                result.compared_with = mesh.published_dir(name).resolve().name
                result.changes = reports(name, published[name], manifest, published, today)
                state_error = parsed[name].state_error
                if state_error and not result.changes:
                    result.dbt_state_error = state_error
        if name in published:
            consumers = [d for d in domains.values() if name in d.upstreams]
            result.expectations = unmet_expectations(mesh, name, consumers)
        checks.append(result)
    # Deprecations: the working tree of the checked domains, the published state of the rest.
    working = {n: p.manifest for n, p in parsed.items() if p.manifest is not None}
    uses = deprecated_uses({**published, **working}, {**published, **working}, today)
    if targets:  # the checked domains as consumers, and the consumers of their products
        uses = [
            use for use in uses if use.consumer in targets or use.product.split(".")[0] in targets
        ]
    return CheckReport(checks, uses)


def unmet_expectations(mesh: Mesh, producer: str, consumers: list[Domain]) -> list[str]:
    """Consumers' expectations of `producer`'s products that its current publish has not met
    (new or changed since it was published), run on that publish: one line per failure."""
    record = read_record(mesh, producer)
    if record is None:
        return []
    try:
        pending = [
            e
            for e in expectations.on_products_of(producer, consumers)
            if e.key not in record.expectations_met and e.relation not in record.retired
        ]
    except MeshError as error:
        return [str(error)]
    queries = expectations.queries(pending, lambda e: f'"{producer}".main."{e.relation}"')
    return expectations.verify({producer: mesh.published_database(producer)}, queries)


def as_dict(report: CheckReport) -> dict[str, Any]:
    """The report for machines (`mesh check --format json`)."""
    return {
        "passed": not report.failed,
        "domains": [
            {
                "domain": check.domain,
                "passed": not check.failed,
                "parse_error": check.parse_error,
                "compared_with": check.compared_with,
                "violations": [asdict(v) for v in check.violations],
                "waivers": [asdict(w) for w in check.waivers],
                "breaking_changes": [
                    {
                        **asdict(change.change),
                        "product": change.change.product,
                        "consumers": [asdict(impact) for impact in change.impacts],
                    }
                    for change in check.changes
                ],
                "dbt_state_error": check.dbt_state_error,
                "failed_expectations": check.expectations,
            }
            for check in report.domains
        ],
        "deprecated_uses": [asdict(use) for use in report.deprecations],
    }


def as_lines(report: CheckReport) -> list[str]:
    """The report for people: grouped by domain, each finding with its file and rule."""
    lines: list[str] = []
    for check in report.domains:
        verdict = "FAILED" if check.failed else "passed"
        against = f" (compared with publish {check.compared_with})" if check.compared_with else ""
        lines.append(f"{check.domain}: {verdict}{against}")
        if check.parse_error:
            lines.append("  dbt could not parse the project:")
            lines.extend(f"    {line}" for line in check.parse_error.splitlines())
        lines += [f"  {describe(v)}" for v in check.violations]
        lines += ["  Waivers:"] if check.waivers else []
        for w in check.waivers:
            until = f"until {w.expires or '(no date)'}{'' if w.active else ', not in force'}"
            lines.append(f"    {w.model}: {w.rule} ({until}): {w.reason or '(no reason)'}")
        for change in check.changes:
            lines += [f"  {line}" for line in describe_report(change)]
        lines += [f"  [expectation] {line}" for line in check.expectations]
        if check.dbt_state_error:
            lines.append("  dbt's state comparison reports a breaking change:")
            lines.extend(f"    {line}" for line in check.dbt_state_error.splitlines())
    if report.deprecations:
        lines.append("Consumers on deprecated product versions:")
        for use in report.deprecations:
            when = f"{abs(use.days_left)} days {'left' if use.days_left >= 0 else 'past'}"
            lines.append(
                f"  {use.consumer}.{use.model} reads {use.product} v{use.version}, "
                f"deprecated {use.deprecation_date} ({when})"
            )
    lines.append("All checks passed." if not report.failed else "Checks failed.")
    return lines

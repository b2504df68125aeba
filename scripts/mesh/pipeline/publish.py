"""Publishing: a built and tested domain's products become a new version, in one step.

    published/<domain>/<publish-id>/   <domain>.duckdb (its products only), manifest.json,
                                       run_results.json, publish.json (the record),
                                       products/<product>/v<N>/ (Parquet, contract)
    published/<domain>/current         symlink to the domain's newest accepted publish
    private/<domain>/<publish-id>/     what only the domain's own next builds read (on
                                       DuckDB: the build's whole database)

What a publish holds besides dbt's artifacts and the record is the engine's (above: DuckDB's).
The files are gathered in hidden folders, the folders are renamed into place, and `current`
is re-pointed by renaming a new symlink over it (atomic on POSIX). Readers do not follow
`current`: they see a publish once the mesh snapshot committed after the build includes it
(`mesh.pipeline.snapshot`). A crash at any moment leaves every earlier version intact;
`cleanup` removes what it left behind. Old publish folders, with their private stores, are the
history that `rollback` returns to.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path

from mesh import ids
from mesh.discovery.registry import (
    HISTORY,
    RECORD,
    HistoryEvent,
    PublishRecord,
    RecordedWaiver,
    current_publish_id,
    domain_dir,
    publish_ids,
    read_record,
    rolled_back,
)
from mesh.discovery.snapshots import Snapshot
from mesh.errors import MeshError, RollbackError
from mesh.governance import policies
from mesh.ids import new_id, now
from mesh.pipeline import snapshot
from mesh.pipeline.engine import Candidate, Engine, Job
from mesh.pipeline.gates import Verdict
from mesh.workspace import Mesh

ARTIFACTS = ("manifest.json", "run_results.json")  # dbt's, published with every publish


def git_commit(root: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def _append_history(mesh: Mesh, domain: str, event: HistoryEvent) -> None:
    with (domain_dir(mesh, domain) / HISTORY).open("a") as handle:
        handle.write(event.to_json() + "\n")


def _point_current(folder: Path, publish_id: str) -> None:
    """Make `current` point at `publish_id` with one rename."""
    new_link = folder / f".current-{publish_id}-{os.urandom(3).hex()}"
    new_link.symlink_to(publish_id)
    new_link.replace(folder / "current")


def publish(
    engine: Engine, job: Job, candidate: Candidate, verdict: Verdict | None = None
) -> PublishRecord:
    """Gather the candidate into a new publish folder (the engine's products, dbt's manifest
    and run results, the record with what the gate's `verdict` noted) and make it current."""
    verdict = verdict or Verdict()
    manifest, run_results = (job.staging / "target" / f for f in ARTIFACTS)
    if not manifest.exists():
        raise MeshError(f"Cannot publish {job.name}: the build left no {manifest}.")
    publish_id = new_id()
    folder = start_publish(job.mesh, job.name, publish_id)
    private = _partial(job.mesh.private / job.name, publish_id)
    published_at = now()
    try:
        for artifact in (manifest, run_results):  # first: the engine may move its files
            if artifact.exists():
                shutil.copy2(artifact, folder / artifact.name)
        parts = engine.publish(job, candidate, folder, private, published_at)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(private, ignore_errors=True)
        raise
    outcome = candidate.outcome
    record = PublishRecord(
        domain=job.name,
        publish_id=publish_id,
        published_at=published_at,
        run_id=job.run_id,
        git_commit=git_commit(job.mesh.root),
        upstreams=job.upstream_ids,
        dbt_results=outcome.counts,
        products=parts.products,
        output_ports=parts.output_ports,
        fingerprint=job.fingerprint,
        code_fingerprint=job.code_fingerprint,
        incremental_models=candidate.manifest.incremental_models(job.name),
        usage=asdict(outcome.usage) if outcome.usage else None,
        sandboxed=outcome.sandboxed,
        landing=job.landing,
        engine=engine.name,
        waivers=[
            RecordedWaiver(
                model=w.model, rule=w.rule, reason=w.reason, expires=w.expires, active=w.active
            )
            for w in policies.waivers(
                policies.DomainState(job.name, job.domain.path, candidate.manifest), ids.today()
            )
        ],
        schema_=parts.schema,
        warnings=verdict.warnings,
        overrides=verdict.overrides,
        retired=list(candidate.retired),
        expectations_met=verdict.expectations_met,
        upstream_expectations_met=verdict.upstream_expectations_met,
        deprecation_dates={
            node.relation_name: str(node.deprecation_date)[:10]
            for node in candidate.products(job.name)
            if node.deprecation_date
        },
    )
    finish_publish(job.mesh, folder, record)
    return record


def forget_fingerprint(mesh: Mesh, record: PublishRecord) -> None:
    """Make the next build of the domain run even if nothing changed, by clearing the
    fingerprint in the publish's record (replaced in one rename)."""
    path = domain_dir(mesh, record.domain) / record.publish_id / RECORD
    partial = path.with_name(f".{RECORD}.partial")
    partial.write_text(record.model_copy(update={"fingerprint": None}).to_json())
    partial.replace(path)


def _partial(folder: Path, publish_id: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{publish_id}.partial"
    partial.mkdir()
    return partial


def start_publish(mesh: Mesh, domain: str, publish_id: str) -> Path:
    """A new, hidden folder to gather a publish in (no reader looks at it)."""
    return _partial(domain_dir(mesh, domain), publish_id)


def finish_publish(mesh: Mesh, partial: Path, record: PublishRecord) -> None:
    """Write the record into the gathered folder, rename it (and its private store) into
    place and make it the domain's current publish, then note it in the history."""
    (partial / RECORD).write_text(record.to_json())
    private = mesh.private / record.domain / partial.name
    if private.is_dir():
        private.replace(private.parent / record.publish_id)
    folder = partial.parent
    partial.replace(folder / record.publish_id)
    _point_current(folder, record.publish_id)
    _append_history(
        mesh,
        record.domain,
        HistoryEvent(
            event="publish",
            publish_id=record.publish_id,
            at=record.published_at,
            overrides=record.overrides or None,
        ),
    )


def rollback(mesh: Mesh, domain: str) -> tuple[PublishRecord, Snapshot | None]:
    """Make the publish before the current one (never one rolled back from before) the
    domain's current one again, with its private store, and commit a snapshot: consumers built
    from the withdrawn publish go back with it. Returns its record and the snapshot."""
    current = current_publish_id(mesh, domain)
    if current is None:
        raise RollbackError(f"{domain} has never been published; there is nothing to roll back.")
    withdrawn = rolled_back(mesh, domain)
    earlier = [p for p in publish_ids(mesh, domain) if p < current and p not in withdrawn]
    if not earlier:
        raise RollbackError(
            f"{domain} has no publish older than {current} to roll back to (the last "
            f"{snapshot.KEEP_PUBLISHES} publishes, and those a kept snapshot needs, are kept)."
        )
    target = earlier[-1]
    _point_current(domain_dir(mesh, domain), target)
    try:
        committed = snapshot.commit(mesh, cause=f"rollback of {domain}", strict=True)
    except BaseException as error:
        _point_current(domain_dir(mesh, domain), current)
        if isinstance(error, snapshot.SnapshotError):
            raise RollbackError(
                f"{domain} was not rolled back to {target}: {error} Rebuild its consumers "
                f"first, or roll them back too."
            ) from None
        raise
    _append_history(
        mesh,
        domain,
        HistoryEvent(event="rollback", publish_id=target, at=now(), rolled_back_from=current),
    )
    record = read_record(mesh, domain, target)
    assert record is not None
    return record, committed


def cleanup(mesh: Mesh, domain: str) -> list[Path]:
    """Remove what interrupted builds of `domain` left behind. Call with the domain locked.

    Staging folders, half-made publish folders and temporary links are never read by
    anyone, so removing them cannot affect a reader.
    """
    removed: list[Path] = []
    staging_root = mesh.builds / domain
    if staging_root.is_dir():
        for run in staging_root.iterdir():
            shutil.rmtree(run, ignore_errors=True)
            removed.append(run)
    private = mesh.private / domain
    if private.is_dir():  # half-made, or of a publish that never made it into place
        published = set(publish_ids(mesh, domain))
        for store in private.iterdir():
            if store.name not in published:
                shutil.rmtree(store, ignore_errors=True)
                removed.append(store)
    folder = domain_dir(mesh, domain)
    if folder.is_dir():
        for path in folder.iterdir():
            if path.name.startswith(".current-"):
                path.unlink(missing_ok=True)
                removed.append(path)
            elif path.name.startswith(".") and path.name.endswith(".partial"):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed

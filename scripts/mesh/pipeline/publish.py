"""Publishing: a built and tested domain's products become a new version, in one step.

    published/<domain>/<publish-id>/   <domain>.duckdb (its products only), manifest.json,
                                       run_results.json, semantic_manifest.json (what
                                       `mesh metrics` reads), publish.json (the record),
                                       products/<product>/v<N>/ (Parquet, contract)
    published/<domain>/current         symlink to the domain's newest accepted publish
    private/<domain>/<publish-id>/     what only the domain's own next builds read (on
                                       DuckDB: the build's whole database)

What a publish holds besides dbt's artifacts and the record is the engine's (above: DuckDB's).
The steps, in order (crashpoints.py names them): gather the files in hidden folders, write the
record, rename the private store and the publish folder into place, append the publish to the
history, then re-point `current` by renaming a new symlink over it (atomic on POSIX): that
rename is the commit point. The history line comes first so that no publish that became
current is missing from it; a line whose publish never became current is recognised by the
`current` link (`registry.timeline`) and marked abandoned by the next build. Readers do not
follow `current`: they see a publish once the mesh snapshot committed after the build includes
it (`mesh.pipeline.snapshot`). A crash at any moment leaves every earlier version intact;
`cleanup` removes what it left behind. Old publish folders that became current, with their
private stores, are the history that `rollback` walks back through.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from mesh import ids
from mesh.discovery import integrity
from mesh.discovery.registry import (
    HISTORY,
    RECORD,
    FileStamp,
    HistoryEvent,
    PublishRecord,
    RecordedWaiver,
    Timeline,
    current_publish_id,
    domain_dir,
    publish_folders,
    publish_ids,
    read_record,
    timeline,
)
from mesh.discovery.snapshots import Snapshot, kept
from mesh.errors import MeshError, RollbackError
from mesh.governance import policies
from mesh.ids import new_id, now
from mesh.pipeline import snapshot
from mesh.pipeline.crashpoints import Step, reached
from mesh.pipeline.engine import Candidate, Engine, Job
from mesh.pipeline.gates import Verdict
from mesh.workspace import Mesh

# dbt's, published with every publish; the semantic manifest only where the domain declares
# semantic models or metrics (what `mesh metrics` queries).
ARTIFACTS = ("manifest.json", "run_results.json", "semantic_manifest.json")


def _worth_publishing(artifact: Path) -> bool:
    """dbt's artifact is there, and says something: dbt writes a semantic manifest for every
    project, empty unless it declares semantic models or metrics."""
    if not artifact.is_file():
        return False
    if artifact.name != "semantic_manifest.json":
        return True
    try:
        found = json.loads(artifact.read_text(encoding="utf-8"))
    except ValueError:
        return True  # not dbt's: published as it is, and `mesh metrics` says what is wrong
    return not isinstance(found, dict) or bool(found.get("semantic_models") or found.get("metrics"))


def git_commit(root: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def uncommitted(paths: Iterable[Path]) -> bool | None:
    """Whether the code a build ran (`paths`: the domain's folder, the shared macros, the
    profile) differs from the commit it names: a changed, added or untracked file git does not
    ignore. None when git knows none of them (a copy, not a checkout)."""
    known = False
    for path in paths:
        folder, spec = (path, ".") if path.is_dir() else (path.parent, path.name)
        try:
            done = subprocess.run(
                ["git", "status", "--porcelain", "--", spec],
                cwd=folder, capture_output=True, text=True, check=False,
            )  # fmt: skip
        except OSError:
            continue
        if done.returncode != 0:
            continue
        known = True
        if done.stdout.strip():
            return True
    return False if known else None


def _append_history(mesh: Mesh, domain: str, *events: HistoryEvent) -> None:
    """Append lines to the domain's history, on disk before anything that depends on them
    (after a line a crash cut short, on a line of their own)."""
    path = domain_dir(mesh, domain) / HISTORY
    torn = path.exists() and path.stat().st_size > 0 and not path.read_bytes().endswith(b"\n")
    with path.open("a") as handle:
        handle.write("\n" * torn + "".join(event.to_json() + "\n" for event in events))
        handle.flush()
        os.fsync(handle.fileno())


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
    manifest, *others = (job.staging / "target" / f for f in ARTIFACTS)
    if not manifest.exists():
        raise MeshError(f"Cannot publish {job.name}: the build left no {manifest}.")
    publish_id = new_id()
    folder = start_publish(job.mesh, job.name, publish_id)
    private = _partial(job.mesh.private / job.name, publish_id)
    published_at = now()
    try:
        for artifact in (manifest, *others):  # first: the engine may move its files
            if _worth_publishing(artifact):
                shutil.copy2(artifact, folder / artifact.name)
        parts = engine.publish(job, candidate, folder, private, published_at)
        files, private_files = seal(folder), seal(private)
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
        git_commit=git_commit(job.domain.path),  # its own repository's, if it has one
        git_dirty=uncommitted(
            [job.domain.path, job.mesh.root / "shared_macros", job.mesh.root / "profiles.yml"]
        ),
        upstreams=job.upstream_ids,
        dbt_results=outcome.counts,
        products=parts.products,
        output_ports=parts.output_ports,
        fingerprint=job.fingerprint,
        code_fingerprint=job.code_fingerprint,
        code_files=job.code_files,
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
        catalog=parts.catalog,
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
        files=files,
        private_files=private_files,
    )
    finish_publish(job.mesh, folder, record)
    return record


def seal(folder: Path) -> list[FileStamp]:
    """Make every file under `folder` read-only (0444) and stamp it for the record: after the
    last write, so that what builds and `mesh verify` compare with is what was published.
    (Read-only does not stop root, or a process that changes the mode back: the stamps are
    what catch that.)"""
    for relative in integrity.files_of(folder):
        (folder / relative).chmod(0o444)
    return integrity.stamp(folder)


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
    place, note it in the history and make it the domain's current publish, in that order
    (the module's docstring says why)."""
    reached(Step.GATHER)
    folder = partial.parent
    private = mesh.private / record.domain / partial.name
    try:
        (partial / RECORD).write_text(record.to_json())
        reached(Step.RECORD)
        if private.is_dir():
            private.replace(private.parent / record.publish_id)
        reached(Step.RENAME_PRIVATE)
        partial.replace(folder / record.publish_id)
        reached(Step.RENAME_FOLDER)
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
        reached(Step.HISTORY)
        _point_current(folder, record.publish_id)
    except OSError:  # a full disk, say: it never became current, and its space is freed now
        if current_publish_id(mesh, record.domain) != record.publish_id:
            for gathered in (partial, folder / record.publish_id, private):
                shutil.rmtree(gathered, ignore_errors=True)
            shutil.rmtree(private.parent / record.publish_id, ignore_errors=True)
        raise
    reached(Step.POINT_CURRENT)


def rollback(mesh: Mesh, domain: str) -> tuple[PublishRecord, Snapshot | None]:
    """Make the publish that was current before the current one the domain's current one
    again, with its private store (never one a rollback withdrew, never one that did not
    become current), and commit a snapshot: consumers built from the withdrawn publish go
    back with it. Call with the domain locked. Returns its record and the snapshot."""
    line = settle_history(mesh, domain)  # first: a rollback line must follow the repairs
    current = line.current
    if current is None:
        raise RollbackError(f"{domain} has never been published; there is nothing to roll back.")
    kept_ids = set(publish_ids(mesh, domain))
    earlier = [p for p in line.stack[:-1] if p in kept_ids]
    if not earlier:
        raise RollbackError(
            f"{domain} has no publish that was current before {current} to roll back to (the "
            f"last {snapshot.KEEP_PUBLISHES} publishes, and those a kept snapshot needs, are "
            "kept)."
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


def settle_history(mesh: Mesh, domain: str) -> Timeline:
    """Append the lines a stop left out of the domain's history (`Timeline.repairs`), so
    that the next line is read after them. Call with the domain locked."""
    line = timeline(mesh, domain)
    if line.repairs:
        _append_history(mesh, domain, *line.repairs)
    return line


def cleanup(mesh: Mesh, domain: str) -> list[Path]:
    """Remove what interrupted builds, publishes and prunes of `domain` left behind, and
    bring its history in line with its `current` link. Call with the domain locked.

    Nothing removed here is read by anyone: staging folders, hidden `.partial` and
    `.pruned` folders, temporary links, private stores without a publish, folders without a
    record, and publish folders that never became current (unless a kept mesh snapshot names
    one, which only a mesh published by an older version of mesh can have).
    """
    removed: list[Path] = []

    def remove(path: Path) -> None:
        if path.is_symlink() or path.is_file():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path, ignore_errors=True)
        removed.append(path)

    staging_root = mesh.builds / domain
    if staging_root.is_dir():
        for run in staging_root.iterdir():
            remove(run)
    folder = domain_dir(mesh, domain)
    line = settle_history(mesh, domain)
    if folder.is_dir():
        needed = {pid for s in kept(mesh) for name, pid in s.publishes.items() if name == domain}
        became = set(line.became_current) | needed
        for path in folder.iterdir():
            name = path.name
            if name.startswith(".current-") or name.endswith((".partial", ".pruned")):
                leftover = name.startswith(".")
            else:  # a publish folder without a record, or one that never became current
                publish = path.is_dir() and not path.is_symlink() and not name.startswith(".")
                leftover = publish and (not (path / RECORD).exists() or name not in became)
            if leftover:
                remove(path)
            elif (path / f".{RECORD}.partial").exists():  # forget_fingerprint stopped
                remove(path / f".{RECORD}.partial")
    private = mesh.private / domain
    if private.is_dir():  # half-made, pruned, or of a publish that never became current
        published = set(publish_folders(mesh, domain))
        for store in private.iterdir():
            if store.name not in published:
                remove(store)
    return removed

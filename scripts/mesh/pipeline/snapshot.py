"""Committing mesh snapshots (`mesh.discovery.snapshots`): after every build and rollback the
newest consistent set of publishes becomes what readers see, in one rename; then what no kept
snapshot needs is pruned.

Which publishes: each domain starts at its newest accepted publish (its `current` link, never
one a rollback withdrew) and only ever moves back to an older kept one, until every domain's
publish was built from the chosen publishes of its upstreams:
- a consumer built from an older publish of an upstream holds that upstream back at it (the
  consumer has no publish built from the newer one yet: its build failed, or has not run);
- a consumer built from a newer publish than the one chosen for an upstream moves back to its
  own publish built from that one (after a rollback of the upstream).
Every move is backwards, so this ends; what it gives is the newest mesh no reader can see
mixed. The domains left behind are listed in the snapshot with the reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime

from mesh.discovery.domains import discover
from mesh.discovery.registry import (
    PublishRecord,
    current_publish_id,
    domain_dir,
    publish_ids,
    read_record,
    timeline,
)
from mesh.discovery.snapshots import CURRENT, Snapshot, current, folder, kept
from mesh.errors import DamagedRecordError, MeshError
from mesh.ids import new_id
from mesh.pipeline.crashpoints import Step, reached
from mesh.pipeline.locks import domain_lock
from mesh.workspace import Mesh

KEEP_PUBLISHES = 5  # per domain, besides those a kept snapshot needs
KEEP_SNAPSHOTS = 20  # how far back `--at` reaches
LOCK = ".snapshot"  # not a dbt project name, so never a domain's lock
LOCK_TIMEOUT = 60.0  # a commit holds it for milliseconds


class SnapshotError(MeshError):
    """No consistent snapshot keeps every domain readers can read now."""


def candidates(mesh: Mesh, names: list[str]) -> dict[str, list[PublishRecord]]:
    """Each domain's kept publishes that became current and were not withdrawn by a
    rollback, up to its `current` one, newest first, without those whose record is damaged."""
    found: dict[str, list[PublishRecord]] = {}
    for name in names:
        line = timeline(mesh, name)
        if line.current is None:
            continue
        kept_ids = set(publish_ids(mesh, name))
        records = []
        for publish_id in reversed(line.stack):
            if publish_id not in kept_ids:
                continue
            try:
                record = read_record(mesh, name, publish_id)
            except DamagedRecordError:
                continue
            if record is not None:
                records.append(record)
        if records:
            found[name] = records
    return found


@dataclass(frozen=True)
class Choice:
    publishes: dict[str, str]  # domain -> publish id
    behind: dict[str, str]  # domain -> why its newest publish is not the one chosen
    dropped: list[str]  # domains no kept publish of which fits


def choose(found: dict[str, list[PublishRecord]]) -> Choice:
    """The newest consistent set of publishes among `found` (see the module's docstring)."""
    index: dict[str, int | None] = dict.fromkeys(found, 0)
    why: dict[str, str] = {}

    def chosen(name: str) -> PublishRecord | None:
        at = index.get(name)
        return None if at is None else found[name][at]

    def first_mix() -> tuple[str, PublishRecord, str, str, PublishRecord | None] | None:
        """A consumer whose chosen publish read another publish of an upstream than the one
        chosen for it: (consumer, its publish, upstream, the publish it read, the chosen)."""
        for consumer in sorted(index):
            record = chosen(consumer)
            if record is None:
                continue
            for upstream, read_id in sorted(record.upstreams.items()):
                have = chosen(upstream)
                if have is None or have.publish_id != read_id:
                    return consumer, record, upstream, read_id, have
        return None

    while (mix := first_mix()) is not None:
        consumer, record, upstream, read_id, have = mix
        if have is None:
            index[consumer] = None
            why[consumer] = f"it reads {upstream}, which has no publish in the snapshot"
            continue
        older = [i for i, r in enumerate(found[upstream]) if r.publish_id == read_id]
        if read_id < have.publish_id and older:  # hold the upstream back at what it read
            index[upstream] = older[0]
            why.setdefault(
                upstream,
                f"{consumer}'s publish {record.publish_id} in the snapshot was built "
                f"from {upstream} {read_id}",
            )
            continue
        # Back to the consumer's newest publish built from `have` or an older one.
        index[consumer] = next(
            (
                at
                for at in range((index[consumer] or 0) + 1, len(found[consumer]))
                if found[consumer][at].upstreams.get(upstream, "") <= have.publish_id
            ),
            None,
        )
        if index[consumer] is None:
            why[consumer] = (
                f"no kept publish of it was built from {upstream} {have.publish_id} or an older one"
            )
        else:
            why.setdefault(
                consumer,
                f"its publish {record.publish_id} was built from {upstream} {read_id}, "
                "which is not in the snapshot",
            )
    publishes = {name: picked.publish_id for name in index if (picked := chosen(name))}
    behind = {
        name: _blocked_by(name, records[0].publish_id, publishes, found) or why.get(name, "")
        for name, records in found.items()
        if publishes.get(name) != records[0].publish_id
    }
    dropped = sorted(name for name in found if name not in publishes)
    return Choice(publishes, behind, dropped)


def _blocked_by(
    name: str, newest: str, publishes: dict[str, str], found: dict[str, list[PublishRecord]]
) -> str | None:
    """Why `name` is held back, when consumers hold it: those with no publish built from its
    newest publish (their build failed, was skipped or has not run since)."""
    if name not in publishes:
        return None
    blockers = [
        consumer
        for consumer, publish_id in sorted(publishes.items())
        for record in found[consumer]
        if record.publish_id == publish_id
        and record.upstreams.get(name) == publishes[name]
        and not any(r.upstreams.get(name) == newest for r in found[consumer])
    ]
    if not blockers:
        return None
    who = blockers[0] if len(blockers) == 1 else f"{', '.join(blockers[:-1])} and {blockers[-1]}"
    has = "has" if len(blockers) == 1 else "have"
    return (
        f"{who} {has} no publish built from its newest publish {newest} (a build failed, was "
        f"skipped or has not run since); readers see {publishes[name]}, which {who} read"
    )


def commit(mesh: Mesh, cause: str, strict: bool = False) -> Snapshot | None:
    """Commit the newest consistent snapshot, then prune. Returns the current snapshot (the
    previous one when nothing changed). A domain the previous snapshot had but no consistent
    set can keep stays at the previous snapshot (`strict`: raise SnapshotError instead)."""
    names = sorted(discover(mesh))
    with domain_lock(mesh.locks, LOCK, LOCK_TIMEOUT):
        previous = current(mesh, damaged_is_none=True)  # a damaged one is replaced
        choice = choose(candidates(mesh, names))
        lost = [name for name in choice.dropped if previous and name in previous.publishes]
        if lost:
            reasons = "; ".join(f"{name}: {choice.behind[name]}" for name in lost)
            if strict:
                raise SnapshotError(f"Readers would lose {', '.join(lost)} ({reasons}).")
        if (
            lost
            or not choice.publishes
            or (
                previous
                and (previous.publishes, previous.behind) == (choice.publishes, choice.behind)
            )
        ):
            _tidy(mesh, names)  # a build that changed nothing still removes what is left over
            return previous
        snapshot = Snapshot(
            snapshot_id=new_id(),
            committed_at=datetime.now(UTC).isoformat(),  # to the microsecond, for `--at`
            cause=cause,
            publishes=choice.publishes,
            behind=choice.behind,
        )
        _write(mesh, snapshot)
        reached(Step.SNAPSHOT)
        _tidy(mesh, names)
    return snapshot


def _tidy(mesh: Mesh, names: list[str]) -> None:
    """Prune, and remove what a commit stopped half-way left; under the snapshot lock, so no
    commit is under way. A failure waits for the next commit: this one stands."""
    with contextlib.suppress(MeshError, OSError):
        where = folder(mesh)
        for path in where.iterdir() if where.is_dir() else []:
            if path.name.startswith(f".{CURRENT}-") or path.name.endswith(".partial"):
                path.unlink(missing_ok=True)
        prune(mesh, names)


def _write(mesh: Mesh, snapshot: Snapshot) -> None:
    """Write the snapshot's file, then point `current` at it with one rename."""
    where = folder(mesh)
    where.mkdir(parents=True, exist_ok=True)
    name = f"{snapshot.snapshot_id}.json"
    partial = where / f".{name}.partial"
    partial.write_text(snapshot.to_json())
    partial.replace(where / name)
    link = where / f".{CURRENT}-{os.urandom(3).hex()}"
    link.symlink_to(name)
    link.replace(where / CURRENT)


def prune(mesh: Mesh, names: list[str]) -> None:
    """Keep the newest KEEP_SNAPSHOTS snapshots and, per domain, the newest KEEP_PUBLISHES
    publishes, its current one and every one a kept snapshot needs; delete the rest, with
    their private stores."""
    where = folder(mesh)
    files = sorted(where.glob("*.json"))
    live = (where / CURRENT).resolve().name
    for stale in files[:-KEEP_SNAPSHOTS]:
        if stale.name != live:
            stale.unlink(missing_ok=True)
    needed = {(name, pid) for snapshot in kept(mesh) for name, pid in snapshot.publishes.items()}
    for name in names:
        head = current_publish_id(mesh, name)
        for old in publish_ids(mesh, name)[:-KEEP_PUBLISHES]:
            if old != head and (name, old) not in needed:
                _remove_publish(mesh, name, old)


def _remove_publish(mesh: Mesh, domain: str, publish_id: str) -> None:
    """Delete one old publish and its private store. The folder is first renamed aside, so
    that no listing sees a half-deleted publish; a stop in between leaves a `.pruned`
    folder that the domain's next build removes (publish.cleanup)."""
    aside = domain_dir(mesh, domain) / f".{publish_id}.pruned"
    (domain_dir(mesh, domain) / publish_id).replace(aside)
    reached(Step.PRUNE)
    store = mesh.private / domain / publish_id
    if store.exists():
        store = store.replace(store.with_name(f".{publish_id}.pruned"))
    shutil.rmtree(store, ignore_errors=True)
    shutil.rmtree(aside, ignore_errors=True)

"""Whether a publish's files are still the ones that were published: checked, not assumed.

Every publish record lists each file of the publish folder (and of its private store) with
its size, modification time, inode and sha256, taken after the last write
(`registry.FileStamp`). Two checks read them:

- `changed` (every build, on each publish it reads): a stat per file. A different size or a
  missing file is damage at once. A different modification time or inode with the same size
  is what a copy or restore of the mesh also gives (`cp -a`, a backup), so then, and only
  then, the file is hashed: equal content is no damage.
- `corrupted` (`mesh verify`): the sha256 of every file, which also catches a change written
  with its modification time put back (`os.utime`), which no stat can.

A file in the publish folder that the record does not list (planted there later) is damage
too. Records from before files were stamped list none: there is nothing to check them by.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from mesh.discovery import snapshots
from mesh.discovery.registry import (
    RECORD,
    FileStamp,
    PublishRecord,
    current_publish_id,
    domain_dir,
    publish_ids,
    record_in,
)
from mesh.errors import DamagedRecordError
from mesh.workspace import Mesh

_CHUNK = 1 << 20
_T = TypeVar("_T")
_R = TypeVar("_R")
_RECORDS = (RECORD, f".{RECORD}")  # the record, and its replacement being written


@dataclass(frozen=True)
class Damage:
    """A file of a publish that is not what was published, and how it differs."""

    path: Path
    what: str  # "size 1,024 bytes, published 2,048", "content (sha256) differs", "missing"

    def describe(self) -> str:
        return f"{self.path}: {self.what}"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _each(work: Callable[[_T], _R], items: list[_T]) -> list[_R]:
    """`work` on each item, in order, a thread per core: hashlib and file reads release the
    GIL, and a publish has a few large files (a products file and its Parquet ports, 0.3 GB
    at scale 100: 0.37 s in one thread, 0.22 s on two, on the way of every consumer's build)."""
    if len(items) < 2:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(len(items), os.cpu_count() or 1)) as pool:
        return list(pool.map(work, items))


def files_of(folder: Path) -> list[Path]:
    """Every regular file under `folder` but the publish record, relative to it, sorted."""
    return sorted(
        path.relative_to(folder)
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink() and not path.name.startswith(_RECORDS)
    )


def stamp(folder: Path) -> list[FileStamp]:
    """The stamps of every file under `folder` (a publish folder or private store), as they
    are now: call after the last write."""

    def one(relative: Path) -> FileStamp:
        path = folder / relative
        status = path.stat()
        return FileStamp(
            path=relative.as_posix(),
            size=status.st_size,
            mtime_ns=status.st_mtime_ns,
            inode=status.st_ino,
            sha256=sha256(path),
        )

    return _each(one, files_of(folder))


def _one(folder: Path, recorded: FileStamp, full: bool) -> Damage | None:
    path = folder / recorded.path
    try:
        status = path.lstat()
    except FileNotFoundError:
        return Damage(path, "missing")
    if not path.is_file() or path.is_symlink():
        return Damage(path, "no longer a regular file")
    if status.st_size != recorded.size:
        return Damage(path, f"size {status.st_size:,} bytes, published {recorded.size:,}")
    same_stat = (status.st_mtime_ns, status.st_ino) == (recorded.mtime_ns, recorded.inode)
    if same_stat and not full:
        return None
    if sha256(path) == recorded.sha256:
        return None
    if status.st_mtime_ns != recorded.mtime_ns:
        return Damage(path, "content (sha256) differs; modified after it was published")
    return Damage(path, "content (sha256) differs, though size and modification time match")


def _check(folder: Path, stamps: Iterable[FileStamp], full: bool, strays: bool) -> list[Damage]:
    stamps = list(stamps)

    def check(recorded: FileStamp) -> Damage | None:
        return _one(folder, recorded, full)

    # The cheap check is a stat per file (a hash only where the stat differs): no threads.
    checked = _each(check, stamps) if full else [check(recorded) for recorded in stamps]
    found = [damage for damage in checked if damage]
    if strays and stamps and folder.is_dir():
        listed = {recorded.path for recorded in stamps}
        found += [
            Damage(folder / relative, "not part of the publish (added after it was published)")
            for relative in files_of(folder)
            if relative.as_posix() not in listed
        ]
    return found


def changed(folder: Path, stamps: Iterable[FileStamp]) -> list[Damage]:
    """The cheap check: the files of `folder` whose size, modification time or inode differ
    from their stamps (hashing only a file whose stat differs but size does not)."""
    return _check(folder, stamps, full=False, strays=False)


def corrupted(folder: Path, stamps: Iterable[FileStamp]) -> list[Damage]:
    """The full check: every file's sha256, and files the record does not list."""
    return _check(folder, stamps, full=True, strays=True)


def private_store(mesh: Mesh, record: PublishRecord) -> Path:
    return mesh.private / record.domain / record.publish_id


def publish_damage(mesh: Mesh, record: PublishRecord, full: bool = False) -> list[Damage]:
    """What is damaged in the publish `record` describes, its private store included:
    `changed` (by stat) or with `full`, `corrupted` (by sha256)."""
    check = corrupted if full else changed
    folder = domain_dir(mesh, record.domain) / record.publish_id
    private = private_store(mesh, record)
    found = check(folder, record.files)
    if record.private_files:
        found += check(private, record.private_files)
    return found


def file_count(record: PublishRecord) -> int:
    return len(record.files) + len(record.private_files)


def bytes_of(record: PublishRecord) -> int:
    return sum(f.size for f in (*record.files, *record.private_files))


@dataclass(frozen=True)
class Verified:
    """`mesh verify` of one publish: how much was hashed and what is damaged."""

    domain: str
    publish_id: str
    files: int
    size: int  # bytes hashed
    damage: list[Damage]
    stamped: bool = True  # False: published before files were stamped; nothing checked


def verify(mesh: Mesh, domains: list[str], current_only: bool = False) -> list[Verified]:
    """Hash every file of every kept publish of `domains` (with `current_only`, only the
    publish each domain's next build reads and the one readers see in the mesh snapshot),
    against its record."""
    snapshot = snapshots.current(mesh, damaged_is_none=True)
    found = []
    for domain in domains:
        if current_only:
            chosen = {current_publish_id(mesh, domain)}
            chosen.add(snapshot.publishes.get(domain) if snapshot else None)
            chosen_ids = sorted(p for p in chosen if p)
        else:
            chosen_ids = publish_ids(mesh, domain)
        for publish_id in chosen_ids:
            folder = domain_dir(mesh, domain) / publish_id
            try:
                record = record_in(folder)
            except (DamagedRecordError, OSError) as error:
                damage = Damage(folder / RECORD, f"the record cannot be read ({error})")
                found.append(Verified(domain, publish_id, 0, 0, [damage]))
                continue
            found.append(
                Verified(
                    domain,
                    publish_id,
                    file_count(record),
                    bytes_of(record),
                    publish_damage(mesh, record, full=True),
                    stamped=bool(record.files),
                )
            )
    return found

"""Damage a published file as a stray process would, for the integrity tests."""

from __future__ import annotations

import os
from pathlib import Path


def overwrite(path: Path, offset: int, data: bytes, keep_mtime: bool) -> None:
    """Write `data` at `offset` in place (same inode; the files are 0444, so the mode is
    opened first, as root's writes ignore it anyway); with `keep_mtime`, put the
    modification time back, as a careful attacker would."""
    before = path.stat()
    path.chmod(0o644)
    with path.open("r+b") as handle:
        handle.seek(offset)
        handle.write(data)
    if keep_mtime:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))

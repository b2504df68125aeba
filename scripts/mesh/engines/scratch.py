"""The temporary folder of one query session: `warehouse/tmp/query-<pid>-<n>`.

An engine spills what does not fit in memory to disk. DuckDB's default is `.tmp` in the
current directory, which is also a folder its file guards let a query write to: from a
domain's models folder a file written there became a model in the next build. Inside the
warehouse the folder is ignored by git and by dbt, it is the session's own (the process id
and a counter), the session removes it when it closes, and the next session removes those
of processes that died without closing (a killed query left 5.2 GB behind).
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
from pathlib import Path

from mesh.workspace import Mesh

_SEQUENCE = itertools.count(1)
_NAME = re.compile(r"query-(\d+)(?:-\d+)?")


def root(mesh: Mesh) -> Path:
    """Where query sessions keep their temporary folders."""
    return mesh.warehouse / "tmp"


def new_folder(mesh: Mesh) -> Path:
    """A temporary folder for a new query session of this process (not created: the engine
    creates it when it first spills), after removing those of dead processes."""
    remove_stale(mesh)
    root(mesh).mkdir(parents=True, exist_ok=True)
    return root(mesh) / f"query-{os.getpid()}-{next(_SEQUENCE)}"


def remove(folder: Path) -> None:
    """Remove a session's temporary folder and what it spilled."""
    shutil.rmtree(folder, ignore_errors=True)


def remove_stale(mesh: Mesh) -> list[Path]:
    """Remove the temporary folders of query sessions whose process is gone; those removed."""
    if not root(mesh).is_dir():
        return []
    removed = []
    for folder in root(mesh).iterdir():
        found = _NAME.fullmatch(folder.name)
        if found and not _alive(int(found.group(1))):
            remove(folder)
            removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True

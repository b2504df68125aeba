"""dbt's partial-parse file, kept per domain between builds.

Every build runs in a new staging folder, so dbt would parse every file of the project each
time (about a second per domain). The mesh keeps the `partial_parse.msgpack` dbt writes
into the staging target folder in `warehouse/cache/<domain>/` and puts it back before the
next build; dbt itself re-parses what changed, and everything when the profile, the
project's environment variables or dbt's version changed. The profile renders the same in
every build with the same `--jobs` because its database paths are relative to the staging
folder (see `build.dbt_env`); the DuckDB memory limit, a share of a budget per job, is
part of it, so changing `--jobs` costs one full parse.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from mesh.workspace import Mesh

PARTIAL_PARSE = "partial_parse.msgpack"


def _cached(mesh: Mesh, domain: str) -> Path:
    return mesh.cache / domain / PARTIAL_PARSE


def restore(mesh: Mesh, domain: str, target: Path) -> None:
    """Put the domain's last partial-parse file into a build's dbt target folder."""
    cached = _cached(mesh, domain)
    if cached.exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached, target / PARTIAL_PARSE)


def save(mesh: Mesh, domain: str, target: Path) -> None:
    """Keep the partial-parse file a build wrote (replaced in one rename)."""
    written = target / PARTIAL_PARSE
    if not written.exists():
        return
    cached = _cached(mesh, domain)
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_name(f"{PARTIAL_PARSE}.{os.getpid()}.partial")
    with contextlib.suppress(OSError):
        shutil.copyfile(written, partial)
        partial.replace(cached)

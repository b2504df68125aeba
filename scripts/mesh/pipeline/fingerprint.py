"""What a domain build depends on, as one hash: when it is unchanged, so is the build.

A domain's build is determined by its code (its dbt project, the shared macros, the
profiles, and the versions of dbt, its adapter and DuckDB that run them), its landing data
and the exact upstream publishes it reads. `mesh build` skips a domain whose fingerprint
equals the one recorded with its current publish (`--full` forces a rebuild). Code is
hashed by content; landing files, which can be large, by name, size and modification
time, as make does.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from mesh import __version__
from mesh.discovery.domains import Domain
from mesh.workspace import Mesh

# Folders dbt or the platform write inside a domain: not part of its code.
GENERATED = {"dbt_packages", "target", "logs", "__pycache__"}
GENERATED_FILES = {"package-lock.yml", ".user.yml"}

# The packages that turn a domain's code into tables: upgrading one rebuilds every domain,
# and no incremental model continues from a table an older version wrote.
TOOLCHAIN = ("dbt-core", "dbt-duckdb", "dbt-loom", "duckdb")


@functools.cache
def toolchain(packages: tuple[str, ...] = TOOLCHAIN) -> str:
    """The installed version of each package of a toolchain, one per line."""
    lines = []
    for name in packages:
        try:
            lines.append(f"{name} {metadata.version(name)}\n")
        except metadata.PackageNotFoundError:
            lines.append(f"{name} not installed\n")
    return "".join(lines)


def _code_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if GENERATED & set(relative.parts) or path.name in GENERATED_FILES:
            continue
        if path.is_file():
            yield path


def _in_mesh(mesh: Mesh, domain: Domain, path: Path) -> Path:
    """Where a code file is in the mesh; a domain outside the mesh's folder (in a repository
    of its own) as if it were in domains/, so moving it out changes no fingerprint."""
    if path.is_relative_to(mesh.root):
        return path.relative_to(mesh.root)
    return Path("domains", domain.name, path.relative_to(domain.path))


def code_fingerprint(
    mesh: Mesh, domain: Domain, engine_toolchain: tuple[str, ...] = (), pii_key: str = ""
) -> str:
    """A hash of the code a build of `domain` runs (with an engine's own packages, such as
    dbt-spark, when given, and the fingerprint of the PII key it is handed, never the key):
    while it is unchanged, an incremental model may continue from its published table."""
    digest = hashlib.sha256(f"mesh {__version__}\n{toolchain()}".encode())
    if pii_key:
        digest.update(f"pii key {pii_key}\n".encode())
    for root in (domain.path, mesh.root / "shared_macros"):
        for path in _code_files(root):
            digest.update(f"{_in_mesh(mesh, domain, path)}\n".encode())
            digest.update(path.read_bytes())
    digest.update((mesh.root / "profiles.yml").read_bytes())
    if not engine_toolchain:
        return digest.hexdigest()
    return hashlib.sha256(
        f"{digest.hexdigest()}\n{toolchain(engine_toolchain)}".encode()
    ).hexdigest()


def only_appended(before: dict[str, str], now: dict[str, str]) -> bool:
    """Whether the landing files read `before` are all still there, unchanged: new exports
    were only added, so what incremental models loaded from them is still true."""
    return bool(before) and all(now.get(path) == stat for path, stat in before.items())


def fingerprint(code: str, landing: dict[str, str], upstreams: dict[str, str]) -> str:
    """A hash of everything a domain's build reads: its `code` fingerprint, its `landing`
    files (as `landing_state` gives them) and `upstreams`, which maps each upstream domain
    to the publish id it reads."""
    digest = hashlib.sha256(f"code {code}\n".encode())
    for path, stat in landing.items():
        digest.update(f"{path} {stat}\n".encode())
    for name, publish_id in sorted(upstreams.items()):
        digest.update(f"upstream {name} {publish_id}\n".encode())
    return digest.hexdigest()

"""What a domain build depends on, as one hash: when it is unchanged, so is the build.

A domain's build is determined by its code (its dbt project, the shared macros, the
profile, and the versions of dbt, its adapter and DuckDB that run them), its landing data
and the exact upstream publishes it reads: nothing of another domain but the publishes it
consumes, so adding or changing a domain rebuilds only it and its consumers. `mesh build`
skips a domain whose fingerprint equals the one recorded with its current publish (`--full`
forces a rebuild). Code is
hashed by content; landing files, which can be large, by name, size and modification
time, as make does. A rebuild says which of them changed (`rebuild_reasons`).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from mesh import __version__
from mesh.discovery.domains import Domain
from mesh.discovery.registry import PublishRecord
from mesh.workspace import Mesh

# Folders dbt or the platform write inside a domain: not part of its code.
GENERATED = {"dbt_packages", "target", "logs", "__pycache__"}
GENERATED_FILES = {"package-lock.yml", ".user.yml"}
# Not code of the build: `mesh build` runs the mesh's profile (an input of its own), whatever
# a domain folder holds under that name (a link to it, for plain dbt, or its own repository's).
NOT_CODE = {"profiles.yml"}

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


def code_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if GENERATED & set(relative.parts) or path.name in GENERATED_FILES | NOT_CODE:
            continue
        if path.is_file():
            yield path


def code_inputs(
    mesh: Mesh, domain: Domain, engine_toolchain: tuple[str, ...] = (), pii_key: str = ""
) -> dict[str, str]:
    """Each input of the code a build of `domain` runs, by name, with its hash: the files of
    the domain and of the shared macros, the profile, the mesh's and the toolchain's versions
    (with an engine's own packages, such as dbt-spark, when given) and the fingerprint of the
    PII key it is handed, never the key. Recorded with each publish, so the next build can
    say which of them changed."""
    engine = toolchain(engine_toolchain) if engine_toolchain else ""
    inputs = {
        "mesh and toolchain versions": _sha256(
            f"mesh {__version__}\n{toolchain()}{engine}".encode()
        ),
        "profiles.yml": _sha256((mesh.root / "profiles.yml").read_bytes()),
    }
    if pii_key:
        inputs["the PII key"] = pii_key
    for prefix, root in (
        (f"domains/{domain.name}", domain.path),
        ("shared_macros", mesh.root / "shared_macros"),
    ):
        for path in code_files(root):
            inputs[f"{prefix}/{path.relative_to(root).as_posix()}"] = _sha256(path.read_bytes())
    return inputs


def code_fingerprint(inputs: dict[str, str]) -> str:
    """One hash of `code_inputs`: while it is unchanged, an incremental model may continue
    from its published table."""
    return _sha256(
        "".join(f"{name}\0{digest}\n" for name, digest in sorted(inputs.items())).encode()
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _listed(names: list[str], limit: int = 3) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def rebuild_reasons(
    current: PublishRecord | None,
    code: dict[str, str],
    landing: dict[str, str],
    upstreams: dict[str, str],
) -> list[str]:
    """Why a domain is built again rather than kept: what differs between its `current`
    publish and the build's `code` inputs, `landing` files and `upstreams` (name -> publish
    id). Empty when nothing does."""
    if current is None:
        return ["it has no publish yet"]
    reasons = []
    if current.code_fingerprint != code_fingerprint(code):
        before = current.code_files
        if not before:
            reasons.append("its code changed (its current publish recorded no list of its files)")
        else:
            changed = sorted(n for n in code.keys() & before.keys() if code[n] != before[n])
            added = sorted(code.keys() - before.keys())
            removed = sorted(before.keys() - code.keys())
            for what, names in (("changed", changed), ("added", added), ("removed", removed)):
                if names:
                    reasons.append(f"{_listed(names)} {what}")
    new = [p for p in landing if p not in current.landing]
    replaced = [p for p in landing if p in current.landing and landing[p] != current.landing[p]]
    gone = [p for p in current.landing if p not in landing]
    for count, what in ((len(new), "new"), (len(replaced), "replaced"), (len(gone), "removed")):
        if count:
            reasons.append(f"{count} {what} landing export{'s' if count > 1 else ''}")
    for name in sorted(upstreams.keys() | current.upstreams.keys()):
        if name not in current.upstreams:
            reasons.append(f"it now consumes {name}")
        elif name not in upstreams:
            reasons.append(f"it no longer consumes {name}")
        elif upstreams[name] != current.upstreams[name]:
            reasons.append(f"{name} published {upstreams[name]}")
    return reasons


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

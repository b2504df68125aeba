"""The dbt command lines and environment every domain's invocations share, whatever the engine."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import yaml

from mesh.discovery.domains import LOOM_CONFIG, Domain
from mesh.workspace import Mesh

# The profiles.yml target of a `mesh build` on DuckDB (plain dbt uses `dev`, which cannot
# publish) and of `mesh check`'s parse (an in-memory database: no file is locked).
PRODUCTION = "prod"
LINT = "lint"


def loom_env(folder: Path, manifests: Mapping[str, Path]) -> dict[str, str]:
    """The dbt-loom configuration of a platform invocation, written in `folder`, its working
    directory: each upstream's manifest at the exact publish the invocation reads. The
    domain's own dbt_loom.config.yml is for plain dbt in its folder; the platform reads only
    its names (`mesh.discovery.domains`), so a domain cannot point its build at any other
    file. Paths are relative to `folder`: no character of the mesh's own path (a `$`, say)
    meets dbt-loom's variable substitution. Every invocation sets it: a warm worker must not
    keep an earlier task's."""
    entries = [
        {"name": name, "type": "file", "config": {"path": os.path.relpath(path, folder)}}
        for name, path in sorted(manifests.items())
    ]
    path = folder / LOOM_CONFIG
    path.write_text(yaml.safe_dump({"manifests": entries}, sort_keys=False))
    return {"DBT_LOOM_CONFIG": str(path)}


def base_env(mesh: Mesh, domain: Domain, target: str) -> dict[str, str]:
    """What profiles.yml and the sources read for any invocation of `domain` on `target`;
    an engine adds its own connection settings, the pipeline the dbt-loom configuration
    (`loom_env`)."""
    return {
        "MESH_TARGET": target,
        # A domain in a repository of its own finds shared_macros through it (packages.yml).
        "MESH_HOME": str(mesh.root),
        "MESH_LANDING_DIR": str(mesh.landing_dir(domain.name)),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        # No PII key unless the pipeline hands one to this build (mesh.governance.pii_key):
        # empty, not absent, so a worker never keeps one from an earlier task or the shell.
        "MESH_PII_KEY": "",
    }


def dbt_args(mesh: Mesh, domain: Domain, staging: Path) -> list[str]:
    """Options every dbt command of a domain takes: project, profiles, logs in staging."""
    return [
        "--project-dir", str(domain.path),
        "--profiles-dir", str(mesh.root),
        "--log-path", str(staging / "logs"),
        "--log-level", "none",
        "--log-level-file", "info",
        "--no-use-colors",
    ]  # fmt: skip


def with_packages(
    mesh: Mesh, domain: Domain, staging: Path, *commands: list[str]
) -> list[list[str]]:
    """`commands`, preceded by `dbt deps` when shared_macros is not installed for this mesh."""
    installed = domain.path / "dbt_packages" / "shared_macros"
    if installed.exists() and installed.resolve() == (mesh.root / "shared_macros").resolve():
        return list(commands)
    return [["deps", *dbt_args(mesh, domain, staging)], *commands]

"""The dbt command lines and environment every domain's invocations share, whatever the engine."""

from __future__ import annotations

from pathlib import Path

from mesh.discovery.domains import Domain
from mesh.workspace import Mesh


def base_env(mesh: Mesh, domain: Domain, target: str) -> dict[str, str]:
    """What profiles.yml, the sources and dbt-loom read for any invocation of `domain` on
    `target`; an engine adds its own connection settings."""
    return {
        "MESH_TARGET": target,
        # A domain in a repository of its own finds shared_macros through it (packages.yml).
        "MESH_HOME": str(mesh.root),
        "MESH_LANDING_DIR": str(mesh.landing_dir(domain.name)),
        "MESH_PUBLISHED_DIR": str(mesh.published),
        "DBT_LOOM_CONFIG": str(domain.loom_config),
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

"""The domains of a mesh, read from their dbt projects.

A domain is a folder `domains/<name>/` holding a dbt project of the same name. What it
depends on is what its dbt-loom configuration imports; what it reads from operational
systems is what its dbt sources declare. Nothing here keeps a list of domains by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from mesh.errors import DomainConfigError, UnknownDomainError
from mesh.workspace import Mesh

LOOM_CONFIG = "dbt_loom.config.yml"
# libyaml's safe loader when PyYAML was built with it: ten times faster than pure Python,
# which matters when every command reads every domain's YAML.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
LANDING_FORMAT = "parquet"


class LoomManifest(BaseModel):
    """One upstream project in a dbt-loom configuration (only the fields the mesh needs)."""

    name: str
    type: str = "file"


class LoomConfig(BaseModel):
    manifests: list[LoomManifest] = []


@dataclass(frozen=True)
class Domain:
    """A domain: its dbt project, the domains it consumes and the landing files it reads."""

    name: str
    path: Path
    upstreams: tuple[str, ...]
    source_tables: tuple[str, ...]

    @property
    def loom_config(self) -> Path:
        return self.path / LOOM_CONFIG

    def landing_tables(self, mesh: Mesh) -> list[Path]:
        """The folders this domain's sources read, one per table: every export of the table
        is a file `landing/<domain>/<table>/<export instant>.parquet` in it."""
        return [mesh.landing_dir(self.name) / t for t in self.source_tables]


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML file that must hold a mapping (as every dbt and dbt-loom file does)."""
    try:
        content = yaml.load(path.read_text(), Loader=SAFE_LOADER) or {}
    except yaml.YAMLError as error:
        raise DomainConfigError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(content, dict):
        raise DomainConfigError(f"{path} must hold a YAML mapping, not a {type(content).__name__}.")
    return content


def _read_upstreams(project: Path) -> tuple[str, ...]:
    path = project / LOOM_CONFIG
    if not path.exists():
        return ()
    try:
        config = LoomConfig.model_validate(read_yaml(path))
    except ValidationError as error:
        raise DomainConfigError(f"{path} is not a valid dbt-loom configuration: {error}") from error
    return tuple(sorted(manifest.name for manifest in config.manifests))


def _read_source_tables(project: Path) -> tuple[str, ...]:
    """Every table of every dbt source declared in the project's YAML files."""
    tables: set[str] = set()
    models = project / "models"
    for path in sorted([*models.rglob("*.yml"), *models.rglob("*.yaml")]):
        for source in read_yaml(path).get("sources") or []:
            tables.update(table["name"] for table in source.get("tables") or [])
    return tuple(sorted(tables))


def load_domain(path: Path) -> Domain:
    project_file = path / "dbt_project.yml"
    project = read_yaml(project_file)
    name = project.get("name")
    if name != path.name:
        raise DomainConfigError(
            f"{project_file} names the project {name!r}, but a domain's dbt project must be "
            f"named after its folder ({path.name!r})."
        )
    return Domain(
        name=name,
        path=path,
        upstreams=_read_upstreams(path),
        source_tables=_read_source_tables(path),
    )


def discover(mesh: Mesh) -> dict[str, Domain]:
    """All domains of the mesh by name: every folder under domains/ with a dbt_project.yml."""
    return {name: load_domain(mesh.domains_dir / name) for name in names(mesh)}


def names(mesh: Mesh) -> list[str]:
    """The domains' names, sorted, without reading their projects (no YAML: cheap to call)."""
    return sorted(path.parent.name for path in mesh.domains_dir.glob("*/dbt_project.yml"))


def select(domains: dict[str, Domain], names: list[str]) -> list[Domain]:
    """The named domains, or a clear error listing the known ones."""
    unknown = [name for name in names if name not in domains]
    if unknown:
        raise UnknownDomainError(
            f"Unknown domain{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"the domains of this mesh are: {', '.join(sorted(domains))}."
        )
    return [domains[name] for name in names]

"""The domains of a mesh, read from their dbt projects.

A domain is a folder `domains/<name>/` holding a dbt project of the same name. What it
depends on is what its dbt-loom configuration imports; what it reads from operational
systems is what its dbt sources declare. Nothing here keeps a list of domains by hand.

A domain may also live in a repository of its own. Standing in its dbt project with
`MESH_HOME` set (`Mesh.outside`), it is a domain of that mesh, named by its project, and
builds and publishes there like the others. Seen from the mesh, it is known only by its
publishes in `published/<name>/`: consumers read them, and the mesh never builds it
(`published_only`; its upstreams are the ones its current publish read).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from mesh.discovery.registry import read_record
from mesh.errors import DomainConfigError, MissingPublishError, UnknownDomainError
from mesh.workspace import HOME, PROJECT_FILE, Mesh

LOOM_CONFIG = "dbt_loom.config.yml"
# libyaml's safe loader when PyYAML was built with it: ten times faster than pure Python,
# which matters when every command reads every domain's YAML.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
LANDING_FORMAT = "parquet"


class LoomFileConfig(BaseModel):
    path: str | None = None


class LoomManifest(BaseModel):
    """One upstream project in a dbt-loom configuration (only the fields the mesh needs)."""

    name: str
    type: str = "file"
    config: LoomFileConfig = LoomFileConfig()


class LoomConfig(BaseModel):
    manifests: list[LoomManifest] = []


@dataclass(frozen=True)
class Domain:
    """A domain: its dbt project, the domains it consumes and the landing files it reads.

    `published_only`: a domain built in a repository of its own, known here only by its
    publishes; `path` is then the folder of its publishes (`published/<name>/`), which holds
    no dbt project, and nothing here builds, checks or lints it.
    """

    name: str
    path: Path
    upstreams: tuple[str, ...]
    source_tables: tuple[str, ...]
    published_only: bool = False

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


def load_domain(path: Path, outside: bool = False) -> Domain:
    """The domain whose dbt project is `path`: a folder of the same name under domains/, or
    (`outside`) a project anywhere else, named by its dbt project."""
    project_file = path / PROJECT_FILE
    project = read_yaml(project_file)
    name = project.get("name")
    if outside and (not isinstance(name, str) or not name.isidentifier()):
        raise DomainConfigError(
            f"{project_file} must name its project (`name:`, letters, digits and underscores): "
            "a domain outside the mesh is named by its dbt project."
        )
    if not outside and name != path.name:
        raise DomainConfigError(
            f"{project_file} names the project {name!r}, but a domain's dbt project must be "
            f"named after its folder ({path.name!r})."
        )
    assert isinstance(name, str)  # checked above, either way
    return Domain(
        name=name,
        path=path,
        upstreams=_read_upstreams(path),
        source_tables=_read_source_tables(path),
    )


def discover(mesh: Mesh) -> dict[str, Domain]:
    """All domains of the mesh by name: every folder under domains/ with a dbt_project.yml,
    the dbt project the command stands in outside the mesh's folder (`mesh.outside`), and
    every other domain with publishes (published from a repository of its own)."""
    found = {name: load_domain(mesh.domains_dir / name) for name in names(mesh)}
    if mesh.outside is not None:
        domain = load_domain(mesh.outside, outside=True)
        if domain.name in found:
            raise DomainConfigError(
                f"{mesh.outside / PROJECT_FILE} names the project {domain.name!r}, which is "
                f"also the domain folder domains/{domain.name} of the mesh at {mesh.root}: a "
                "domain outside the mesh needs a name of its own; rename the project or remove "
                f"domains/{domain.name} from the mesh."
            )
        found[domain.name] = domain
    for name in published_names(mesh):
        if name not in found:  # only then is its publish record read
            found[name] = _published_only(mesh, name)
    return dict(sorted(found.items()))


def names(mesh: Mesh) -> list[str]:
    """The domains' names, sorted, without reading their projects (no YAML: cheap to call)."""
    return sorted(path.parent.name for path in mesh.domains_dir.glob("*/dbt_project.yml"))


def published_names(mesh: Mesh) -> list[str]:
    """Every domain with a folder of publishes in the warehouse (on the mesh's engine)."""
    if not mesh.published.is_dir():
        return []
    return sorted(p.name for p in mesh.published.iterdir() if p.is_dir() and not p.is_symlink())


def _published_only(mesh: Mesh, name: str) -> Domain:
    """A domain known only by its publishes: it consumes what its current publish read."""
    try:
        record = read_record(mesh, name)
    except (OSError, ValueError):  # damaged: its readers are told so when they read it
        record = None
    upstreams = tuple(sorted(record.upstreams)) if record else ()
    return Domain(name, mesh.published / name, upstreams, (), published_only=True)


def standing_in(mesh: Mesh, domains: dict[str, Domain]) -> str | None:
    """The domain the command stands in outside the mesh's folder (`mesh.outside`), if any:
    what `mesh build` and `mesh check` work on by default there."""
    return next((d.name for d in domains.values() if d.path == mesh.outside), None)


def location(mesh: Mesh, domain: Domain) -> str:
    """Where a domain's dbt project is, as `mesh domains` shows it."""
    if domain.published_only:
        return f"its own repository (publishes in {domain.path.relative_to(mesh.root)})"
    if domain.path.is_relative_to(mesh.root):
        return str(domain.path.relative_to(mesh.root))
    return str(domain.path)


def elsewhere_hint(mesh: Mesh, name: str) -> str:
    """How a domain known only by its publishes is built: in its own repository."""
    return (
        f"{name} is built in a repository of its own: run `mesh build` in its dbt project "
        f"there with {HOME}={mesh.root}"
    )


def require_projects(mesh: Mesh, domains: list[Domain], doing: str) -> None:
    """Refuse to `doing` a domain that has no dbt project here (published from elsewhere)."""
    for domain in domains:
        if domain.published_only:
            raise UnknownDomainError(
                f"Cannot {doing} {domain.name} here: it has no dbt project in this mesh, only "
                f"publishes. {elsewhere_hint(mesh, domain.name)}."
            )


def require_published(mesh: Mesh, domains: dict[str, Domain], needed: set[str]) -> None:
    """Every domain in `needed` that is built elsewhere must have a publish to read."""
    for name in sorted(needed):
        if domains[name].published_only and read_record(mesh, name) is None:
            readers = sorted(d.name for d in domains.values() if name in d.upstreams)
            raise MissingPublishError(
                f"{', '.join(readers) or 'A domain'} consumes {name}, which has no current "
                f"publish in {mesh.published / name}; {elsewhere_hint(mesh, name)}."
            )


def select(domains: dict[str, Domain], names: list[str]) -> list[Domain]:
    """The named domains, or a clear error listing the known ones."""
    unknown = [name for name in names if name not in domains]
    if unknown:
        raise UnknownDomainError(
            f"Unknown domain{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"the domains of this mesh are: {', '.join(sorted(domains))}."
        )
    return [domains[name] for name in names]

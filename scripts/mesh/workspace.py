"""Where the mesh is: the directory you stand in, found by walking up like git does, or the
one `MESH_HOME` names.

Any copy of the repository is its own mesh; every file the platform writes lives under its
`warehouse/` directory (ignored by git). A domain kept in a repository of its own names its
mesh with `MESH_HOME`: standing in that domain's dbt project, the mesh is MESH_HOME's and the
project is one of its domains for the command (`Mesh.outside`, `mesh.discovery.domains`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from mesh.errors import MeshNotFoundError

DEFAULT_ENGINE = "duckdb"
# The one setting a domain outside the mesh's repository needs: the path of the mesh.
HOME = "MESH_HOME"
PROJECT_FILE = "dbt_project.yml"


def is_mesh(path: Path) -> bool:
    """Whether `path` is a mesh: a folder holding `domains/` and `profiles.yml`."""
    return (path / "domains").is_dir() and (path / "profiles.yml").is_file()


def _project_at_or_above(here: Path, mesh_root: Path) -> Path | None:
    """The nearest folder at or above `here` holding a dbt project, if `here` is not in the
    mesh's own folder (there every dbt project is a domain folder, or shared_macros)."""
    if here.is_relative_to(mesh_root):
        return None
    return next((p for p in (here, *here.parents) if (p / PROJECT_FILE).is_file()), None)


@dataclass(frozen=True)
class Mesh:
    """A mesh on disk and the places in it the platform reads and writes.

    Landing exports are shared; builds and publishes belong to an engine. DuckDB's, the
    default, are in `warehouse/`; another engine's in `warehouse/<engine>/` (see `on`).
    """

    root: Path
    engine: str = DEFAULT_ENGINE
    # The dbt project the command stands in when it is outside the mesh's folder (a domain
    # in its own repository, found with MESH_HOME): a domain of the mesh for this command.
    outside: Path | None = None

    @classmethod
    def find(cls, start: Path | None = None, environ: dict[str, str] | None = None) -> Mesh:
        """The mesh `MESH_HOME` names, if set; else the nearest directory at or above `start`
        that holds `domains/` and `profiles.yml`."""
        here = (start or Path.cwd()).resolve()
        home = (os.environ if environ is None else environ).get(HOME, "").strip()
        if home:
            root = Path(home).expanduser().resolve()
            if not is_mesh(root):
                raise MeshNotFoundError(
                    f"{HOME} is {home}, which is not a mesh (a directory with a `domains/` "
                    f"folder and a `profiles.yml`): set {HOME} to the mesh's folder, or unset "
                    "it to use the mesh you stand in."
                )
            return cls(root, outside=_project_at_or_above(here, root))
        for candidate in (here, *here.parents):
            if is_mesh(candidate):
                return cls(candidate)
        raise MeshNotFoundError(
            f"No mesh found at or above {here}: a mesh is a directory with a `domains/` folder "
            "and a `profiles.yml`. Run mesh from inside a clone of the repository, or set "
            f"{HOME} to the mesh's folder."
        )

    @property
    def domains_dir(self) -> Path:
        return self.root / "domains"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse"

    def on(self, engine: str) -> Mesh:
        """The same mesh, building and publishing on `engine`."""
        return replace(self, engine=engine)

    @property
    def engine_dir(self) -> Path:
        """Where this engine's builds, publishes, locks and caches live."""
        return self.warehouse if self.engine == DEFAULT_ENGINE else self.warehouse / self.engine

    @property
    def landing(self) -> Path:
        """Operational exports: `landing/<domain>/<table>/<export instant>.parquet`."""
        return self.warehouse / "landing"

    @property
    def builds(self) -> Path:
        """Staging: each build of a domain runs in `build/<domain>/<run-id>/`."""
        return self.engine_dir / "build"

    @property
    def published(self) -> Path:
        """Published versions: `published/<domain>/current` points at the live one."""
        return self.engine_dir / "published"

    @property
    def private(self) -> Path:
        """Each publish's private store: `private/<domain>/<publish-id>/`, what only the
        domain's own builds read (its models' data beyond the products, incremental state)."""
        return self.engine_dir / "private"

    @property
    def locks(self) -> Path:
        """One lock file per domain: one build of a domain at a time (on this engine)."""
        return self.engine_dir / "locks"

    @property
    def cache(self) -> Path:
        return self.engine_dir / "cache"

    @property
    def logs(self) -> Path:
        return self.warehouse / "logs"

    def landing_dir(self, domain: str) -> Path:
        return self.landing / domain

    def published_dir(self, domain: str) -> Path:
        """The domain's newest accepted publish (a symlink to one publish folder): what its
        next build compares with. Readers resolve domains through a mesh snapshot instead
        (`mesh.discovery.snapshots`)."""
        return self.published / domain / "current"

    def published_database(self, domain: str) -> Path:
        return self.published_dir(domain) / f"{domain}.duckdb"

    def published_manifest(self, domain: str) -> Path:
        return self.published_dir(domain) / "manifest.json"

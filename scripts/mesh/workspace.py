"""Where the mesh is: the directory you stand in, found by walking up like git does.

Any copy of the repository is its own mesh; every file the platform writes lives under its
`warehouse/` directory (ignored by git).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mesh.errors import MeshNotFoundError


@dataclass(frozen=True)
class Mesh:
    """A mesh on disk and the places in it the platform reads and writes."""

    root: Path

    @classmethod
    def find(cls, start: Path | None = None) -> Mesh:
        """The nearest directory at or above `start` that holds `domains/` and `profiles.yml`."""
        here = (start or Path.cwd()).resolve()
        for candidate in (here, *here.parents):
            if (candidate / "domains").is_dir() and (candidate / "profiles.yml").is_file():
                return cls(candidate)
        raise MeshNotFoundError(
            f"No mesh found at or above {here}: a mesh is a directory with a `domains/` folder "
            "and a `profiles.yml`. Run mesh from inside a clone of the repository."
        )

    @property
    def domains_dir(self) -> Path:
        return self.root / "domains"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse"

    @property
    def landing(self) -> Path:
        """Operational exports: `landing/<domain>/<table>/<export instant>.parquet`."""
        return self.warehouse / "landing"

    @property
    def builds(self) -> Path:
        """Staging: each build of a domain runs in `build/<domain>/<run-id>/`."""
        return self.warehouse / "build"

    @property
    def published(self) -> Path:
        """Published versions: `published/<domain>/current` points at the live one."""
        return self.warehouse / "published"

    @property
    def logs(self) -> Path:
        return self.warehouse / "logs"

    def landing_dir(self, domain: str) -> Path:
        return self.landing / domain

    def published_dir(self, domain: str) -> Path:
        """The live published version of a domain (a symlink to one publish folder)."""
        return self.published / domain / "current"

    def published_database(self, domain: str) -> Path:
        return self.published_dir(domain) / f"{domain}.duckdb"

    def published_manifest(self, domain: str) -> Path:
        return self.published_dir(domain) / "manifest.json"

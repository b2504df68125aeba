"""The development target (profiles.yml `dev`): what plain `dbt` in a domain folder reads.

A domain developer runs `dbt build`, `dbt run -s <model>` or `dbt docs generate` in
`domains/<name>/` with no variables or flags. dbt then finds the mesh's profile through the
folder's `profiles.yml` link, builds into the folder's own `target/dev.duckdb` and
`target/dev__private.duckdb`, and the sources read the mesh's landing folder (their
`external_location` defaults). Two things a profile cannot say are done here, by the
dbt-duckdb plugin (`dbt_plugin`), when dbt opens the database:

- Each upstream the domain consumes is attached read-only under its name, from the folder of
  the manifest its dbt_loom.config.yml imports: the upstream's current publish. The plugin
  reads the configuration dbt-loom reads (`DBT_LOOM_CONFIG`, else the working directory's
  file) with dbt-loom's own variable substitution, so the two never disagree.
- `shared_macros.hash_pii` gets a development key of the folder's own (`target/dev-pii.key`,
  made on first use, owner-only), never the mesh's: hashes in a development database match
  nothing published, and the mesh's key stays with `mesh build`.

Nothing here can publish: the published files are attached read-only and are 0444.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mesh.discovery.domains import LOOM_CONFIG, LoomConfig
from mesh.errors import MeshError
from mesh.governance import pii_key
from mesh.governance.expectations import quote, string_literal

DEV_KEY = "dev-pii.key"


class DevelopmentTargetError(MeshError):
    """The development target cannot attach what the domain consumes."""


@dataclass(frozen=True)
class UpstreamDatabase:
    name: str
    path: Path


def loom_config_path() -> Path:
    """Where dbt-loom reads its configuration in this process (dbt_loom.dbtLoom.__init__)."""
    return Path(os.environ.get("DBT_LOOM_CONFIG", LOOM_CONFIG))


def _substitute(text: str) -> str:
    from dbt_loom import dbtLoom  # dbt-loom's own substitution, so both read the same paths

    substituted: str = dbtLoom.replace_env_variables(text)
    return substituted


def upstream_databases(config: Path) -> list[UpstreamDatabase]:
    """The published products file of each upstream in the dbt-loom configuration `config`:
    `<name>.duckdb` beside the manifest it imports. No configuration: no upstreams."""
    if not config.is_file():
        return []
    try:
        loom = LoomConfig.model_validate(yaml.safe_load(_substitute(config.read_text())) or {})
    except (OSError, yaml.YAMLError, ValidationError) as error:
        raise DevelopmentTargetError(f"{config} could not be read: {error}") from error
    databases = []
    for entry in loom.manifests:
        name, path = entry.name, entry.config.path
        if entry.type != "file" or not path:
            continue
        database = Path(path).parent / f"{name}.duckdb"
        if not database.is_file():
            raise DevelopmentTargetError(
                f"{config} imports {name} from {path}, which has no published database "
                f"{database}: run `mesh build {name}` in the mesh first."
            )
        databases.append(UpstreamDatabase(name, database))
    return databases


def attach_upstreams(connection: Any, databases: list[UpstreamDatabase]) -> None:
    """Attach each upstream's products read-only under its name (what dbt-loom's refs say)."""
    for database in databases:
        connection.execute(
            f"attach if not exists {string_literal(str(database.path))} "
            f"as {quote(database.name)} (read_only)"
        )


def development_key(folder: Path) -> str:
    """The development PII key of a domain folder's dev target, made on first use."""
    path = folder / DEV_KEY
    if not path.exists():
        pii_key.create_key_file(path)
    return pii_key.read_key_file(path).hex()

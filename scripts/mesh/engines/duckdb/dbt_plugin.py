"""The mesh's dbt-duckdb plugin (profiles.yml `plugins:`): creates databases in the storage
format DuckDB 1.1 reads (`mesh.engines.duckdb.storage`), hands a build's PII key to DuckDB
outside the SQL text, and on the development target (`config: {development: true}`) attaches
the domain's upstreams and uses a development key (`development`).

dbt publishes compiled SQL with the manifest, so the key cannot be written into it. When the
build was handed the key (MESH_PII_KEY in the dbt worker's environment, set by the pipeline
for domains that own PII: `mesh.governance.pii_key`), every DuckDB connection and cursor
dbt opens gets HMAC's inner and outer keys as the session variables `mesh_pii_ipad` and
`mesh_pii_opad`, which `shared_macros.hash_pii` reads with `getvariable()`. Session
variables live in the connection only: they are never stored in a database file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from mesh.engines.duckdb import development, storage
from mesh.governance.pii_key import ENV, hmac_pads, parse


def set_pii_key(connection: Any, key_hex: str) -> None:
    """Set the session variables `hash_pii` reads on `connection` for the key `key_hex`."""
    inner, outer = hmac_pads(parse(key_hex, f"the environment variable {ENV}"))
    connection.execute("set variable mesh_pii_ipad = $1", [inner])
    connection.execute("set variable mesh_pii_opad = $1", [outer])


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.development = plugin_config.get("development") is True
        self.development_key = ""
        self.upstreams: list[development.UpstreamDatabase] = []
        if self.development:
            # The folder of the dev database, which dbt has not made yet on a first `dbt show`.
            folder = Path(self.creds.path if self.creds else "target").parent
            folder.mkdir(parents=True, exist_ok=True)
            self.development_key = development.development_key(folder)
            self.upstreams = development.upstream_databases(development.loom_config_path())

    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        """The products file is created when dbt connects: in the published format."""
        config["storage_compatibility_version"] = storage.STORAGE_VERSION

    @property
    def key(self) -> str:
        """Read at every connection: a warm worker runs many domains' builds, each with the
        key its own environment hands it (or none)."""
        return os.environ.get(ENV) or self.development_key

    def configure_connection(self, conn: Any) -> None:
        if self.development:
            development.attach_upstreams(conn, self.upstreams)
        if self.key:
            set_pii_key(conn, self.key)

    def configure_cursor(self, cursor: Any) -> None:
        """A cursor is a connection of its own: its session variables are set again."""
        if self.key:
            set_pii_key(cursor, self.key)

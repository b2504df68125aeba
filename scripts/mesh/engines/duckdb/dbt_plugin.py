"""The mesh's dbt-duckdb plugin (profiles.yml `plugins:`): hands a build's PII key to DuckDB
outside the SQL text.

dbt publishes compiled SQL with the manifest, so the key cannot be written into it. When the
build was handed the key (MESH_PII_KEY in the dbt worker's environment, set by the pipeline
for domains that own PII: `mesh.governance.pii_key`), every DuckDB connection and cursor
dbt opens gets HMAC's inner and outer keys as the session variables `mesh_pii_ipad` and
`mesh_pii_opad`, which `shared_macros.hash_pii` reads with `getvariable()`. Session
variables live in the connection only: they are never stored in a database file.
"""

from __future__ import annotations

import os
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from mesh.governance.pii_key import ENV, hmac_pads, parse


def set_pii_key(connection: Any, key_hex: str) -> None:
    """Set the session variables `hash_pii` reads on `connection` for the key `key_hex`."""
    inner, outer = hmac_pads(parse(key_hex, f"the environment variable {ENV}"))
    connection.execute("set variable mesh_pii_ipad = $1", [inner])
    connection.execute("set variable mesh_pii_opad = $1", [outer])


class Plugin(BasePlugin):
    def configure_connection(self, conn: Any) -> None:
        if os.environ.get(ENV):
            set_pii_key(conn, os.environ[ENV])

    def configure_cursor(self, cursor: Any) -> None:
        """A cursor is a connection of its own: its session variables are set again."""
        if os.environ.get(ENV):
            set_pii_key(cursor, os.environ[ENV])

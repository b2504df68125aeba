"""The self-serve platform of a Data Mesh built on dbt-core and DuckDB: the `mesh` command.

Its subpackages, the one build pipeline and the engines behind it: docs/architecture.md.
From Python, `mesh.connect()` reads the data products of one consistent snapshot of the mesh
(docs/analysis.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers see of `mesh.connect`
    from mesh.client import Connection, Result, connect

__all__ = ["Connection", "Result", "connect"]
__version__ = "0.2.0"


def __getattr__(name: str) -> Any:
    """`mesh.connect()`, the Python API for consumers (mesh.client), imported when first
    used: the command and dbt's workers, which import this package, do not need it."""
    if name in {"connect", "Connection", "Result"}:
        from mesh import client

        return getattr(client, name)
    raise AttributeError(f"module 'mesh' has no attribute {name!r}")

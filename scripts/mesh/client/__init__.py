"""The Python API for consumers: `mesh.connect()`, a guarded read-only connection on one
consistent snapshot of the mesh, for notebooks and scripts (docs/analysis.md).

May import: mesh.errors, mesh.ids, mesh.workspace, mesh.discovery, mesh.pipeline, mesh.engines.
"""

from mesh.client.connection import Connection, Result, connect

__all__ = ["Connection", "Result", "connect"]

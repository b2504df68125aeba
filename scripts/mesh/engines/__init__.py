"""Engines: where dbt runs and products live, behind the pipeline's `Engine` interface.

`duckdb` (the default: one DuckDB file per domain, published by a rename) and `spark`
(dbt-spark; a version schema per build, whose products readers register). Each engine is a
module that implements `mesh.pipeline.engine.Engine`; `get` maps a `--target` name to one.

May import: mesh.errors, mesh.ids, mesh.workspace, mesh.discovery, mesh.data, mesh.runner,
mesh.governance, mesh.pipeline.
"""

from __future__ import annotations

import importlib

from mesh.errors import MeshError
from mesh.pipeline.engine import Engine

# `--target` name -> the module whose `ENGINE` implements it (imported only when asked for).
ENGINES = {"duckdb": "mesh.engines.duckdb", "spark": "mesh.engines.spark"}


def get(name: str) -> Engine:
    """The engine of a `--target` name."""
    if name not in ENGINES:
        raise MeshError(f"Unknown engine {name!r}: choose one of {', '.join(ENGINES)}.")
    engine: Engine = importlib.import_module(ENGINES[name]).ENGINE
    return engine

"""Engines: where dbt runs and products live, behind the pipeline's `Engine` interface.

`duckdb` (the default: one DuckDB file per domain, published by a rename) and `spark`
(dbt-spark; a version schema per build, published views). Each engine module provides what
`mesh.pipeline.engine.Engine` asks for; `ENGINES` maps a `--target` name to one.

May import: mesh.errors, mesh.ids, mesh.workspace, mesh.discovery, mesh.data, mesh.runner,
mesh.governance, mesh.pipeline.
"""

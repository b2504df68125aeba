"""Runner: dbt, run in-process in worker processes.

Owns the worker pool (`workers`: one dbt invocation at a time per process, workers recycled)
and dbt's partial-parse cache between builds (`parse_cache`). Knows nothing of engines or
publishing: a task is dbt commands, an environment and a working directory.

May import: mesh.errors, mesh.ids, mesh.workspace, mesh.discovery.
"""

"""Discovery: what the mesh holds, read without changing anything.

Owns the domains and their dbt projects (`domains`), the order they build in (`graph`), dbt
manifests as typed objects (`manifest`, the only module that reads manifest JSON), what is
published and its records (`registry`, `products`), and model lineage (`lineage`).

May import: mesh.errors, mesh.ids, mesh.workspace.
"""

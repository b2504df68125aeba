"""Governance: the mesh-wide rules and the reports on them.

Owns the policies (`policies`), breaking-change and deprecation analysis (`contracts`),
consumers' expectations of their producers (`expectations`), ODCS data contracts (`odcs`),
`mesh check` (`check`) and `mesh lint` (`lint`). The pipeline calls these at the publish
gate; `mesh check` reports the same findings earlier.

May import: mesh.errors, mesh.ids, mesh.workspace, mesh.discovery, mesh.data, mesh.runner.
"""

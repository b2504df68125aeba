"""Pipeline: one build of a domain, written once for every engine.

plan -> lock -> unchanged? -> landing check -> run dbt -> publish gates -> publish -> clean up.
Owns the scheduler (`build`), what makes a domain unchanged (`fingerprint`), per-domain
locks (`locks`), publish folders, records, history and rollback (`publish`), and the
interface an engine implements (`engine`). It never imports an engine: the caller passes one.

May import: mesh.errors, mesh.ids, mesh.workspace, mesh.discovery, mesh.data, mesh.runner,
mesh.governance.
"""

"""Data: the operational exports the domains read, in the landing zone.

Owns writing simulated exports (`generate`), the landing contracts each export must meet
before dbt reads it (`landing`), and source freshness (`freshness`).

May import: mesh.errors, mesh.ids, mesh.workspace, mesh.discovery.
"""

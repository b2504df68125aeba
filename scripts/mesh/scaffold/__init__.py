"""Scaffold: files the platform writes into the repository.

Owns `mesh new-domain` (`domain`, from `templates/`) and the per-domain CI workflow
generated from the domain graph (`ci`).

May import: mesh.errors, mesh.ids, mesh.workspace, mesh.discovery.
"""

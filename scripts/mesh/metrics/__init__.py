"""The mesh's metrics (`mesh metrics`): the semantic models and metrics a domain declares over
data products, as its publish in a mesh snapshot holds them, queried by name and dimension.

May import: mesh.errors, mesh.ids, mesh.workspace, mesh.discovery.
"""

"""The mesh's dbt plugin: dbt's plugin manager imports every top-level module named `dbt_*`
and instantiates the classes in its `plugins` list, in every dbt command that reads a
project, before parsing. Nothing to configure; the logic is in `mesh.runner.loom_docs`."""

from mesh.runner.loom_docs import LoomDocs, explain_missing_manifests

explain_missing_manifests()
plugins = [LoomDocs]

"""The self-serve platform of a Data Mesh built on dbt-core and DuckDB: the `mesh` command.

Its subpackages, the one build pipeline and the engines behind it: docs/architecture.md.
"""

__version__ = "0.1.0"

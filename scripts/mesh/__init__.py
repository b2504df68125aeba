"""The self-serve platform of a Data Mesh built on dbt-core and DuckDB.

Each module does one job: `workspace` finds the mesh you stand in, `domains` reads the domain
dbt projects, `graph` orders them, `generate` writes landing data, `build` and `publish` turn a
domain into a published data product, `products` lists what is published and `query` reads it.
`cli` only parses arguments and prints.
"""

__version__ = "0.1.0"

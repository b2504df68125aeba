"""The DuckDB engine (the default): per domain publish, one DuckDB file of its products.

A build writes two databases in its staging folder: `<domain>.duckdb`, which holds the
domain's products (public models) and nothing else, and `<domain>__private.duckdb`, which
holds every other model (shared_macros' `duckdb__generate_database_name` routes them). The
products file has the same name as the published one, so dbt's database name never changes;
each upstream's published products file is attached read-only under the upstream's name.
Publishing checks that the products file holds exactly the domain's contracted public model
versions, writes each one's output ports (Parquet and its ODCS contract, `ports`), and moves
the products file into the publish folder and the private one into the publish's private
store: renames, no copy. `mesh query` attaches the products files of one mesh snapshot
read-only (`query`). While a domain's code is the one that built its current publish, its
incremental models continue from copies of that publish's two files and process only the
new exports.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import duckdb

from mesh.data.landing import literal_path
from mesh.discovery.manifest import Manifest, Node
from mesh.discovery.products import products_of
from mesh.discovery.registry import ProductStats
from mesh.discovery.snapshots import View
from mesh.engines.duckdb import ports, query, storage
from mesh.errors import MeshError, MissingPublishError, PublishedDatabaseLockedError
from mesh.governance import expectations
from mesh.governance.expectations import Query, string_literal
from mesh.pipeline.engine import (
    UPSTREAMS,
    Candidate,
    Engine,
    Job,
    PublishedParts,
    QueryLimits,
    QueryResult,
    Upstream,
)
from mesh.pipeline.fingerprint import only_appended
from mesh.runner.dbt import PRODUCTION, base_env
from mesh.workspace import Mesh

# What every DuckDB of a build may use together; each of the `jobs` domain builds running
# at once gets its share. Leaves room for the Python processes within 4 GB.
DUCKDB_MEMORY_BUDGET_MB = 3072


def duckdb_threads() -> int:
    """DuckDB threads per domain build: every core. Domains built side by side share them;
    one building alone (the end of a dependency chain) gets the whole machine."""
    return os.cpu_count() or 1


def duckdb_memory_limit(jobs: int) -> str:
    """DuckDB memory limit per domain build: MESH_MEMORY_LIMIT, or a share of the budget."""
    return os.environ.get("MESH_MEMORY_LIMIT") or f"{DUCKDB_MEMORY_BUDGET_MB // max(1, jobs)}MB"


class DuckDB(Engine):
    name = "duckdb"
    # Each build's child imported it when dbt connected: 0.16 CPU-s per domain build.
    worker_modules = ("mesh.engines.duckdb.dbt_plugin",)

    def check_upstream(self, mesh: Mesh, consumer: str, upstream: Upstream) -> None:
        """Its published database is there and readable: no process holds it for writing."""
        database = upstream.folder / f"{upstream.name}.duckdb"
        if not database.is_file():
            raise MissingPublishError(
                f"{consumer} consumes {upstream.name}, whose publish {upstream.folder.name} has "
                f"no database; run `mesh build {upstream.name}` first."
            )
        try:
            duckdb.connect(str(database), read_only=True).close()
        except duckdb.Error as error:
            raise PublishedDatabaseLockedError(
                f"{consumer} cannot read {upstream.name}'s published database {database}: "
                f"{error}. Close the program holding it and run again."
            ) from error

    def env(self, job: Job) -> dict[str, str]:
        """Database paths are relative to the staging folder, where the pipeline links each
        upstream's publish: the rendered profile is then the same in every build of the
        domain, so dbt can parse partially (a changed profile makes dbt parse every file)."""
        attach = [
            {"path": f"{private_name(job.name)}.duckdb", "alias": private_name(job.name)},
            *[
                {"path": f"{UPSTREAMS}/{name}/current/{name}.duckdb", "alias": name,
                 "read_only": True}
                for name in sorted(job.upstreams)
            ],
        ]  # fmt: skip
        return {
            **base_env(job.mesh, job.domain, PRODUCTION),
            "MESH_DB_PATH": f"{job.name}.duckdb",
            "MESH_ATTACH": json.dumps(attach),
            "MESH_DUCKDB_THREADS": str(duckdb_threads()),
            "MESH_MEMORY_LIMIT": duckdb_memory_limit(job.jobs),
            "MESH_LOADED_THROUGH": self._continue_incremental(job) or "",
        }

    def _continue_incremental(self, job: Job) -> str | None:
        """Start the build from a copy of the current publish, so that its incremental
        models process only the new exports; returns the newest export instant they hold
        (MESH_LOADED_THROUGH, see shared_macros.only_new_exports). Only while the code is
        the one that built the publish and the exports it read are all still there,
        unchanged: otherwise every model is built again from all the landing data."""
        current, name = job.current, job.name
        if job.full or not current or current.code_fingerprint != job.code_fingerprint:
            return None
        if not current.incremental_models:
            return None
        since = f"since publish {current.publish_id}"
        if not only_appended(current.landing, job.landing):
            job.notice(
                f"{name}: landing exports were replaced or removed {since}: "
                "every model is rebuilt from all of them"
            )
            return None
        if current.upstreams != job.upstream_ids:
            # Rows computed from an upstream's earlier publish may no longer be what it
            # says now; recomputing only the keys new exports touched would keep them.
            job.notice(
                f"{name}: an upstream published a new version {since}: every model is rebuilt"
            )
            return None
        products = job.mesh.published / name / current.publish_id / f"{name}.duckdb"
        private = job.mesh.private / name / current.publish_id / f"{private_name(name)}.duckdb"
        if not private.is_file():
            job.notice(f"{name}: publish {current.publish_id} kept no private store to continue "
                       "from: every model is rebuilt")  # fmt: skip
            return None
        if (found := storage.storage_version(products)) != storage.FILE_FORMAT:
            job.notice(
                f"{name}: publish {current.publish_id} is in DuckDB's storage format {found}, "
                f"not {storage.FILE_FORMAT}: every model is rebuilt"
            )
            return None
        copies = [job.staging / products.name, job.staging / private.name]
        shutil.copyfile(products, copies[0])
        shutil.copyfile(private, copies[1])
        loaded_through = newest_export_loaded(copies[0], copies[1], current.incremental_models)
        new_files = [job.mesh.root / path for path in job.landing if path not in current.landing]
        if loaded_through is None or not all_exported_after(new_files, loaded_through):
            for copy in copies:
                copy.unlink()
            job.notice(
                f"{name}: a new export is not newer than what publish {current.publish_id} "
                "loaded, or has rows without exported_at: every model is rebuilt"
            )
            return None
        models = ", ".join(current.incremental_models)
        job.notice(f"{name}: incremental: {models} continue from publish {current.publish_id}")
        return loaded_through

    def relation(self, job: Job, relation: str, of: Upstream | None = None) -> str:
        return f'"{_alias(job, of)}".main."{relation}"'

    def run_checks(self, job: Job, queries: list[Query]) -> list[str]:
        """On the products files: the candidate's, its upstreams' and its current publish's,
        each attached read-only under the alias `relation` names."""
        databases = {_alias(job, up): up.folder / f"{up.name}.duckdb" for up in _read(job)}
        candidate = job.staging / f"{job.name}.duckdb"
        if candidate.exists():
            databases[job.name] = candidate
        return expectations.verify(databases, queries)

    def publish(
        self, job: Job, candidate: Candidate, folder: Path, private: Path, published_at: str
    ) -> PublishedParts:
        """Check the products file, write the output ports, then move the products file into
        the publish folder and the private database into the private store."""
        products = job.staging / f"{job.name}.duckdb"
        internals = job.staging / f"{private_name(job.name)}.duckdb"
        for database in (products, internals):
            if not database.exists():
                raise MeshError(f"Cannot publish {job.name}: the build left no {database}.")
            if database.with_suffix(".duckdb.wal").exists():
                raise MeshError(
                    f"Cannot publish {job.name}: {database} still has a write-ahead log, so a "
                    "process may still be writing it. Rebuild the domain."
                )
        retire(products, candidate.retired)
        # One connection for the checks and the ports: opening the file costs 15-20 ms.
        with duckdb.connect(str(products), read_only=True) as con:
            storage.check(job.name, products, con)
            check_products(job.name, con, candidate.products(job.name))
            stats = product_stats(job.name, con, candidate.manifest, candidate.retired)
            exported = ports.export(
                job.name, con, candidate.manifest, folder, published_at, candidate.retired,
                upstreams={name: up.folder.name for name, up in job.upstreams.items()},
            )  # fmt: skip
        products.replace(folder / products.name)
        internals.replace(private / internals.name)
        return PublishedParts(
            products=stats,
            output_ports={
                f"{port.product}.v{port.version}": str(port.parquet) for port in exported
            },
        )

    def query(self, view: View, sql: str, limits: QueryLimits | None = None) -> QueryResult:
        return query.run(view, sql, limits)


ENGINE = DuckDB()


def _read(job: Job) -> list[Upstream]:
    """The publishes a build reads: its upstreams' and its own current one."""
    current = job.current_publish
    return [*job.upstreams.values(), *([current] if current else [])]


def _alias(job: Job, of: Upstream | None) -> str:
    """Where the gates find a products file: the candidate under the domain's name, an
    upstream's under its name, the domain's current publish as `<domain>__current`."""
    if of is None:
        return job.name
    return f"{of.name}__current" if of.name == job.name else of.name


def private_name(domain: str) -> str:
    """The database of a domain's models that are not products (see the module docstring)."""
    return f"{domain}__private"


def retire(database: Path, relations: tuple[str, ...]) -> None:
    """Drop the product versions past their deprecation date from the products file."""
    if relations:
        with duckdb.connect(str(database)) as con:
            for relation in relations:
                con.execute(f'drop table if exists main."{relation}"')
            con.execute("checkpoint")


def check_products(domain: str, con: duckdb.DuckDBPyConnection, public: list[Node]) -> None:
    """Raise a MeshError unless the products file `con` opened holds exactly the relations of
    `public`, the domain's public model versions to publish, each a table under an enforced
    contract, and nothing else a reader could query (views, macros, types, sequences,
    comments other than the products' descriptions): nothing a consumer must not read is
    ever published."""
    uncontracted = sorted(node.label for node in public if not node.contract_enforced)
    if uncontracted:
        raise MeshError(
            f"Cannot publish {domain}: public model {', '.join(uncontracted)} has no enforced "
            "contract; a product needs one (config: contract: enforced: true)."
        )
    expected = {(node.relation_schema or "main", node.relation_name): node for node in public}
    [database] = con.execute("select current_database()").fetchone() or ("",)

    def names(sql: str) -> set[tuple[str, str]]:
        rows = con.execute(sql, [database]).fetchall()
        return {(str(schema), str(name)) for schema, name in rows}

    tables = names("select schema_name, table_name from duckdb_tables() where database_name = ?")
    others = {
        (kind, f"{schema}.{name}")
        for kind, sql in [
            ("view", "select schema_name, view_name from duckdb_views() where not internal"),
            ("macro", "select schema_name, function_name from duckdb_functions() "
                      "where not internal"),
            ("type", "select schema_name, type_name from duckdb_types() where not internal"),
            ("sequence", "select schema_name, sequence_name from duckdb_sequences() "
                         "where true"),
        ]
        for schema, name in names(f"{sql} and database_name = ?")
    }  # fmt: skip
    comments = con.execute(
        "select schema_name, table_name, comment from duckdb_tables() "
        "where database_name = ? and comment is not null",
        [database],
    ).fetchall()
    others |= {("table", f"{schema}.{name}") for schema, name in tables - set(expected)}
    others |= {
        ("comment on", f"{schema}.{name}")
        for schema, name, comment in comments
        if (node := expected.get((schema, name))) is None or comment != node.description
    }
    missing = sorted(f"{schema}.{name}" for schema, name in set(expected) - tables)
    if others or missing:
        found = ", ".join(f"{kind} {name}" for kind, name in sorted(others))
        raise MeshError(
            f"Cannot publish {domain}: its products database must hold exactly its public "
            f"model versions, as tables; it also holds {found or 'nothing else'} and lacks "
            f"{', '.join(missing) or 'none of them'} (a product must be a table). Build "
            f"nothing but products into database {domain}."
        )


def product_stats(
    domain: str, con: duckdb.DuckDBPyConnection, manifest: Manifest, omit: tuple[str, ...] = ()
) -> list[ProductStats]:
    """Row count and an order-independent content checksum of every product version (but
    those `omit` names) in the products file `con` opened."""
    stats = []
    for product in products_of(domain, manifest, published_at=None, omit=omit):
        rows, checksum = con.execute(
            f"select count(*), coalesce(sum(hash(product)), 0)::varchar "
            f"from {product.relation} as product"
        ).fetchone() or (0, "0")
        stats.append(
            ProductStats(
                name=product.name,
                version=product.version,
                relation=product.relation,
                rows=rows,
                checksum=f"{int(checksum) % (1 << 64):016x}",
            )
        )
    return stats


def newest_export_loaded(products: Path, internals: Path, models: list[str]) -> str | None:
    """The newest `exported_at` every incremental model of a domain's two databases holds
    (the oldest of their newest: rows after it are new to all of them), or None if unknown."""
    with duckdb.connect(str(products), read_only=True) as con:
        con.execute(f'attach {string_literal(str(internals))} as "{internals.stem}" (read_only)')
        where = dict(  # table -> the database holding it
            con.execute(
                "select table_name, database_name from duckdb_columns() "
                "where schema_name = 'main' and column_name = 'exported_at'"
            ).fetchall()
        )
        newest: list[Any] = [
            (con.execute(f'select max(exported_at) from "{where[model]}".main."{model}"')
             .fetchone() or [None])[0]
            for model in models
            if model in where
        ]  # fmt: skip
    if not newest or None in newest:
        return None
    return str(min(newest))


def all_exported_after(files: list[Path], instant: str) -> bool:
    """Whether every row of these export files was exported after `instant`: otherwise an
    incremental build, which reads only rows after it, would miss some (a late backfill,
    a row without exported_at)."""
    if not files:
        return True
    with duckdb.connect() as con:
        try:
            row = con.execute(
                "select min(exported_at) > ?::timestamp, count(*) = count(exported_at) "
                "from read_parquet(?, union_by_name = true)",
                [instant, [literal_path(path) for path in files]],
            ).fetchone()
        except duckdb.Error:
            return False  # unreadable: the full build reports it with the landing contracts
    return bool(row and row[0] and row[1])

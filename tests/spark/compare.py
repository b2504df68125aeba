"""What the Spark suite compares: a domain's tables as a Spark build wrote them against the
same domain's DuckDB build of the same landing data, in one mesh."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb


def record(root: Path, domain: str) -> dict[str, object]:
    """The domain's current Spark publish record."""
    path = root / "warehouse" / "spark" / "published" / domain / "current" / "publish.json"
    found: dict[str, object] = json.loads(path.read_text())
    return found


def contracted(root: Path, domain: str) -> set[str]:
    """Relation names of the domain's models with an enforced contract (Spark's manifest)."""
    path = root / "warehouse" / "spark" / "published" / domain / "current" / "manifest.json"
    nodes = json.loads(path.read_text())["nodes"].values()
    return {
        node["alias"]
        for node in nodes
        if node["resource_type"] == "model"
        and node["package_name"] == domain
        and node["config"]["contract"]["enforced"]
    }


def tables(root: Path, schema: str) -> list[Path]:
    """The tables (not views) of one Spark version schema: folders of Parquet files, in the
    mesh's table folder whichever Spark wrote them."""
    folder = root / "warehouse" / "spark" / "tables" / f"{schema}.db"
    return sorted(path for path in folder.iterdir() if path.is_dir())


def assert_equal_to_duckdb(root: Path, domain: str) -> None:
    """Every table the domain's current Spark publish wrote has the DuckDB build's columns
    and rows (compared as multisets, both ways), and contracted ones its column types too
    (the types of internal models are each engine's own: a sum of bigints is a hugeint in
    DuckDB)."""
    found = tables(root, str(record(root, domain)["schema"]))
    enforced = contracted(root, domain)
    assert enforced, f"{domain} has no contracted tables"
    assert found, f"{domain} wrote no tables on Spark"
    # The DuckDB build's every model: its current publish's products file and private store,
    # attached under their own names (the private store's views name them).
    publish = (root / "warehouse" / "published" / domain / "current").resolve().name
    con = duckdb.connect()
    for name, database in [
        (domain, root / "warehouse" / "published" / domain / publish / f"{domain}.duckdb"),
        (
            f"{domain}__private",
            root / "warehouse" / "private" / domain / publish / f"{domain}__private.duckdb",
        ),
    ]:
        con.execute(f"attach '{database}' as {name} (read_only)")
    where = dict(
        con.execute(
            "select table_name, database_name from duckdb_tables() "
            "union all select view_name, database_name from duckdb_views() where not internal"
        ).fetchall()
    )
    for table in found:
        spark = f"read_parquet('{table}/*.parquet')"
        duck = f"{where[table.name]}.main.{table.name}"
        shape = "select column_name, column_type from (describe select * from {})"
        if table.name not in enforced:
            shape = "select column_name from (describe select * from {})"
        assert (
            con.execute(shape.format(spark)).fetchall()
            == con.execute(shape.format(duck)).fetchall()
        ), f"{domain}.{table.name}: columns differ"
        for left, right in ((spark, duck), (duck, spark)):
            extra = con.execute(
                f"select count(*) from (select * from {left} except all select * from {right})"
            ).fetchone()
            assert extra == (0,), f"{domain}.{table.name}: rows differ"
        (rows,) = con.execute(f"select count(*) from {duck}").fetchone() or (0,)
        assert rows > 0 or table.name.startswith("stg_"), f"{domain}.{table.name} is empty"
    con.close()

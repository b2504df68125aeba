"""Outside tools accept what the mesh publishes, unedited: datacontract-cli tests every
contract against both of its servers, and the oldest DuckDB the mesh supports opens every
published products file. Each tool runs from its own pinned environment (make outside-tools).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from mesh.engines.duckdb import storage
from mesh.governance import odcs
from tests import needs
from tests.integration.conftest import REPO, Run, mesh

pytestmark = pytest.mark.integration

OUTSIDE = REPO / "tests" / "outside"
DATACONTRACT = REPO / ".ci" / "datacontract" / ".venv" / "bin"
DUCKDB1 = REPO / ".ci" / "duckdb1" / ".venv" / "bin" / "python"
# The one check datacontract-cli cannot run on a Parquet file: it reads the file into the
# contract's types, so it checks the types on the DuckDB server only.
PARQUET_TYPES = "Checking types in parquet files is not supported yet."


def _tool(path: Path, what: str) -> Path:
    if not path.exists():
        needs.missing(f"{what} is not installed: run `make outside-tools`")
    return path


def _contracts(root: Path) -> list[Path]:
    """The contract of every product version of the current mesh snapshot."""
    products = mesh(root, "products", "--format", "json").json()
    return sorted(Path(product["contract"]) for product in products)


def _datacontract(*pairs: tuple[Path, str]) -> list[dict[str, Any]]:
    python = _tool(DATACONTRACT / "python", "datacontract-cli")
    arguments = [str(item) for pair in pairs for item in pair]
    done = subprocess.run(
        [str(python), str(OUTSIDE / "run_datacontract.py"), *arguments],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def _stated_checks(contract: dict[str, Any]) -> tuple[int, int]:
    """The checks a contract states (each column present, of its type, not missing where
    required, unique where unique, a primary key of several columns unique, and each quality
    rule) and how many are quality rules."""
    [table] = contract["schema"]
    rules = len(table.get("quality", []))
    schema = int(sum(bool(column.get("primaryKey")) for column in table["properties"]) > 1)
    for column in table["properties"]:
        schema += 2 + bool(column.get("required")) + bool(column.get("unique"))
        rules += len(column.get("quality", []))
    return schema + rules, rules


def test_datacontract_cli_passes_every_contract_on_both_servers(
    built_mesh: tuple[Path, Run],
) -> None:
    contracts = _contracts(built_mesh[0])
    assert len(contracts) >= 8
    runs = _datacontract(*[(c, server) for c in contracts for server in ("mesh", "parquet")])
    assert len(runs) == 2 * len(contracts)
    for contract in contracts:
        document = yaml.safe_load(contract.read_text())
        stated, rules = _stated_checks(document)
        on = {run["server"]: run for run in runs if run["contract"] == str(contract)}
        database, parquet = on["mesh"], on["parquet"]
        label = f"{document['id']} on its DuckDB server"
        assert database["result"] == "passed", (label, database)
        assert all(check["result"] == "passed" for check in database["checks"]), label
        # Every check the contract states ran: none dropped, none the tool could not run.
        assert len(database["checks"]) == stated, (label, stated, database["checks"])
        quality = [check for check in database["checks"] if check["category"] == "quality"]
        assert len(quality) == rules > 0, label
        # The Parquet port: the same checks, all passed but the types the tool cannot read.
        label = f"{document['id']} on its Parquet port"
        assert [c["name"] for c in parquet["checks"]] == [c["name"] for c in database["checks"]]
        for check in parquet["checks"]:
            if check["result"] != "passed":
                assert (check["result"], check["reason"]) == ("warning", PARQUET_TYPES), label
                assert " has type " in check["name"], label
        assert parquet["result"] in {"passed", "warning"}, label


def test_the_datacontract_command_passes_a_contract_from_its_folder(
    built_mesh: tuple[Path, Run],
) -> None:
    """The command a consumer types, as the contract's usage says, on both servers."""
    datacontract = _tool(DATACONTRACT / "datacontract", "datacontract-cli")
    folder = built_mesh[0] / "warehouse/published/orders/current/products/order_lines/v1"
    for server in ("mesh", "parquet"):
        done = subprocess.run(
            [str(datacontract), "test", "contract.odcs.yaml", "--server", server],
            cwd=folder, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:]
        assert "Data contract is invalid" not in done.stdout


def test_datacontract_cli_fails_a_publish_that_breaks_its_contract(
    built_mesh: tuple[Path, Run], tmp_path: Path
) -> None:
    """The same rules catch bad data: an order line of an order that does not exist, and a
    quantity below 1, in a copy of the publish (DuckDB file and Parquet port alike)."""
    published = (built_mesh[0] / "warehouse/published/orders/current").resolve()
    copy = tmp_path / "orders" / published.name
    shutil.copytree(published, copy)
    for path in copy.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    folder = copy / "products/order_lines/v1"
    bad = (
        "(select * replace (999999999 as order_id) from order_lines_v1 limit 1) union all "
        "(select * replace (0 as quantity) from order_lines_v1 limit 1)"
    )
    with duckdb.connect(str(copy / "orders.duckdb")) as con:
        rows = con.execute(f"select count(*) from ({bad})").fetchone()
        assert rows == (2,)
        con.execute(f"insert into order_lines_v1 {bad}")
        con.execute(
            f"copy order_lines_v1 to '{folder / 'order_lines_v1.parquet'}' (format parquet)"
        )
    assert storage.storage_version(copy / "orders.duckdb") == storage.FILE_FORMAT

    for run in _datacontract(*[(folder / "contract.odcs.yaml", s) for s in ("mesh", "parquet")]):
        failed = {check["name"] for check in run["checks"] if check["result"] == "failed"}
        assert run["result"] == "failed", run["server"]
        assert any(name.startswith("Every order_id is a order_id of") for name in failed), failed
        assert "quantity >= 1 wherever quantity is not null." in failed, failed


def test_the_oldest_supported_duckdb_reads_every_published_file(
    built_mesh: tuple[Path, Run],
) -> None:
    python = _tool(DUCKDB1, f"DuckDB {storage.OLDEST_READER}")
    files = sorted((built_mesh[0] / "warehouse/published").glob("*/current/*.duckdb"))
    assert len(files) == 5
    done = subprocess.run(
        [str(python), str(OUTSIDE / "read_with_duckdb.py"), *map(str, files)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    readings = [json.loads(line) for line in done.stdout.splitlines()]
    assert [reading["duckdb"] for reading in readings] == [storage.OLDEST_READER] * len(files)
    for path, reading in zip(files, readings, strict=True):
        assert storage.storage_version(path) == storage.FILE_FORMAT, path
        with duckdb.connect(str(path), read_only=True) as con:
            names = [row[0] for row in con.execute("show tables").fetchall()]
            assert sorted(reading["tables"]) == sorted(names) != [], path
            for name in names:
                rows = con.execute(f'select * from "{name}"').fetchall()
                expected = sorted([str(value) for value in row] for row in rows)
                assert reading["tables"][name] == expected, (path, name)


def _publish_like(folder: Path, contract: dict[str, Any], rows: list[tuple[Any, ...]]) -> Path:
    """A publish folder as the mesh lays it out, holding `rows` of the contract's table in
    its DuckDB file and its Parquet port; returns the contract's path."""
    [table] = contract["schema"]
    columns = ", ".join(f'"{p["name"]}" {p["physicalType"]}' for p in table["properties"])
    port = folder / "products" / contract["dataProduct"] / "v1"
    port.mkdir(parents=True)
    compatible = {"storage_compatibility_version": storage.STORAGE_VERSION}
    with duckdb.connect(str(folder / f"{contract['domain']}.duckdb"), config=compatible) as con:
        con.execute(f"create table {table['physicalName']} ({columns})")
        marks = ", ".join("?" for _ in table["properties"])
        con.executemany(f"insert into {table['physicalName']} values ({marks})", rows)
        con.execute(f"copy {table['physicalName']} to '{port / (table['name'] + '.parquet')}'")
    (port / "contract.odcs.yaml").write_text(odcs.to_yaml(contract))
    return port / "contract.odcs.yaml"


def test_datacontract_cli_gives_dbts_verdict_on_a_where_and_on_null_keys(tmp_path: Path) -> None:
    """Rules the built mesh does not have: a range limited by a `where`, and a combination
    of columns with nulls in it, which the shared macro groups as a value. Whatever the tool
    says must be what the dbt test says, computed here with the tests' own SQL."""
    from tests.unit.test_odcs import SALES, Raw, manifest

    def change(m: Raw) -> None:
        for node in m["nodes"].values():
            test = node.get("test_metadata") or {}
            if test.get("name") == "accepted_range" and node["column_name"] == "revenue_usd":
                node["config"]["where"] = "order_count > 0"
            if test.get("name") == "unique_combination":
                test["kwargs"]["columns"] = ["department", "category_name"]

    contract = odcs.contract("analytics", manifest("analytics", change), SALES)
    # region, category, department, orders, customers, items, revenue, delivered, on time, rate
    fine = [
        ("Europe", "Books", "Media", 3, 2, 5, 120.5, 2, 1, 0.5),
        ("Asia", "Books", "Media", 0, 0, 0, -4.0, 0, 0, 0.0),  # out of range, but where
    ]
    nulls = [
        ("Africa", "Toys", None, 1, 1, 1, 10.0, 1, 1, 1.0),
        ("Oceania", "Toys", None, 1, 1, 1, 10.0, 1, 1, 1.0),  # (null, Toys) twice
    ]
    dbt_sql = {  # the failing rows as dbt's tests select them (shared_macros/generic_tests)
        "accepted_range": "select * from (select * from t where order_count > 0) "
        "where revenue_usd is not null and not (1 = 1 and revenue_usd >= 0)",
        "unique_combination": "select department, category_name, count(*) from t "
        "group by department, category_name having count(*) > 1",
    }
    for case, rows in (("fine", fine), ("nulls", fine + nulls)):
        with duckdb.connect() as con:
            con.execute("create table t (region varchar, category_name varchar, "
                        "department varchar, order_count bigint, x bigint, y bigint, "
                        "revenue_usd double, d bigint, o bigint, r double)")  # fmt: skip
            con.executemany(f"insert into t values ({', '.join('?' * 10)})", rows)
            dbt_fails = {name for name, sql in dbt_sql.items() if con.execute(sql).fetchall()}
        path = _publish_like(tmp_path / case / "published", contract, rows)
        for run in _datacontract((path, "mesh"), (path, "parquet")):
            failed = {c["name"] for c in run["checks"] if c["result"] == "failed"}
            assert run["result"] == ("failed" if dbt_fails else "passed"), (case, run)
            unique = "The combination of department, category_name is unique."
            expected = {unique} if "unique_combination" in dbt_fails else set()
            assert failed == expected, (case, run["server"], failed)
    assert case == "nulls" and dbt_fails == {"unique_combination"}

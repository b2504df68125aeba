"""Read-only SQL over published products: reads work, everything else is refused."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from mesh.errors import MeshError, QueryError
from mesh.query import read_sql, run
from mesh.workspace import Mesh
from tests.unit.conftest import add_domain, make_mesh, publish_database

ORDERS = """
    create table orders_v2 as
    select * from (values
        (1, 101, 10.50::decimal(10, 2), date '2026-06-01'),
        (2, 102, 20.00::decimal(10, 2), date '2026-06-02'),
        (3, 101, 5.25::decimal(10, 2), date '2026-06-03')
    ) as t(order_id, customer_id, amount, ordered_on)
"""
CUSTOMERS = """
    create table customers_v1 as
    select * from (values (101, 'Europe'), (102, 'Asia Pacific')) as t(customer_id, region)
"""


@pytest.fixture
def shop(tmp_path: Path) -> Mesh:
    """Two published domains (orders, customers) and one never published (catalog)."""
    mesh = make_mesh(tmp_path / "shop")
    for name in ("orders", "customers", "catalog"):
        add_domain(mesh, name)
    publish_database(mesh, "orders", "20260601T000000000000Z-aaaaaa", ORDERS)
    publish_database(mesh, "customers", "20260601T000000000000Z-bbbbbb", CUSTOMERS)
    return Mesh.find(mesh.root / "domains" / "orders")


def published_row_count(mesh: Mesh) -> int:
    con = duckdb.connect(str(mesh.published_database("orders")), read_only=True)
    try:
        row = con.execute("select count(*) from orders_v2").fetchone()
    finally:
        con.close()
    assert row is not None
    return int(row[0])


def test_select_returns_columns_types_and_rows(shop: Mesh) -> None:
    result = run(shop, "select order_id, amount, ordered_on from orders.main.orders_v2 order by 1")

    assert result.columns == ["order_id", "amount", "ordered_on"]
    assert result.types == ["INTEGER", "DECIMAL(10,2)", "DATE"]
    assert result.rows == [
        (1, Decimal("10.50"), dt.date(2026, 6, 1)),
        (2, Decimal("20.00"), dt.date(2026, 6, 2)),
        (3, Decimal("5.25"), dt.date(2026, 6, 3)),
    ]


def test_a_query_joins_products_of_different_domains(shop: Mesh) -> None:
    result = run(
        shop,
        """
        select customers.region, sum(orders.amount) as revenue
        from orders.main.orders_v2 as orders
        inner join customers.main.customers_v1 as customers using (customer_id)
        group by all
        order by customers.region
        """,
    )

    assert result.rows == [("Asia Pacific", Decimal("20.00")), ("Europe", Decimal("15.75"))]


def test_a_query_reads_the_publish_current_points_at(shop: Mesh) -> None:
    publish_database(
        shop, "orders", "20260602T000000000000Z-cccccc", "create table orders_v2 as select 42 as x"
    )

    assert run(shop, "select * from orders.main.orders_v2").rows == [(42,)]


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("select * from read_csv('/etc/passwd')", id="read-file"),
        pytest.param("select * from read_text('/etc/hostname')", id="read-text"),
        pytest.param("select * from glob('/etc/*')", id="glob"),
        pytest.param("attach '{tmp}/other.duckdb' as other", id="attach"),
        pytest.param("set threads = 1", id="set-threads"),
        pytest.param("set enable_external_access = true", id="enable-external-access"),
        pytest.param("set lock_configuration = false", id="unlock-configuration"),
        pytest.param("copy (select 1) to '{tmp}/out.csv'", id="copy-to"),
        pytest.param("export database '{tmp}/exported'", id="export-database"),
        pytest.param("create table orders.main.x as select 1", id="create-in-published"),
        pytest.param("insert into orders.main.orders_v2 values (4, 101, 1, null)", id="insert"),
        pytest.param("delete from orders.main.orders_v2", id="delete"),
        pytest.param("drop table orders.main.orders_v2", id="drop"),
        pytest.param("load httpfs", id="load-extension"),
    ],
)
def test_anything_but_reading_products_is_refused(shop: Mesh, tmp_path: Path, sql: str) -> None:
    with pytest.raises(QueryError, match=r"^Query failed: "):
        run(shop, sql.format(tmp=tmp_path))

    assert not (tmp_path / "out.csv").exists()
    assert not (tmp_path / "other.duckdb").exists()
    assert not (tmp_path / "exported").exists()
    assert published_row_count(shop) == 3


def test_a_syntax_error_is_a_query_error(shop: Mesh) -> None:
    with pytest.raises(QueryError, match="syntax error"):
        run(shop, "selec 1")


def test_an_unknown_table_is_a_query_error(shop: Mesh) -> None:
    with pytest.raises(QueryError, match="orders_v9"):
        run(shop, "select * from orders.main.orders_v9")


def test_an_unpublished_domain_is_not_attached(shop: Mesh) -> None:
    result = run(shop, "select database_name from duckdb_databases() where not internal order by 1")

    assert [row[0] for row in result.rows] == ["customers", "memory", "orders"]


def test_with_no_published_domain_run_says_to_build_first(fake_mesh: Mesh) -> None:
    add_domain(fake_mesh, "orders")

    with pytest.raises(MeshError, match=r"No domain has been published yet; run `mesh build`"):
        run(fake_mesh, "select 1")


def test_read_sql_returns_inline_sql() -> None:
    assert read_sql("select 1", None) == "select 1"


def test_read_sql_reads_a_query_file(tmp_path: Path) -> None:
    saved = tmp_path / "revenue.sql"
    saved.write_text("select 42 as answer\n")

    assert read_sql(None, saved) == "select 42 as answer\n"


@pytest.mark.parametrize("given", ["both", "neither"])
def test_read_sql_wants_exactly_one_of_sql_and_file(tmp_path: Path, given: str) -> None:
    saved = tmp_path / "q.sql"
    saved.write_text("select 1")
    sql, file = ("select 2", saved) if given == "both" else (None, None)

    with pytest.raises(MeshError, match="not both or neither"):
        read_sql(sql, file)


def test_read_sql_with_a_missing_file_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.sql"

    with pytest.raises(MeshError, match=re.escape(f"No query file at {missing}")):
        read_sql(None, missing)

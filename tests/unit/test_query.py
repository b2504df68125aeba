"""Read-only SQL over published products: reads work, everything else is refused."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

import mesh
from mesh.discovery.domains import discover
from mesh.discovery.snapshots import view
from mesh.engines.duckdb import query
from mesh.engines.duckdb.query import read_sql
from mesh.errors import MeshError, QueryError, QueryRefusedError
from mesh.pipeline.engine import QueryResult
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


def run(mesh: Mesh, sql: str) -> QueryResult:
    """What `mesh query` runs: `sql` over the mesh's current snapshot."""
    return query.run(view(mesh, sorted(discover(mesh))), sql)


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


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """Real files next to the mesh that a query must not reach: CSV, Parquet, text, DuckDB."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.csv").write_text("password\nhunter2\n")
    con = duckdb.connect(str(folder / "other.duckdb"))
    try:
        con.execute("create table secrets as select 'hunter2' as password")
        con.execute(f"copy secrets to '{folder}/secret.parquet' (format parquet)")
    finally:
        con.close()
    return folder


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


READ_ONLY = r"^mesh query is read-only: it refused "
FILE = "to reach outside the published products"
WRITE = "which would write data"
SETTING = "which would change a setting"

# Each case: the SQL ({dir} is a folder of real files beside the mesh) and what the error names.
REFUSED = [
    # reading files
    pytest.param("select * from read_csv('{dir}/secret.csv')", FILE, id="read_csv"),
    pytest.param("select * from read_parquet('{dir}/secret.parquet')", FILE, id="read_parquet"),
    pytest.param("select * from read_text('{dir}/secret.csv')", FILE, id="read_text"),
    pytest.param("select * from read_blob('{dir}/secret.csv')", FILE, id="read_blob"),
    pytest.param("select * from glob('{dir}/*')", FILE, id="glob"),
    pytest.param("select * from '{dir}/secret.csv'", FILE, id="file-as-table"),
    pytest.param("select * from read_text('/etc/passwd')", FILE, id="system-file"),
    pytest.param(
        "copy orders.main.orders_v2 from '{dir}/secret.csv'",
        "a COPY statement, which would read or write files",
        id="copy-from",
    ),
    # writing files
    pytest.param("copy (select 1) to '{dir}/out.csv'", "a COPY statement", id="copy-to"),
    pytest.param(
        "copy orders.main.orders_v2 to '{dir}/out.parquet' (format parquet)",
        "a COPY statement",
        id="copy-product-to-parquet",
    ),
    pytest.param("export database '{dir}/exported'", "an EXPORT statement", id="export-database"),
    # attaching databases
    pytest.param("attach '{dir}/other.duckdb' as other", "an ATTACH statement", id="attach-file"),
    pytest.param("attach '{dir}/new.duckdb' as new", "an ATTACH statement", id="attach-new-file"),
    pytest.param("attach ':memory:' as scratch", "an ATTACH statement", id="attach-memory"),
    pytest.param("detach orders", "a DETACH statement", id="detach"),
    pytest.param(
        "select 1; attach ':memory:' as scratch", "an ATTACH statement", id="attach-after-select"
    ),
    # changing settings and extensions
    pytest.param("set threads = 1", f"a SET statement, {SETTING}", id="set"),
    pytest.param("set enable_external_access = true", "a SET statement", id="set-external-access"),
    pytest.param("set lock_configuration = false", "a SET statement", id="unlock-configuration"),
    pytest.param("reset memory_limit", f"a RESET statement, {SETTING}", id="reset"),
    pytest.param("pragma threads = 1", f"a PRAGMA statement, {SETTING}", id="pragma-set"),
    pytest.param("pragma enable_profiling", "a PRAGMA statement", id="pragma-profiling"),
    pytest.param("install httpfs", "an INSTALL statement", id="install"),
    pytest.param("load httpfs", "a LOAD statement", id="load"),
    pytest.param("load json", "a LOAD statement", id="load-built-in"),
    pytest.param("update extensions", "an UPDATE statement", id="update-extensions"),
    # secrets
    pytest.param(
        "create secret s3 (type s3, key_id 'id', secret 'key')",
        "a CREATE SECRET statement, which would create a secret",
        id="create-secret",
    ),
    pytest.param(
        "create persistent secret s3 (type s3, key_id 'id', secret 'key')",
        "a CREATE SECRET statement",
        id="create-persistent-secret",
    ),
    # writing into published data (or anywhere)
    pytest.param(
        "insert into orders.main.orders_v2 values (4, 101, 1, null)",
        f"an INSERT statement, {WRITE}",
        id="insert",
    ),
    pytest.param("update orders.main.orders_v2 set amount = 0", "an UPDATE statement", id="update"),
    pytest.param("delete from orders.main.orders_v2", f"a DELETE statement, {WRITE}", id="delete"),
    pytest.param(
        "create table orders.main.x as select 1", "a CREATE TABLE statement", id="create-table"
    ),
    pytest.param(
        "create view orders.main.v as select 1", "a CREATE VIEW statement", id="create-view"
    ),
    pytest.param("drop table orders.main.orders_v2", f"a DROP TABLE statement, {WRITE}", id="drop"),
    pytest.param(
        "alter table orders.main.orders_v2 add column note varchar",
        "an ALTER TABLE statement",
        id="alter",
    ),
    pytest.param(
        "explain analyze delete from orders.main.orders_v2",
        "a DELETE statement",
        id="explain-analyze-delete",
    ),
    pytest.param("checkpoint orders", "a CHECKPOINT statement", id="checkpoint"),
    pytest.param(
        "create table scratch as select 1 as x", "a CREATE TABLE statement", id="create-in-memory"
    ),
    # EXPLAIN ANALYZE runs the statement it explains
    pytest.param(
        "explain analyze create table scratch as select 1 as x",
        "a CREATE TABLE statement",
        id="explain-analyze-create",
    ),
    pytest.param(
        "explain (analyze) copy (select 1) to '{dir}/out.csv'",
        "a COPY statement",
        id="explain-analyze-copy",
    ),
]


@pytest.mark.parametrize(("sql", "named"), REFUSED)
def test_anything_but_reading_products_is_refused(
    shop: Mesh, outside: Path, sql: str, named: str
) -> None:
    before = {path.name: _digest(path) for path in outside.iterdir()}
    published = shop.published_database("orders").resolve()
    published_before = _digest(published)

    with pytest.raises(QueryRefusedError, match=READ_ONLY) as refused:
        run(shop, sql.format(dir=outside))

    assert named in str(refused.value)
    assert "hunter2" not in str(refused.value)
    assert {path.name: _digest(path) for path in outside.iterdir()} == before  # nothing written
    assert _digest(published) == published_before
    assert published_row_count(shop) == 3


@pytest.mark.parametrize(
    "sql",
    [
        "describe orders.main.orders_v2",
        "show all tables",
        "summarize orders.main.orders_v2",
        "from orders.main.orders_v2 select count(*)",
        "with big as (select * from orders.main.orders_v2 where amount > 6) select * from big",
        "explain select * from orders.main.orders_v2",
        "explain analyze select count(*) from orders.main.orders_v2",
        "select 1; select count(*) from orders.main.orders_v2;",
    ],
)
def test_every_kind_of_read_still_runs(shop: Mesh, sql: str) -> None:
    assert run(shop, sql).rows


def test_a_syntax_error_is_a_query_error(shop: Mesh) -> None:
    with pytest.raises(QueryError, match="syntax error"):
        run(shop, "selec 1")


def test_a_name_that_is_not_a_product_is_named_with_the_products_there_are(shop: Mesh) -> None:
    with pytest.raises(QueryError) as raised:
        run(shop, "select * from orders.main.int_orders_latest")

    message = str(raised.value)
    assert message.startswith("orders.main.int_orders_latest is not a published product in ")
    assert message.endswith(
        "The products you can read: customers.main.customers_v1, orders.main.orders_v2."
    )
    assert "\n" not in message


@pytest.mark.parametrize(("sql", "named"), REFUSED)
def test_the_python_api_refuses_what_mesh_query_refuses(
    shop: Mesh, outside: Path, sql: str, named: str
) -> None:
    before = {path.name: _digest(path) for path in outside.iterdir()}
    published_before = _digest(shop.published_database("orders").resolve())

    with mesh.connect(shop.root) as con, pytest.raises(QueryRefusedError, match=READ_ONLY):
        con.sql(sql.format(dir=outside))

    assert {path.name: _digest(path) for path in outside.iterdir()} == before
    assert _digest(shop.published_database("orders").resolve()) == published_before


def test_the_python_api_cannot_attach_a_product_for_writing(shop: Mesh) -> None:
    published = shop.published_database("orders").resolve()
    before = _digest(published)

    with mesh.connect(shop.root) as con:
        with pytest.raises(QueryRefusedError, match="an ATTACH statement"):
            con.sql(
                f"attach '{published}' as w (read_only false); insert into w.orders_v2 values (9)"
            )
        assert not hasattr(con, "execute")  # no raw DuckDB connection is handed out
    assert _digest(published) == before


def test_a_python_connection_reads_one_snapshot_for_its_whole_life(shop: Mesh) -> None:
    with mesh.connect(shop.root / "domains") as con:
        assert con.snapshot is not None and set(con.publishes) == {"orders", "customers"}
        assert con.products() == ["customers.main.customers_v1", "orders.main.orders_v2"]
        publish_database(
            shop,
            "orders",
            "20260602T000000000000Z-cccccc",
            "create table orders_v2 as select 42 as x",
        )
        assert len(con.sql("select * from orders.main.orders_v2")) == 3  # still its snapshot
        assert con.sql("select count(*) as n from orders.main.orders_v2").records() == [{"n": 3}]
    with mesh.connect(shop.root) as con:
        assert con.sql("select * from orders.main.orders_v2").fetchall() == [(42,)]
    with pytest.raises(MeshError, match="closed"):
        con.sql("select 1")


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


@pytest.mark.parametrize("sql", ["", "  ", "-- only a comment"])
def test_an_empty_query_says_so(shop: Mesh, sql: str) -> None:
    with pytest.raises(QueryError, match="The query is empty"):
        run(shop, sql)

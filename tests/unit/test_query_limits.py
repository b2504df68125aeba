"""The query sandbox's limits and its last gaps: every statement DuckDB parses passes the
read-only guard (also inside EXPLAIN ANALYZE and PREPARE), the connection writes no file,
and a query is held to a time limit, a row limit, a memory limit and a spill cap, and stops
at Ctrl-C. On a small fake mesh with real DuckDB files; `mesh query` runs as a real process
where the terminal matters (Ctrl-C, a kill)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

import mesh
from mesh.discovery.domains import discover
from mesh.discovery.snapshots import view
from mesh.engines import scratch
from mesh.engines.duckdb import query
from mesh.errors import QueryLimitError, QueryRefusedError
from mesh.pipeline.engine import QueryLimits, QueryResult
from mesh.workspace import Mesh
from tests.terminal import ctrl_c_on_a_terminal
from tests.unit.conftest import add_domain, make_mesh, publish_database

MESH_BIN = Path(sys.executable).parent / "mesh"
ORDERS = "create table orders_v2 as select range as order_id, range % 7 as region from range(1000)"
FOREVER = "select count(*) from range(1000000000000) as t(a), range(1000) as u(b)"
# A group-by over a generated range that needs far more memory than 100 MB: it spills.
SPILLS = "select i % 20000000 as k, count(*), list(i) from range(60000000) as t(i) group by k"


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Mesh:
    """One published domain; the working directory is a domain's models folder with a
    `.tmp` folder in it, where DuckDB's default temporary directory would be."""
    root = make_mesh(tmp_path / "shop")
    add_domain(root, "orders")
    publish_database(root, "orders", "20260601T000000000000Z-aaaaaa", ORDERS)
    models = root.domains_dir / "orders" / "models"
    (models / ".tmp").mkdir()
    monkeypatch.chdir(models)
    return Mesh.find(models)


def run(shop: Mesh, sql: str, limits: QueryLimits | None = None) -> QueryResult:
    return query.run(view(shop, sorted(discover(shop))), sql, limits)


def files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


# Statements that write a file, however they are wrapped. `{tmp}` is `<cwd>/.tmp`.
WRITES_A_FILE = [
    pytest.param("explain analyze copy (select 1) to '{tmp}/x.csv'", id="explain-analyze"),
    pytest.param("explain analyze copy (select 1) to '.tmp/x.csv'", id="explain-analyze-relative"),
    pytest.param("explain /* a comment */ analyze copy (select 1) to '{tmp}/x.csv'", id="comment"),
    pytest.param("explain -- why\nanalyse copy (select 1) to '{tmp}/x.csv'", id="line-comment"),
    pytest.param(
        "explain (format json, analyze) copy (select 1) to '{tmp}/x.csv'", id="explain-options"
    ),
    pytest.param(
        "explain (format ')', analyze) copy (select 1) to '{tmp}/x.csv'", id="quoted-paren"
    ),
    pytest.param("prepare p as copy (select 1) to '{tmp}/x.csv'; execute p", id="prepare"),
    pytest.param(
        "prepare p as copy (select ?) to '{tmp}/x.csv'; execute p(1)",
        id="prepare-with-parameter",
    ),
    pytest.param(
        "create table t as pivot orders.main.orders_v2 on region using count(*)",
        id="pivot-into-a-table",
    ),
]


@pytest.mark.parametrize("sql", WRITES_A_FILE)
def test_a_write_wrapped_in_another_statement_is_refused_and_writes_nothing(
    shop: Mesh, sql: str
) -> None:
    tmp = Path.cwd() / ".tmp"

    with pytest.raises(QueryRefusedError, match=r"^mesh query is read-only: it refused an? "):
        run(shop, sql.format(tmp=tmp))

    assert files_under(Path.cwd()) == []  # not in .tmp, not beside the models
    assert files_under(shop.warehouse / "tmp") == []


@pytest.mark.parametrize(
    "sql",
    [
        "prepare p as select count(*) from orders.main.orders_v2; execute p",
        "pivot orders.main.orders_v2 on region using count(*)",
        "with o as (from orders.main.orders_v2) pivot o on region using count(*)",
        "explain /* why */ analyze select count(*) from orders.main.orders_v2",
        "explain (format json) select 1",
        "summarize orders.main.orders_v2",
    ],
)
def test_reads_wrapped_in_other_statements_still_run(shop: Mesh, sql: str) -> None:
    assert run(shop, sql).rows


def test_the_connection_itself_writes_no_file_where_a_query_could_reach(shop: Mesh) -> None:
    """Below the statement guard: DuckDB refuses to write files, and its temporary folder
    (the one it would allow) is the session's own in warehouse/tmp, not `<cwd>/.tmp`."""
    before = files_under(shop.root.parent)
    con = query.sandbox(view(shop, ["orders"]))
    try:
        settings = con.execute(
            "select current_setting('temp_directory'), current_setting('enable_external_access'),"
            " current_setting('lock_configuration')"
        ).fetchone()
        assert settings is not None
        temp, external, locked = settings
        assert Path(temp).parent == shop.warehouse / "tmp"
        assert Path(temp).name.startswith(f"query-{os.getpid()}-")
        assert (external, locked) == (False, True)
        for target in (Path.cwd() / ".tmp" / "x.csv", shop.root / "x.csv", Path("x.csv")):
            with pytest.raises(duckdb.Error):  # PermissionException or no such folder
                con.execute(f"copy (select 1) to '{target}'")
    finally:
        query.close(con)
    assert files_under(shop.root.parent) == before


def test_a_query_past_its_time_limit_is_stopped_naming_the_limit(shop: Mesh) -> None:
    with pytest.raises(QueryLimitError) as stopped:
        run(shop, FOREVER, QueryLimits(timeout=0.5))

    assert str(stopped.value) == (
        "The query ran longer than its time limit (0.5 s) and was stopped; allow longer with "
        "--timeout 5 (0 for no limit), or narrow the query."
    )


def test_the_python_api_names_its_own_parameter(shop: Mesh) -> None:
    with (
        mesh.connect(shop.root, timeout=0.3) as con,
        pytest.raises(QueryLimitError, match=r"allow longer with mesh\.connect\(timeout=3\)"),
    ):
        con.sql(FOREVER)


def test_a_result_is_cut_at_the_row_limit_with_a_note(shop: Mesh) -> None:
    limits = QueryLimits(max_rows=10)

    result = run(shop, "select * from orders.main.orders_v2 order by order_id", limits)

    assert result.truncated
    assert [row[0] for row in result.rows] == list(range(10))  # the first rows, in order
    assert result.cut_note(limits) == (
        "Only the first 10 rows were fetched: the result has more (the row limit). Fetch "
        "more with --max-rows 100 (0 for all), or narrow the query with LIMIT, WHERE or an "
        "aggregate."
    )


@pytest.mark.parametrize(("max_rows", "rows", "cut"), [(1000, 1000, False), (0, 1000, False)])
def test_a_result_within_the_row_limit_is_whole(
    shop: Mesh, max_rows: int, rows: int, cut: bool
) -> None:
    result = run(shop, "from orders.main.orders_v2", QueryLimits(max_rows=max_rows))

    assert (len(result.rows), result.truncated) == (rows, cut)
    assert result.cut_note(QueryLimits(max_rows=max_rows)) is None


def test_a_huge_result_is_not_fetched_into_python(shop: Mesh) -> None:
    """300 million rows: only max_rows + 1 are fetched (whole, it took 6 GB in Python)."""
    result = run(shop, "select range as i, range * 2 as j from range(300000000)")

    assert len(result.rows) == 10_000 and result.truncated


def test_the_python_api_warns_when_a_result_is_cut(shop: Mesh) -> None:
    with mesh.connect(shop.root, max_rows=5) as con, pytest.warns(UserWarning) as warned:
        result = con.sql("from orders.main.orders_v2")

    assert len(result) == 5 and result.truncated
    assert "Fetch more with mesh.connect(max_rows=50)" in str(warned[0].message)


def test_a_query_past_its_spill_cap_is_stopped_naming_the_limit(shop: Mesh) -> None:
    limits = QueryLimits(memory_limit="100MB", spill_limit="50MB")

    with pytest.raises(QueryLimitError) as stopped:
        run(shop, SPILLS, limits)

    assert str(stopped.value) == (
        "The query needed more temporary disk than its spill limit (50MB, in warehouse/tmp) "
        "and was stopped; allow more with --spill-limit 8GB if the disk has room, or narrow "
        "the query."
    )
    assert files_under(shop.warehouse / "tmp") == []  # what it spilled is removed


def test_a_query_past_its_memory_limit_is_stopped_naming_the_limit(shop: Mesh) -> None:
    """One value bigger than the memory limit cannot be spilled."""
    big = "select string_agg(i::varchar || repeat('x', 100), ',') from range(5000000) as t(i)"

    with pytest.raises(QueryLimitError) as stopped:
        run(shop, big, QueryLimits(memory_limit="100MB"))

    assert str(stopped.value).startswith(
        "The query needed more memory than its memory limit (100MB) and was stopped; allow "
        "more with --memory-limit 4GB"
    )


def test_a_limit_duckdb_cannot_read_is_named(shop: Mesh) -> None:
    with pytest.raises(QueryLimitError, match=r"memory 2 gigs.*Give sizes such as 500MB"):
        run(shop, "select 1", QueryLimits(memory_limit="2 gigs"))


def test_ctrl_c_stops_the_query_and_removes_its_temporary_folder(shop: Mesh) -> None:
    """SIGINT to this process while a query spills: KeyboardInterrupt, at once (DuckDB alone
    turned it into its own error 12 s later), and nothing left in warehouse/tmp."""
    spilled = threading.Event()

    def interrupt_once_spilling() -> None:
        for _ in range(300):
            if files_under(shop.warehouse / "tmp"):
                spilled.set()
                break
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_once_spilling, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        run(shop, SPILLS_FOR_A_WHILE[0], QueryLimits(memory_limit="100MB", spill_limit="1GB"))

    assert spilled.is_set()
    assert list((shop.warehouse / "tmp").iterdir()) == []


def test_temporary_folders_of_dead_processes_are_removed_on_start(shop: Mesh) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = scratch.root(shop) / f"query-{gone.pid}-1"
    (stale / "spill").mkdir(parents=True)
    (stale / "spill" / "block.tmp").write_bytes(b"\0" * 1024)
    alive = scratch.root(shop) / f"query-{os.getppid()}-1"
    alive.mkdir()
    other = scratch.root(shop) / "not-a-query"
    other.mkdir()

    run(shop, "select 1")

    assert sorted(path.name for path in scratch.root(shop).iterdir()) == sorted(
        [alive.name, other.name]
    )


def _mesh_query(shop: Mesh, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(MESH_BIN), "query", *args],
        cwd=shop.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# A query that spills for many seconds (its spill cap ends it, if nothing else does).
SPILLS_FOR_A_WHILE = (
    "select i % 200000000 as k, count(*), list(i) from range(600000000) as t(i) group by k",
    "--memory-limit",
    "100MB",
    "--spill-limit",
    "1GB",
)


def _wait_for_spill(shop: Mesh, process: subprocess.Popen[str]) -> None:
    for _ in range(600):
        if files_under(shop.warehouse / "tmp") or process.poll() is not None:
            return
        time.sleep(0.05)


@pytest.mark.parametrize("when", ["while it loads", "while the query runs"])
def test_mesh_query_stops_at_sigint_with_exit_130_and_no_traceback(shop: Mesh, when: str) -> None:
    process = _mesh_query(shop, *SPILLS_FOR_A_WHILE)
    if when == "while it loads":
        time.sleep(0.3)
    else:
        _wait_for_spill(shop, process)
        assert process.poll() is None

    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)

    assert process.returncode == 130
    assert "Traceback" not in stdout + stderr
    assert stderr.strip() in ("interrupted", "Query stopped (Ctrl-C).")
    assert list((shop.warehouse / "tmp").glob("*/*")) == []


def test_ctrl_c_on_a_terminal_stops_mesh_query_with_exit_130(shop: Mesh) -> None:
    """The way a user stops it: Ctrl-C typed on the query's terminal (a pty), once it spills."""
    status, output, _ = ctrl_c_on_a_terminal(
        MESH_BIN, shop.root, ["query", *SPILLS_FOR_A_WHILE],
        once=lambda _: bool(files_under(shop.warehouse / "tmp")),
    )  # fmt: skip

    assert status == 130
    assert "Traceback" not in output
    assert "Query stopped (Ctrl-C)." in output


def test_a_killed_query_leaves_its_spill_until_the_next_query_removes_it(shop: Mesh) -> None:
    process = _mesh_query(shop, *SPILLS_FOR_A_WHILE)
    _wait_for_spill(shop, process)
    process.kill()
    process.communicate()
    left = files_under(shop.warehouse / "tmp")
    assert left, "the killed query had spilled"

    done = _mesh_query(shop, "select 1")
    done.communicate(timeout=60)

    assert done.returncode == 0
    assert list((shop.warehouse / "tmp").iterdir()) == []

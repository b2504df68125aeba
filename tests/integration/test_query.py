"""Cross-domain questions answered from the published products."""

from __future__ import annotations

import csv
import io
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.conftest import MESH_BIN, REPO, Run, mesh

pytestmark = pytest.mark.integration

ANALYSIS = "domains/analytics/queries/revenue_and_on_time_by_region_and_department.sql"


def test_saved_analysis_prints_revenue_and_on_time_rate(built_mesh: tuple[Path, Run]) -> None:
    root, _ = built_mesh
    rows = mesh(root, "query", "--file", str(REPO / ANALYSIS), "--format", "json").json()
    assert {row["region"] for row in rows} == {
        "North America",
        "Europe",
        "Asia Pacific",
        "Latin America",
    }
    for row in rows:
        assert row["revenue_usd"] > 0
        assert 0 <= row["on_time_rate"] <= 1


def test_analytics_revenue_reconciles_with_the_orders_domain(built_mesh: tuple[Path, Run]) -> None:
    """The consumer's product adds up to the producer's: nothing lost or doubled in the joins."""
    root, _ = built_mesh
    rows = mesh(
        root,
        "query",
        """
        select
            (select sum(revenue_usd) from analytics.main.sales_by_region_and_category_v1)
                as analytics_revenue,
            (select sum(lines.net_amount_usd)
             from orders.main.order_lines_v1 as lines
             inner join orders.main.orders_v2 as orders using (order_id)
             where orders.order_status <> 'cancelled') as orders_revenue
    """,
        "--format",
        "json",
    ).json()
    assert rows[0]["analytics_revenue"] == pytest.approx(rows[0]["orders_revenue"])
    assert rows[0]["orders_revenue"] > 0


def test_query_joins_products_of_different_domains(built_mesh: tuple[Path, Run]) -> None:
    root, _ = built_mesh
    run = mesh(
        root,
        "query",
        """
        select customers.region, count(*) as shipments, avg(shipments.is_on_time::int) as on_time
        from fulfillment.main.shipments_v1 as shipments
        inner join orders.main.orders_v2 as orders using (order_id)
        inner join customers.main.customers_v1 as customers using (customer_id)
        where shipments.delivery_status = 'delivered'
        group by customers.region
        order by customers.region
    """,
        "--format",
        "csv",
    )
    table = list(csv.reader(io.StringIO(run.stdout)))
    assert table[0] == ["region", "shipments", "on_time"]
    assert len(table) == 5
    assert all(int(row[1]) > 0 for row in table[1:])


def test_table_output_is_the_default(built_mesh: tuple[Path, Run]) -> None:
    root, _ = built_mesh
    run = mesh(root, "query", "select region from customers.main.customers_v1 limit 3")
    assert "region" in run.stdout
    assert "3 rows" in run.stdout


def test_query_cannot_write_into_published_products(built_mesh: tuple[Path, Run]) -> None:
    root, _ = built_mesh
    run = mesh(root, "query", "delete from orders.main.orders_v2", check=False)
    assert run.returncode != 0
    assert "read-only" in run.stderr.lower() or "read only" in run.stderr.lower()
    assert "Traceback" not in run.output


def _files(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file()}


def test_explain_analyze_copy_from_a_models_folder_is_refused_and_writes_nothing(
    built_mesh: tuple[Path, Run],
) -> None:
    """The attack of issue 18: from a domain's models folder, a file written to `.tmp`
    became a model in the next build."""
    root, _ = built_mesh
    models = root / "domains" / "orders" / "models"
    before = _files(root / "domains")

    run = mesh(
        models,
        "query",
        "explain analyze copy (select * from orders.main.orders_v2) to '.tmp/x.csv'",
        check=False,
    )

    assert run.returncode == 1
    assert run.stderr.startswith("error: mesh query is read-only: it refused a COPY statement")
    assert "Traceback" not in run.output
    assert _files(root / "domains") == before
    assert not (models / ".tmp").exists()


def test_a_query_past_its_time_limit_names_the_limit(built_mesh: tuple[Path, Run]) -> None:
    root, _ = built_mesh
    forever = "select count(*) from orders.main.orders_v2, range(1000000000000)"

    run = mesh(root, "query", forever, "--timeout", "1", check=False)

    assert run.returncode == 1
    assert run.stderr.strip() == (
        "error: The query ran longer than its time limit (1 s) and was stopped; allow longer "
        "with --timeout 10 (0 for no limit), or narrow the query."
    )


def test_a_result_past_the_row_limit_is_cut_with_a_note(built_mesh: tuple[Path, Run]) -> None:
    root, _ = built_mesh

    run = mesh(root, "query", "from orders.main.orders_v2", "--max-rows", "7", "--format", "json")

    assert len(run.json()) == 7  # stdout stays valid JSON; the note is on stderr
    assert run.stderr.startswith(
        "note: Only the first 7 rows were fetched: the result has more (the row limit). "
        "Fetch more with --max-rows 70 (0 for all)"
    )


def test_a_query_past_its_spill_cap_names_the_limit_and_leaves_no_spill(
    mesh_copy: Path,
) -> None:
    root = mesh_copy  # its own: other workers' queries spill into a shared mesh's tmp too
    group_by = "select i % 20000000 as k, count(*), list(i) from range(60000000) as t(i) group by k"

    run = mesh(
        root, "query", group_by, "--memory-limit", "100MB", "--spill-limit", "50MB", check=False
    )

    assert run.returncode == 1
    assert run.stderr.strip() == (
        "error: The query needed more temporary disk than its spill limit (50MB, in "
        "warehouse/tmp) and was stopped; allow more with --spill-limit 8GB if the disk has "
        "room, or narrow the query."
    )
    assert _files(root / "warehouse" / "tmp") == set()


def test_a_killed_query_leaves_no_spill_behind_after_the_next_query(
    mesh_copy: Path,
) -> None:
    root = mesh_copy  # its own: other workers' queries spill into a shared mesh's tmp too
    spill = root / "warehouse" / "tmp"
    group_by = (
        "select i % 200000000 as k, count(*), list(i) from range(600000000) as t(i) group by k"
    )
    process = subprocess.Popen(
        [str(MESH_BIN), "query", group_by, "--memory-limit", "100MB", "--spill-limit", "1GB"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        if _files(spill) or process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    process.wait()
    assert _files(spill), "the killed query had spilled"

    mesh(root, "query", "select 1")

    assert list(spill.iterdir()) == []

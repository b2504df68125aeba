"""Fault injection: corrupt freshly generated landing data, one fault at a time, and build.

Every fault must be caught before publish by a named test, constraint or contract, with a
message naming the domain, the model and the rule; the published product stays
byte-identical and consumers keep reading it. The one fault tolerated by design, an extra
column, must change nothing. docs/bad-input.md holds the same table for readers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from mesh.data.landing import delivered
from tests.integration.conftest import mesh

pytestmark = pytest.mark.integration


EVENT_SYSTEMS = {"orders", "fulfillment"}


def _newest_export(root: Path, domain: str, table: str) -> Path:
    return sorted((root / "warehouse/landing" / domain / table).glob("*.parquet"))[-1]


def _faulty_export(root: Path, domain: str, table: str) -> Path:
    """The export a fault goes into: for the event systems, a new export (three more days),
    which incremental models have not loaded yet; for snapshot systems, their only export."""
    if domain in EVENT_SYSTEMS:
        mesh(root, "generate", "--append-days", "3")
    return _newest_export(root, domain, table)


def redeliver(path: Path) -> None:
    """Update the delivery manifest that lists `path` to its new content: the export job
    itself wrote the bad data (damage after delivery is refused earlier: test_landing)."""
    manifests = path.parent.parent / "_deliveries"
    relative = f"{path.parent.name}/{path.name}"
    try:
        ((rows,),) = duckdb.sql(
            "select count(*) from read_parquet(?)", params=[str(path)]
        ).fetchall()
    except duckdb.Error:
        rows = 0  # unreadable: the landing contract names it
    entry = delivered(path, rows)
    for manifest in manifests.glob("*.json"):
        content = json.loads(manifest.read_text())
        files = [asdict(entry) if f["file"] == relative else f for f in content["files"]]
        manifest.write_text(json.dumps({**content, "files": files}))


def rewrite(select: str) -> Callable[[Path], None]:
    """A fault that rewrites the export through SQL over `export` (the original rows)."""

    def apply(path: Path) -> None:
        partial = path.with_name(path.name + ".faulty")
        con = duckdb.connect()
        try:
            con.execute(f"create view export as select * from read_parquet('{path}')")
            con.execute(f"copy ({select}) to '{partial}' (format parquet)")
        finally:
            con.close()
        partial.replace(path)
        redeliver(path)

    return apply


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    redeliver(path)


def empty(path: Path) -> None:
    path.write_bytes(b"")
    redeliver(path)


@dataclass(frozen=True)
class Fault:
    name: str
    domain: str
    table: str
    corrupt: Callable[[Path], None]
    # What must appear in the failure: the node (model or test) and the rule or error.
    node: str
    rule: str


# Faults in the new export of an event system corrupt every row of it.
FAULTS = [
    Fault(
        "null keys",
        "orders",
        "orders",
        rewrite("select * replace (null::bigint as order_id) from export"),
        "not_null_stg_checkout__orders_order_id",
        "Got ",
    ),
    Fault(
        "duplicate keys",
        "catalog",
        "products",
        rewrite(
            "select * from export union all "
            "select * replace (product_name || ' (bis)' as product_name) from export "
            "where product_id = 1"
        ),
        "unique_stg_pim__products_product_id",
        "Got ",
    ),
    Fault(
        "unknown status values",
        "orders",
        "orders",
        rewrite("select * replace ('teleported' as status) from export"),
        "accepted_values_stg_checkout__orders_order_status",
        "Got ",
    ),
    Fault(
        "orphan foreign keys",
        "catalog",
        "product_prices",
        rewrite(
            "select * replace (case when price_id % 3 = 0 then product_id + 1000000 "
            "else product_id end as product_id) from export"
        ),
        "relationships_stg_pim__product_prices",
        "Got ",
    ),
    Fault(
        "unparseable dates",
        "orders",
        "orders",
        rewrite("select * replace ('next tuesday' as ordered_at) from export"),
        "(source checkout.orders)",
        "column ordered_at is varchar, the source declares timestamp",
    ),
    Fault(
        "unparseable numbers",
        "orders",
        "payments",
        rewrite("select * replace ('twelve' as amount) from export"),
        "(source checkout.payments)",
        "column amount is varchar, the source declares decimal(18,2)",
    ),
    Fault(
        "missing column",
        "orders",
        "orders",
        rewrite("select * exclude (channel) from export"),
        "(source checkout.orders)",
        "column channel (varchar) is missing",
    ),
    Fault(
        "empty file",
        "customers",
        "customers",
        empty,
        "(source crm.customers)",
        "cannot be read",
    ),
    Fault(
        "export without rows",
        "customers",
        "customers",
        rewrite("select * from export limit 0"),
        "shared_macros_not_empty_customers_v1",
        "Got ",
    ),
    Fault(
        "truncated file",
        "catalog",
        "products",
        truncate,
        "(source pim.products)",
        "cannot be read",
    ),
    Fault(
        "negative amounts",
        "orders",
        "order_lines",
        rewrite("select * replace (-unit_price as unit_price) from export"),
        "shared_macros_accepted_range_int_orders_totaled_net_amount_usd",
        "Got ",
    ),
    Fault(
        "timestamps far in the future",
        "orders",
        "orders",
        rewrite("select * replace (timestamp '2099-01-01' as updated_at) from export"),
        "shared_macros_expression_is_true_stg_checkout__orders",
        "Got ",
    ),
    Fault(
        "wrong text encoding",
        "customers",
        "customers",
        # Latin-1 bytes where UTF-8 text belongs: Parquet can only carry them as binary.
        rewrite("select * replace (encode(first_name) || '\\xE9'::blob as first_name) from export"),
        "(source crm.customers)",
        "column first_name is blob, the source declares varchar",
    ),
]


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_a_corrupt_export_is_caught_before_publish(mesh_copy: Path, fault: Fault) -> None:
    published = mesh_copy / "warehouse/published" / fault.domain
    current = (published / "current").resolve()
    before = _digests(current)
    fault.corrupt(_faulty_export(mesh_copy, fault.domain, fault.table))

    run = mesh(mesh_copy, "build", fault.domain, "--only", "--quiet", check=False)

    assert run.returncode == 1, run.output
    assert f"{fault.domain}: FAILED" in run.output
    assert fault.node in run.output, run.output
    assert fault.rule in run.output, run.output
    assert "the published version is unchanged" in run.output
    assert "Traceback" not in run.output
    assert (published / "current").resolve() == current
    assert _digests(current) == before
    product = {"orders": "orders_v2", "catalog": "products_v2", "customers": "customers_v1"}
    rows = mesh(
        mesh_copy,
        "query",
        f"select count(*) as n from {fault.domain}.main.{product[fault.domain]}",
        "--format",
        "json",
    ).json()
    assert rows[0]["n"] > 0


def test_an_extra_column_is_ignored_and_changes_no_product(mesh_copy: Path) -> None:
    def products() -> list[tuple[str, int, str]]:
        import json

        record = json.loads(
            (mesh_copy / "warehouse/published/orders/current/publish.json").read_text()
        )
        return [(p["relation"], p["rows"], p["checksum"]) for p in record["products"]]

    before = products()
    add_column = rewrite("select *, 'gold' as loyalty_tier from export")
    add_column(_newest_export(mesh_copy, "orders", "orders"))

    run = mesh(mesh_copy, "build", "orders", "--only", "--quiet")

    assert "orders: published" in run.stdout
    assert products() == before


def test_landing_data_past_error_after_is_not_published(mesh_copy: Path) -> None:
    published = mesh_copy / "warehouse/published/orders/current"
    current = published.resolve()
    old = (datetime.now(UTC) - timedelta(days=4)).strftime("%Y-%m-%dT%H:00:00")
    mesh(mesh_copy, "generate", "--scale", "0.05", "--as-of", old)

    run = mesh(mesh_copy, "build", "orders", "--only", "--quiet", check=False)

    assert run.returncode == 1
    assert "orders: FAILED" in run.stderr
    assert "landing data is older than" in run.stderr
    assert "source checkout.orders is 4." in run.stderr
    assert "past its error_after of 3.0 days" in run.stderr
    assert published.resolve() == current


def test_landing_data_past_warn_after_warns_and_publishes(mesh_copy: Path) -> None:
    old = (datetime.now(UTC) - timedelta(hours=30)).strftime("%Y-%m-%dT%H:00:00")
    mesh(mesh_copy, "generate", "--scale", "0.05", "--as-of", old)

    run = mesh(mesh_copy, "build", "orders", "--only", "--quiet")

    assert "orders: warning: source checkout.orders is 3" in run.stdout
    assert "past its warn_after of 6.0 hours" in run.stdout
    assert "orders: published" in run.stdout

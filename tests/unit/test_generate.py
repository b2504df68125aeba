"""Landing data: deterministic, proportional to the scale, as messy as real exports, and
continued by later exports that hold only what happened after the last one."""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from mesh.data.generate import GenerateResult, append, entity_counts, generate
from mesh.errors import MeshError
from mesh.workspace import Mesh
from tests.unit.conftest import make_mesh

SMALL = 0.02
AS_OF = datetime(2026, 6, 30, 23)
FIRST_FILE = "2026-06-30T230000.parquet"
FIRST_DELIVERY = "2026-06-30T230000.json"

LANDING = {
    ("catalog", "categories"),
    ("catalog", "product_prices"),
    ("catalog", "products"),
    ("customers", "customers"),
    ("fulfillment", "delivery_events"),
    ("fulfillment", "shipments"),
    ("orders", "order_lines"),
    ("orders", "orders"),
    ("orders", "payments"),
}


def landing_bytes(mesh: Mesh) -> dict[str, bytes]:
    return {
        str(path.relative_to(mesh.landing)): path.read_bytes()
        for path in sorted(mesh.landing.rglob("*"))
        if path.is_file()
    }


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Every row of a Parquet file, or of all the export files of a table folder."""
    pattern = str(path / "*.parquet") if path.is_dir() else str(path)
    relation = duckdb.sql("select * from read_parquet(?)", params=[pattern])
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def customer_ids(mesh: Mesh) -> set[int]:
    return {row["customer_id"] for row in read_rows(mesh.landing / "customers" / "customers")}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Mesh, GenerateResult]:
    mesh = make_mesh(tmp_path_factory.mktemp("small") / "mesh")
    return mesh, generate(mesh, scale=SMALL, seed=42, as_of=AS_OF)


@pytest.fixture(scope="module")
def larger(tmp_path_factory: pytest.TempPathFactory) -> tuple[Mesh, GenerateResult]:
    mesh = make_mesh(tmp_path_factory.mktemp("larger") / "mesh")
    return mesh, generate(mesh, scale=0.2, seed=42, as_of=AS_OF)


@pytest.fixture(scope="module")
def appended(tmp_path_factory: pytest.TempPathFactory) -> tuple[Mesh, GenerateResult]:
    """A first export, then three more days of events."""
    mesh = make_mesh(tmp_path_factory.mktemp("appended") / "mesh")
    generate(mesh, scale=SMALL, seed=42, as_of=AS_OF)
    return mesh, append(mesh, days=3)


def test_one_parquet_file_per_table_and_export(small: tuple[Mesh, GenerateResult]) -> None:
    mesh, result = small

    assert {(f.domain, f.table) for f in result.files} == LANDING
    for landing in result.files:
        assert landing.path == mesh.landing / landing.domain / landing.table / FIRST_FILE
    assert set(landing_bytes(mesh)) == {
        f"{domain}/{table}/{FIRST_FILE}" for domain, table in LANDING
    } | {f"{domain}/_deliveries/{FIRST_DELIVERY}" for domain, _ in LANDING} | {"exports.json"}
    assert {row["exported_at"] for f in result.files for row in read_rows(f.path)} == {AS_OF}


def test_each_delivery_manifest_lists_its_files_size_rows_and_sha256(
    small: tuple[Mesh, GenerateResult],
) -> None:
    mesh, result = small

    for landing in result.files:
        manifest = mesh.landing / landing.domain / "_deliveries" / FIRST_DELIVERY
        (entry,) = [
            f for f in json.loads(manifest.read_text())["files"]
            if f["file"] == f"{landing.table}/{FIRST_FILE}"
        ]  # fmt: skip
        assert entry["size"] == landing.path.stat().st_size
        assert entry["rows"] == landing.rows
        assert entry["sha256"] == hashlib.sha256(landing.path.read_bytes()).hexdigest()


def test_appended_exports_add_a_delivery_and_keep_the_first(
    appended: tuple[Mesh, GenerateResult],
) -> None:
    mesh, result = appended

    for domain in {f.domain for f in result.files}:
        deliveries = sorted(p.name for p in (mesh.landing / domain / "_deliveries").iterdir())
        assert deliveries == [FIRST_DELIVERY, "2026-07-03T230000.json"]


def test_reported_row_counts_match_the_files(small: tuple[Mesh, GenerateResult]) -> None:
    _, result = small

    for landing in result.files:
        assert len(read_rows(landing.path)) == landing.rows, landing.table
    assert result.rows == sum(f.rows for f in result.files)
    assert result.rows > 1000


def test_same_seed_and_scale_give_byte_identical_files(
    tmp_path: Path, small: tuple[Mesh, GenerateResult]
) -> None:
    again = make_mesh(tmp_path / "again")
    generate(again, scale=SMALL, seed=42, as_of=AS_OF)

    assert landing_bytes(again) == landing_bytes(small[0])


def test_the_thread_count_does_not_change_the_files(tmp_path: Path) -> None:
    one = make_mesh(tmp_path / "one")
    two = make_mesh(tmp_path / "two")
    generate(one, scale=SMALL, seed=3, threads=1, as_of=AS_OF)
    generate(two, scale=SMALL, seed=3, threads=2, as_of=AS_OF)

    assert landing_bytes(one) == landing_bytes(two)


def test_a_different_seed_gives_different_files(
    tmp_path: Path, small: tuple[Mesh, GenerateResult]
) -> None:
    other = make_mesh(tmp_path / "other")
    generate(other, scale=SMALL, seed=43, as_of=AS_OF)

    ours, theirs = landing_bytes(small[0]), landing_bytes(other)
    assert ours[f"customers/customers/{FIRST_FILE}"] != theirs[f"customers/customers/{FIRST_FILE}"]
    assert ours[f"orders/orders/{FIRST_FILE}"] != theirs[f"orders/orders/{FIRST_FILE}"]
    # The fixed category tree is not random.
    assert ours[f"catalog/categories/{FIRST_FILE}"] == theirs[f"catalog/categories/{FIRST_FILE}"]


def test_regenerating_replaces_the_files(tmp_path: Path) -> None:
    reused = make_mesh(tmp_path / "reused")
    fresh = make_mesh(tmp_path / "fresh")
    generate(reused, scale=SMALL, seed=1, as_of=AS_OF)
    generate(reused, scale=SMALL, seed=2, as_of=AS_OF)
    generate(fresh, scale=SMALL, seed=2, as_of=AS_OF)

    assert landing_bytes(reused) == landing_bytes(fresh)


def test_rows_grow_in_proportion_to_the_scale(
    small: tuple[Mesh, GenerateResult], larger: tuple[Mesh, GenerateResult]
) -> None:
    ratio = larger[1].rows / small[1].rows

    assert 8 <= ratio <= 12
    assert len(customer_ids(small[0])) == 100
    assert len(customer_ids(larger[0])) == 1000


def test_entity_counts_scale_the_base_counts() -> None:
    assert entity_counts(1) == {"n_customers": 5000, "n_products": 400, "n_orders": 25000}
    assert entity_counts(0.02) == {"n_customers": 100, "n_products": 8, "n_orders": 500}
    assert entity_counts(0.00001) == {"n_customers": 1, "n_products": 1, "n_orders": 1}


def test_customers_export_has_the_mess_staging_must_clean(
    small: tuple[Mesh, GenerateResult],
) -> None:
    rows = read_rows(small[0].landing / "customers" / "customers")

    exact = Counter(tuple(row.values()) for row in rows)
    assert max(exact.values()) >= 2, "no re-delivered duplicate row"
    assert any(e != e.strip() for e in (row["email"] for row in rows)), "no padded email"
    assert any(e != e.lower() for e in (row["email"] for row in rows)), "no upper-case email"
    assert any(row["phone"] is None for row in rows), "no missing phone"
    versions: dict[int, set[datetime]] = defaultdict(set)
    for row in rows:
        versions[row["customer_id"]].add(row["updated_at"])
    assert any(len(updates) >= 2 for updates in versions.values()), "no late update"


def test_orders_are_exported_again_when_their_status_moves_on(
    small: tuple[Mesh, GenerateResult],
) -> None:
    rows = read_rows(small[0].landing / "orders" / "orders")
    statuses: dict[int, set[str]] = defaultdict(set)
    for row in rows:
        statuses[row["order_id"]].add(row["status"])

    assert any({"placed", "delivered"} <= seen for seen in statuses.values())
    assert {row["status"] for row in rows} <= {"placed", "shipped", "delivered", "cancelled"}


@pytest.mark.parametrize("scale", [0, -1, -0.5, float("nan"), float("inf")])
def test_a_scale_of_zero_or_less_is_refused(tmp_path: Path, scale: float) -> None:
    mesh = make_mesh(tmp_path / "mesh")

    with pytest.raises(MeshError, match="--scale must be a number greater than 0"):
        generate(mesh, scale=scale, as_of=AS_OF)

    assert not mesh.landing.exists()


def test_a_mesh_path_with_a_quote_can_be_generated(tmp_path: Path) -> None:
    mesh = make_mesh(tmp_path / "bob's mesh")

    result = generate(mesh, scale=SMALL, seed=42, as_of=AS_OF)

    assert {(f.domain, f.table) for f in result.files} == LANDING


EVENT_TIME = {
    ("orders", "orders"): "updated_at",
    ("orders", "payments"): "paid_at",
    ("fulfillment", "shipments"): "created_at",
    ("fulfillment", "delivery_events"): "event_at",
}


def test_an_append_exports_only_the_event_systems_as_new_files(
    appended: tuple[Mesh, GenerateResult],
) -> None:
    mesh, result = appended
    later = "2026-07-03T230000.parquet"

    assert result.export_to == AS_OF + timedelta(days=3)
    assert {(f.domain, f.table) for f in result.files} == {
        (domain, table) for domain, table in LANDING if domain in {"orders", "fulfillment"}
    }
    for f in result.files:
        assert sorted(p.name for p in f.path.parent.iterdir()) == [FIRST_FILE, later]
        assert result.rows > 0
    assert sorted(p.name for p in (mesh.landing / "customers" / "customers").iterdir()) == [
        FIRST_FILE
    ]
    exports = json.loads((mesh.landing / "exports.json").read_text())
    assert exports["exports"] == [AS_OF.isoformat(), result.export_to.isoformat()]


def test_an_append_holds_only_what_happened_after_the_last_export(
    appended: tuple[Mesh, GenerateResult],
) -> None:
    mesh, result = appended

    for (domain, table), column in EVENT_TIME.items():
        first = read_rows(mesh.landing / domain / table / FIRST_FILE)
        later = read_rows(mesh.landing / domain / table / result.files[0].path.name)
        assert all(row[column] <= AS_OF for row in first), table
        assert later and all(AS_OF < row[column] <= result.export_to for row in later), table
        assert {row["exported_at"] for row in later} == {result.export_to}


def test_an_append_continues_the_lives_of_earlier_orders(
    appended: tuple[Mesh, GenerateResult],
) -> None:
    mesh, result = appended
    first = read_rows(mesh.landing / "orders" / "orders" / FIRST_FILE)
    later = read_rows(mesh.landing / "orders" / "orders" / result.files[0].path.name)
    earlier_orders = {row["order_id"] for row in first}

    new_orders = {row["order_id"] for row in later if row["status"] == "placed"}
    moved_on = {row["order_id"] for row in later if row["status"] != "placed"}
    assert new_orders and not new_orders & earlier_orders
    assert moved_on & earlier_orders, "no earlier order was shipped or delivered later"


def test_appending_before_generating_says_what_to_do(tmp_path: Path) -> None:
    mesh = make_mesh(tmp_path / "mesh")

    with pytest.raises(MeshError, match="run `mesh generate` before appending"):
        append(mesh, days=1)


def test_an_append_of_no_days_is_refused(appended: tuple[Mesh, GenerateResult]) -> None:
    with pytest.raises(MeshError, match="--append-days must be 1 or more"):
        append(appended[0], days=0)

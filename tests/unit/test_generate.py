"""Landing data: deterministic, proportional to the scale, and as messy as real exports."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from mesh.errors import MeshError
from mesh.generate import GenerateResult, entity_counts, generate
from mesh.workspace import Mesh
from tests.unit.conftest import make_mesh

SMALL = 0.02

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


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def customer_ids(mesh: Mesh) -> set[str]:
    return {row["customer_id"] for row in read_rows(mesh.landing / "customers" / "customers.csv")}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Mesh, GenerateResult]:
    mesh = make_mesh(tmp_path_factory.mktemp("small") / "mesh")
    return mesh, generate(mesh, scale=SMALL, seed=42)


@pytest.fixture(scope="module")
def larger(tmp_path_factory: pytest.TempPathFactory) -> tuple[Mesh, GenerateResult]:
    mesh = make_mesh(tmp_path_factory.mktemp("larger") / "mesh")
    return mesh, generate(mesh, scale=0.2, seed=42)


def test_one_csv_per_source_table_in_its_domain_folder(small: tuple[Mesh, GenerateResult]) -> None:
    mesh, result = small

    assert {(f.domain, f.table) for f in result.files} == LANDING
    for landing in result.files:
        assert landing.path == mesh.landing / landing.domain / f"{landing.table}.csv"
    assert set(landing_bytes(mesh)) == {f"{domain}/{table}.csv" for domain, table in LANDING}


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
    generate(again, scale=SMALL, seed=42)

    assert landing_bytes(again) == landing_bytes(small[0])


def test_the_thread_count_does_not_change_the_files(tmp_path: Path) -> None:
    one = make_mesh(tmp_path / "one")
    two = make_mesh(tmp_path / "two")
    generate(one, scale=SMALL, seed=3, threads=1)
    generate(two, scale=SMALL, seed=3, threads=2)

    assert landing_bytes(one) == landing_bytes(two)


def test_a_different_seed_gives_different_files(
    tmp_path: Path, small: tuple[Mesh, GenerateResult]
) -> None:
    other = make_mesh(tmp_path / "other")
    generate(other, scale=SMALL, seed=43)

    ours, theirs = landing_bytes(small[0]), landing_bytes(other)
    assert ours["customers/customers.csv"] != theirs["customers/customers.csv"]
    assert ours["orders/orders.csv"] != theirs["orders/orders.csv"]
    # The fixed category tree is not random.
    assert ours["catalog/categories.csv"] == theirs["catalog/categories.csv"]


def test_regenerating_replaces_the_files(tmp_path: Path) -> None:
    reused = make_mesh(tmp_path / "reused")
    fresh = make_mesh(tmp_path / "fresh")
    generate(reused, scale=SMALL, seed=1)
    generate(reused, scale=SMALL, seed=2)
    generate(fresh, scale=SMALL, seed=2)

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
    path = small[0].landing / "customers" / "customers.csv"
    rows = read_rows(path)

    exact = Counter(tuple(row.values()) for row in rows)
    assert max(exact.values()) >= 2, "no re-delivered duplicate row"
    assert any(e != e.strip() for e in (row["email"] for row in rows)), "no padded email"
    assert any(e != e.lower() for e in (row["email"] for row in rows)), "no upper-case email"
    assert any(row["phone"] == "" for row in rows), "no missing phone"
    versions: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        versions[row["customer_id"]].add(row["updated_at"])
    assert any(len(updates) >= 2 for updates in versions.values()), "no late update"


def test_orders_are_exported_again_when_their_status_moves_on(
    small: tuple[Mesh, GenerateResult],
) -> None:
    rows = read_rows(small[0].landing / "orders" / "orders.csv")
    statuses: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        statuses[row["order_id"]].add(row["status"])

    assert any({"placed", "delivered"} <= seen for seen in statuses.values())
    assert {row["status"] for row in rows} <= {"placed", "shipped", "delivered", "cancelled"}


@pytest.mark.parametrize("scale", [0, -1, -0.5, float("nan"), float("inf")])
def test_a_scale_of_zero_or_less_is_refused(tmp_path: Path, scale: float) -> None:
    mesh = make_mesh(tmp_path / "mesh")

    with pytest.raises(MeshError, match="--scale must be a number greater than 0"):
        generate(mesh, scale=scale)

    assert not mesh.landing.exists()


def test_a_mesh_path_with_a_quote_can_be_generated(tmp_path: Path) -> None:
    mesh = make_mesh(tmp_path / "bob's mesh")

    result = generate(mesh, scale=SMALL, seed=42)

    assert {(f.domain, f.table) for f in result.files} == LANDING

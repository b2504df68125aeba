"""Landing contracts: export files against the columns their sources declare."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from mesh.data.landing import check, file_state
from mesh.discovery.domains import discover
from mesh.workspace import Mesh
from tests.unit.conftest import add_domain, make_mesh

DECLARED = [
    {"name": "order_id", "data_type": "bigint"},
    {"name": "amount", "data_type": "decimal(18, 2)"},
    {"name": "ordered_at", "data_type": "timestamp"},
]
GOOD = "select 1::bigint as order_id, 9.5::decimal(18,2) as amount, now()::timestamp as ordered_at"


@pytest.fixture
def shop(tmp_path: Path) -> Mesh:
    mesh = make_mesh(tmp_path / "mesh")
    path = add_domain(mesh, "orders")
    sources = {
        "version": 2,
        "sources": [{"name": "checkout", "tables": [{"name": "orders", "columns": DECLARED}]}],
    }
    (path / "models" / "_sources.yml").write_text(yaml.safe_dump(sources))
    return mesh


def export(mesh: Mesh, name: str, select: str) -> Path:
    path = mesh.landing / "orders" / "orders" / f"{name}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(f"copy ({select}) to '{path}' (format parquet)")
    return path


def problems(mesh: Mesh) -> list[str]:
    return check(mesh, discover(mesh)["orders"])


def test_exports_with_the_declared_columns_pass(shop: Mesh) -> None:
    export(shop, "a", GOOD)
    export(shop, "b", f"select *, 'gold' as loyalty_tier from ({GOOD})")  # extra: allowed

    assert problems(shop) == []


def test_a_missing_column_names_the_file_the_source_and_the_column(shop: Mesh) -> None:
    export(shop, "a", GOOD)
    export(shop, "b", f"select * exclude (amount) from ({GOOD})")

    assert problems(shop) == [
        "warehouse/landing/orders/orders/b.parquet (source checkout.orders): "
        "column amount (decimal(18,2)) is missing"
    ]


def test_a_column_of_another_type_is_named_with_both_types(shop: Mesh) -> None:
    export(shop, "a", f"select * replace ('soon' as ordered_at) from ({GOOD})")

    assert problems(shop) == [
        "warehouse/landing/orders/orders/a.parquet (source checkout.orders): "
        "column ordered_at is varchar, the source declares timestamp"
    ]


@pytest.mark.parametrize("content", [b"", b"PAR1 not really parquet"])
def test_an_unreadable_file_is_named(shop: Mesh, content: bytes) -> None:
    export(shop, "a", GOOD).write_bytes(content)

    (problem,) = problems(shop)
    assert problem.startswith(
        "warehouse/landing/orders/orders/a.parquet (source checkout.orders): cannot be read: "
    )


def test_files_a_publish_already_read_unchanged_are_not_checked_again(shop: Mesh) -> None:
    bad = export(shop, "a", f"select * exclude (amount) from ({GOOD})")
    relative = str(bad.relative_to(shop.root))
    domain = discover(shop)["orders"]

    assert check(shop, domain, passed={relative: file_state(bad)}) == []
    assert check(shop, domain, passed={relative: "0 0"}) != []

"""Landing integrity and contracts: dbt reads exactly the export files checked here, each
listed and matched by a delivery manifest, with the columns its source declares."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
import yaml

from mesh.data.landing import (
    check,
    dbt_env,
    delivered,
    file_state,
    landing_state,
    sql_list,
    verify,
    write_delivery,
)
from mesh.discovery.domains import discover
from mesh.workspace import Mesh
from tests.unit.conftest import add_domain, make_mesh

DECLARED = [
    {"name": "order_id", "data_type": "bigint"},
    {"name": "amount", "data_type": "decimal(18, 2)"},
    {"name": "ordered_at", "data_type": "timestamp"},
]
GOOD = "select 1::bigint as order_id, 9.5::decimal(18,2) as amount, now()::timestamp as ordered_at"
FOLDER = "warehouse/landing/orders/orders"


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


def export(mesh: Mesh, name: str, select: str = GOOD, *, deliver: bool = True) -> Path:
    """An export file written with `select`, and (`deliver`) its own delivery manifest, as
    the export job writes them."""
    path = mesh.landing / "orders" / "orders" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    quoted = str(path).replace("'", "''")
    # DuckDB's COPY writes to the literal name, glob characters included.
    rows = con.execute(f"copy ({select}) to '{quoted}' (format parquet)").fetchone()
    con.close()
    if deliver:
        write_delivery(
            mesh.landing / "orders",
            name.replace("/", "_"),
            [delivered(path, rows[0] if rows else 0)],
        )
    return path


def problems(mesh: Mesh) -> list[str]:
    return check(mesh, discover(mesh)["orders"])


def read_by_dbt(mesh: Mesh) -> list[tuple[object, ...]]:
    """The rows the verified list hands dbt, read as the source's external_location does."""
    found = verify(mesh, discover(mesh)["orders"])
    assert found.problems == []
    sql = sql_list(found.files["orders"])
    return duckdb.sql(f"select * from read_parquet({sql}, union_by_name = true)").fetchall()


def test_exports_with_the_declared_columns_pass(shop: Mesh) -> None:
    export(shop, "a.parquet")
    export(shop, "b.parquet", f"select *, 'gold' as loyalty_tier from ({GOOD})")  # extra: allowed

    assert problems(shop) == []


def test_a_missing_column_names_the_file_the_source_and_the_column(shop: Mesh) -> None:
    export(shop, "a.parquet")
    export(shop, "b.parquet", f"select * exclude (amount) from ({GOOD})")

    assert problems(shop) == [
        f"{FOLDER}/b.parquet: (source checkout.orders): column amount (decimal(18,2)) is missing"
    ]


def test_a_column_of_another_type_is_named_with_both_types(shop: Mesh) -> None:
    export(shop, "a.parquet", f"select * replace ('soon' as ordered_at) from ({GOOD})")

    assert problems(shop) == [
        f"{FOLDER}/a.parquet: (source checkout.orders): "
        "column ordered_at is varchar, the source declares timestamp"
    ]


@pytest.mark.parametrize("content", [b"", b"PAR1 not really parquet"])
def test_an_unreadable_file_is_named(shop: Mesh, content: bytes) -> None:
    path = export(shop, "a.parquet", deliver=False)
    path.write_bytes(content)
    write_delivery(shop.landing / "orders", "a", [delivered(path, 1)])

    (problem,) = problems(shop)
    assert problem.startswith(f"{FOLDER}/a.parquet: (source checkout.orders): cannot be read: ")


def test_files_a_publish_already_read_unchanged_skip_only_the_column_check(shop: Mesh) -> None:
    bad = export(shop, "a.parquet", f"select * exclude (amount) from ({GOOD})")
    relative = str(bad.relative_to(shop.root))
    domain = discover(shop)["orders"]

    assert check(shop, domain, passed={relative: file_state(bad)}) == []
    assert check(shop, domain, passed={relative: "0 0"}) != []


# Names an operational system could drop that a glob, a shell or SQL would not take literally.
HOSTILE_NAMES = [
    "a[1].parquet",
    "*.parquet",
    "b?.parquet",
    "back\\slash.parquet",
    "with space.parquet",
    "quote'd.parquet",
    'double"quote.parquet',
    "näme.parquet",
    ".hidden.parquet",
    "a.parquet.partial",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_name_outside_the_pattern_is_refused_naming_it(shop: Mesh, name: str) -> None:
    export(shop, "a1.parquet")
    export(shop, name, f"select * exclude (amount) from ({GOOD})")

    (problem,) = problems(shop)
    assert problem.startswith(f"{FOLDER}/{name}: name {name!r} is not an export file name")
    assert "rename or remove it" in problem


def test_a_glob_name_never_makes_dbt_read_another_file(shop: Mesh) -> None:
    """Today's attack: `a[1].parquet` checked, while a glob reads `a1.parquet` instead."""
    export(shop, "a1.parquet")
    (shop.landing / "orders/orders/a[1].parquet").write_bytes(b"")

    assert problems(shop)  # refused before dbt runs
    (shop.landing / "orders/orders/a[1].parquet").unlink()
    assert len(read_by_dbt(shop)) == 1


def test_the_mesh_path_may_hold_glob_characters_quotes_and_braces(tmp_path: Path) -> None:
    root = tmp_path / "mesh [1] {x} it's é"
    mesh = make_mesh(root)
    add_domain(mesh, "orders", sources={"checkout": ["orders"]})
    export(mesh, "a.parquet")
    # A sibling folder the glob `[1]` would match instead.
    decoy = make_mesh(tmp_path / "mesh 1 {x} it's é")
    export(decoy, "a.parquet", "select 2::bigint as order_id")

    assert [row[0] for row in read_by_dbt(mesh)] == [1]
    domain = discover(mesh)["orders"]
    files = verify(mesh, domain).files
    (variable,) = dbt_env(domain, files).values()
    # dbt-duckdb formats the location with str.format_map, which undoes the doubled braces.
    assert variable.format_map({}) == sql_list(files["orders"])


def test_a_symbolic_link_is_refused_inside_or_outside_the_folder(
    shop: Mesh, tmp_path: Path
) -> None:
    inside = export(shop, "a.parquet")
    outside = tmp_path / "elsewhere.parquet"
    duckdb.sql(f"copy ({GOOD}) to '{outside}' (format parquet)")
    for name, target in (("b.parquet", inside), ("c.parquet", outside)):
        link = inside.with_name(name)
        link.symlink_to(target)
        write_delivery(shop.landing / "orders", name, [delivered(link, 1)])

    assert problems(shop) == [
        f"{FOLDER}/{name}: is a symbolic link; exports must be regular files in the landing "
        "folder: copy the file there instead"
        for name in ("b.parquet", "c.parquet")
    ]


def test_a_table_folder_that_is_a_link_outside_the_landing_folder_is_refused(
    shop: Mesh, tmp_path: Path
) -> None:
    export(shop, "a.parquet")
    folder = shop.landing / "orders" / "orders"
    folder.rename(tmp_path / "moved")
    folder.symlink_to(tmp_path / "moved")

    (problem,) = problems(shop)
    assert problem.startswith(f"{FOLDER}: is a symbolic link;")


def test_a_file_missing_from_the_manifests_is_refused(shop: Mesh) -> None:
    export(shop, "a.parquet")
    export(shop, "b.parquet", deliver=False)

    assert problems(shop) == [
        f"{FOLDER}/b.parquet: is in no delivery manifest (_deliveries/); remove it, or have "
        "the export job deliver it again with its manifest"
    ]


def test_a_listed_file_that_is_missing_is_refused(shop: Mesh) -> None:
    export(shop, "a.parquet")
    export(shop, "b.parquet").unlink()

    assert problems(shop) == [
        f"{FOLDER}/b.parquet: listed in a delivery manifest but missing; restore it or have "
        "the export job deliver it again"
    ]


def test_a_flipped_byte_with_the_size_kept_is_refused(shop: Mesh) -> None:
    path = export(shop, "a.parquet", "select range::bigint as order_id, 9.5::decimal(18,2) as "
                  "amount, now()::timestamp as ordered_at from range(5000)")  # fmt: skip
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01  # inside a data page: still readable Parquet
    path.write_bytes(bytes(data))

    assert problems(shop) == [
        f"{FOLDER}/a.parquet: its content differs from its delivery manifest (sha256); remove "
        "it, or have the export job deliver it again with its manifest"
    ]


def test_a_file_of_another_size_is_refused_before_its_content_is_hashed(shop: Mesh) -> None:
    path = export(shop, "a.parquet")
    with path.open("ab") as file:
        file.write(b"\0")

    (problem,) = problems(shop)
    assert problem.startswith(f"{FOLDER}/a.parquet: is {path.stat().st_size} bytes, its delivery")


def test_a_row_count_other_than_the_manifests_is_refused(shop: Mesh) -> None:
    path = export(shop, "a.parquet", deliver=False)
    write_delivery(shop.landing / "orders", "a", [delivered(path, 7)])

    assert problems(shop) == [
        f"{FOLDER}/a.parquet: (source checkout.orders): holds 1 rows, its delivery manifest says 7"
    ]


def test_an_incremental_export_adds_a_manifest_and_both_are_read(shop: Mesh) -> None:
    export(shop, "2026-01-01.parquet")
    export(shop, "2026-01-02.parquet")

    assert len(read_by_dbt(shop)) == 2


def test_no_manifest_at_all_says_to_generate(shop: Mesh) -> None:
    export(shop, "a.parquet", deliver=False)

    assert problems(shop)[0] == (
        "warehouse/landing/orders/_deliveries: no delivery manifests; run `mesh generate`, or "
        "have the export job write one per delivery"
    )


def test_landing_state_names_every_file_of_the_table_folders_without_following_links(
    shop: Mesh, tmp_path: Path
) -> None:
    path = export(shop, "a.parquet")
    (path.parent / "b.parquet").symlink_to(tmp_path / "nowhere.parquet")  # dangling: no error

    state = landing_state(shop, discover(shop)["orders"])

    assert sorted(state) == [f"{FOLDER}/a.parquet", f"{FOLDER}/b.parquet"]
    assert os.path.lexists(path.parent / "b.parquet")


def test_a_domain_without_sources_needs_no_landing_folder(tmp_path: Path) -> None:
    mesh = make_mesh(tmp_path / "mesh")
    add_domain(mesh, "analytics")

    assert check(mesh, discover(mesh)["analytics"]) == []


def test_a_damaged_manifest_or_two_disagreeing_ones_are_refused(shop: Mesh) -> None:
    path = export(shop, "a.parquet")
    write_delivery(shop.landing / "orders", "again", [delivered(path, 2)])
    (shop.landing / "orders/_deliveries/broken.json").write_text("{not json")

    found = problems(shop)

    assert found[0].startswith(
        "warehouse/landing/orders/_deliveries/again.json: lists orders/a.parquet again, "
        "with other content"
    )
    assert found[1].startswith(
        "warehouse/landing/orders/_deliveries/broken.json: cannot be read as a delivery manifest"
    )

"""Finding the mesh you stand in, like git finds its repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.errors import MeshError, MeshNotFoundError
from mesh.workspace import Mesh
from tests.unit.conftest import add_domain, make_mesh


def test_find_returns_the_root_from_a_nested_subdirectory(tmp_path: Path) -> None:
    mesh = make_mesh(tmp_path / "shop")
    nested = add_domain(mesh, "orders") / "models" / "staging" / "checkout"
    nested.mkdir(parents=True)

    assert Mesh.find(nested).root == (tmp_path / "shop").resolve()


def test_find_at_the_root_returns_the_root(tmp_path: Path) -> None:
    make_mesh(tmp_path / "shop")

    assert Mesh.find(tmp_path / "shop").root == (tmp_path / "shop").resolve()


def test_find_starts_from_the_working_directory_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mesh = make_mesh(tmp_path / "shop")
    nested = add_domain(mesh, "orders") / "models"
    monkeypatch.chdir(nested)

    assert Mesh.find().root == (tmp_path / "shop").resolve()


def test_find_outside_a_mesh_says_what_a_mesh_is(tmp_path: Path) -> None:
    elsewhere = tmp_path / "not-a-mesh" / "deeper"
    elsewhere.mkdir(parents=True)

    with pytest.raises(MeshNotFoundError) as raised:
        Mesh.find(elsewhere)

    message = str(raised.value)
    assert str(elsewhere.resolve()) in message
    assert "`domains/`" in message
    assert "profiles.yml" in message
    assert isinstance(raised.value, MeshError)


def test_a_domains_folder_without_profiles_is_not_a_mesh(tmp_path: Path) -> None:
    (tmp_path / "half" / "domains").mkdir(parents=True)

    with pytest.raises(MeshNotFoundError):
        Mesh.find(tmp_path / "half" / "domains")


def test_two_copies_are_independent_meshes(tmp_path: Path) -> None:
    first = make_mesh(tmp_path / "copy-1")
    second = make_mesh(tmp_path / "copy-2")
    inside_first = add_domain(first, "orders")
    inside_second = add_domain(second, "orders")

    found_first = Mesh.find(inside_first)
    found_second = Mesh.find(inside_second)

    assert found_first.root == (tmp_path / "copy-1").resolve()
    assert found_second.root == (tmp_path / "copy-2").resolve()
    assert found_first.published_database("orders") != found_second.published_database("orders")
    assert found_first.landing_dir("orders").is_relative_to(found_first.root)
    assert found_second.landing_dir("orders").is_relative_to(found_second.root)


def test_the_nearest_mesh_wins_when_one_is_inside_another(tmp_path: Path) -> None:
    make_mesh(tmp_path / "outer")
    inner = make_mesh(tmp_path / "outer" / "vendor" / "inner")
    start = inner.root / "domains"

    assert Mesh.find(start).root == inner.root.resolve()


def test_every_platform_file_lives_under_the_warehouse(tmp_path: Path) -> None:
    mesh = Mesh(tmp_path)
    warehouse = tmp_path / "warehouse"

    assert mesh.landing_dir("orders") == warehouse / "landing" / "orders"
    assert mesh.builds == warehouse / "build"
    assert mesh.logs == warehouse / "logs"
    assert mesh.published_dir("orders") == warehouse / "published" / "orders" / "current"
    assert mesh.published_database("orders") == (
        warehouse / "published" / "orders" / "current" / "orders.duckdb"
    )
    assert mesh.published_manifest("orders") == (
        warehouse / "published" / "orders" / "current" / "manifest.json"
    )

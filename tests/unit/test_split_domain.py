"""A domain in a repository of its own: MESH_HOME names the mesh, the dbt project you stand
in is one of its domains, and the mesh knows it by its publishes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from mesh.discovery import graph
from mesh.discovery.domains import discover, require_projects, require_published, standing_in
from mesh.errors import (
    DomainConfigError,
    MeshNotFoundError,
    MissingPublishError,
    UnknownDomainError,
)
from mesh.pipeline.fingerprint import code_fingerprint, code_inputs
from mesh.workspace import Mesh
from tests.unit.conftest import add_domain, full_record, make_mesh


def own_repository(folder: Path, name: str) -> Path:
    """A dbt project outside any mesh, as a domain team keeps it in its own repository."""
    (folder / "models" / "marts").mkdir(parents=True)
    (folder / "dbt_project.yml").write_text(yaml.safe_dump({"name": name, "profile": "mesh"}))
    return folder


def published(mesh: Mesh, name: str, upstreams: dict[str, str] | None = None) -> None:
    """A publish of `name` with a record, made current, as `mesh build` leaves it."""
    folder = mesh.published / name / "p1"
    folder.mkdir(parents=True)
    record = full_record(name, "p1", {"upstreams": upstreams or {}})
    (folder / "publish.json").write_text(json.dumps(record))
    (mesh.published / name / "current").symlink_to("p1")


def test_mesh_home_names_the_mesh_and_the_project_you_stand_in(tmp_path: Path) -> None:
    mesh = make_mesh(tmp_path / "shop")
    project = own_repository(tmp_path / "catalog-repo", "catalog")
    nested = project / "models" / "marts"

    found = Mesh.find(nested, environ={"MESH_HOME": str(tmp_path / "shop")})

    assert found.root == mesh.root.resolve()
    assert found.outside == project.resolve()


def test_inside_the_mesh_mesh_home_is_the_mesh_and_nothing_is_outside(tmp_path: Path) -> None:
    mesh = make_mesh(tmp_path / "shop")
    orders = add_domain(mesh, "orders")

    found = Mesh.find(orders, environ={"MESH_HOME": str(mesh.root)})

    assert found == Mesh(mesh.root.resolve())


def test_without_mesh_home_the_mesh_is_found_by_walking_up(tmp_path: Path) -> None:
    mesh = make_mesh(tmp_path / "shop")

    assert Mesh.find(add_domain(mesh, "orders"), environ={}) == Mesh(mesh.root.resolve())


def test_mesh_home_that_is_not_a_mesh_is_one_line_naming_it(tmp_path: Path) -> None:
    with pytest.raises(MeshNotFoundError, match=r"MESH_HOME is .*nowhere, which is not a mesh"):
        Mesh.find(tmp_path, environ={"MESH_HOME": str(tmp_path / "nowhere")})


def test_the_project_you_stand_in_is_a_domain_named_by_its_project(tmp_path: Path) -> None:
    mesh = make_mesh(tmp_path / "shop")
    add_domain(mesh, "analytics", upstreams=["catalog"])
    project = own_repository(tmp_path / "repo", "catalog")
    outside = Mesh(mesh.root, outside=project)

    domains = discover(outside)

    assert list(domains) == ["analytics", "catalog"]
    assert domains["catalog"].path == project
    assert not domains["catalog"].published_only
    assert standing_in(outside, domains) == "catalog"
    assert graph.build_order(domains) == ["catalog", "analytics"]


def test_a_project_outside_with_the_name_of_a_domain_folder_is_refused(tmp_path: Path) -> None:
    mesh = make_mesh(tmp_path / "shop")
    add_domain(mesh, "orders")
    project = own_repository(tmp_path / "orders-copy", "orders")

    with pytest.raises(DomainConfigError, match=r"names the project 'orders', which is also"):
        discover(Mesh(mesh.root, outside=project))


def test_a_domain_known_only_by_its_publishes_is_read_and_never_built(fake_mesh: Mesh) -> None:
    add_domain(fake_mesh, "orders")
    add_domain(fake_mesh, "analytics", upstreams=["catalog", "orders"])
    published(fake_mesh, "orders")
    published(fake_mesh, "catalog", upstreams={"orders": "p1"})

    domains = discover(fake_mesh)

    catalog = domains["catalog"]
    assert catalog.published_only
    assert catalog.upstreams == ("orders",)
    assert not domains["orders"].published_only
    assert standing_in(fake_mesh, domains) is None
    # `mesh build analytics` builds analytics alone: catalog is read, orders is not pulled
    # in through catalog (what catalog consumes is its own repository's business).
    assert graph.with_upstreams(domains, ["analytics"]) == {"analytics", "catalog", "orders"}
    assert graph.with_upstreams(domains, ["catalog"]) == {"catalog"}
    assert graph.downstream_of(domains, "orders") == {"analytics", "catalog"}
    require_published(fake_mesh, domains, {"catalog", "orders"})


def test_building_a_domain_known_only_by_its_publishes_says_where(fake_mesh: Mesh) -> None:
    published(fake_mesh, "catalog")

    with pytest.raises(UnknownDomainError, match=r"Cannot build catalog here.*MESH_HOME="):
        require_projects(fake_mesh, [discover(fake_mesh)["catalog"]], "build")


def test_a_domain_published_elsewhere_without_a_publish_says_how(fake_mesh: Mesh) -> None:
    add_domain(fake_mesh, "analytics", upstreams=["catalog"])
    (fake_mesh.published / "catalog").mkdir(parents=True)  # a first publish never finished
    domains = discover(fake_mesh)

    with pytest.raises(MissingPublishError) as raised:
        require_published(fake_mesh, domains, {"catalog"})

    assert str(raised.value).startswith("analytics consumes catalog, which has no current publish")
    assert f"run `mesh build` in its dbt project there with MESH_HOME={fake_mesh.root}" in str(
        raised.value
    )


def test_an_upstream_nobody_has_built_anywhere_names_mesh_home(fake_mesh: Mesh) -> None:
    add_domain(fake_mesh, "analytics", upstreams=["catalog"])

    with pytest.raises(DomainConfigError, match=r"no such domain under domains/ nor any publish"):
        graph.build_order(discover(fake_mesh))


def test_moving_a_domain_out_of_the_mesh_does_not_change_its_code_fingerprint(
    tmp_path: Path,
) -> None:
    mesh = make_mesh(tmp_path / "shop")
    (mesh.root / "shared_macros").mkdir()
    inside = add_domain(mesh, "catalog")
    (inside / "models" / "products.sql").write_text("select 1 as product_id\n")
    before = code_fingerprint(code_inputs(mesh, discover(mesh)["catalog"]))

    moved = shutil.move(inside, tmp_path / "catalog-repo")
    outside = Mesh(mesh.root, outside=Path(moved))

    assert code_fingerprint(code_inputs(outside, discover(outside)["catalog"])) == before

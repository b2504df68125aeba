"""Reading domains from their dbt projects: names, upstreams and landing tables."""

from __future__ import annotations

import pytest
import yaml

from mesh.discovery.domains import discover, load_domain, select
from mesh.errors import DomainConfigError, UnknownDomainError
from mesh.workspace import Mesh
from tests.unit.conftest import add_domain


def test_discover_finds_every_domain_folder_with_a_dbt_project(fake_mesh: Mesh) -> None:
    add_domain(fake_mesh, "orders")
    add_domain(fake_mesh, "customers")
    (fake_mesh.domains_dir / "notes").mkdir()  # not a dbt project

    found = discover(fake_mesh)

    assert list(found) == ["customers", "orders"]
    assert found["orders"].path == fake_mesh.domains_dir / "orders"


def test_upstreams_are_the_manifest_names_of_the_loom_config(fake_mesh: Mesh) -> None:
    add_domain(fake_mesh, "analytics", upstreams=["orders", "customers", "catalog"])

    domain = discover(fake_mesh)["analytics"]

    assert domain.upstreams == ("catalog", "customers", "orders")
    assert domain.loom_config == fake_mesh.domains_dir / "analytics" / "dbt_loom.config.yml"


def test_a_domain_without_loom_config_consumes_nothing(fake_mesh: Mesh) -> None:
    add_domain(fake_mesh, "customers")

    assert discover(fake_mesh)["customers"].upstreams == ()


def test_source_tables_come_from_sources_in_any_models_yaml(fake_mesh: Mesh) -> None:
    path = add_domain(fake_mesh, "orders", sources={"checkout": ["orders", "payments"]})
    deeper = path / "models" / "staging" / "returns" / "deep"
    deeper.mkdir(parents=True)
    (deeper / "_returns__sources.yml").write_text(
        yaml.safe_dump(
            {
                "version": 2,
                "sources": [
                    {"name": "returns", "tables": [{"name": "returns"}, {"name": "orders"}]},
                    {"name": "empty"},
                ],
            }
        )
    )
    (path / "models" / "marts.yml").write_text(
        yaml.safe_dump({"version": 2, "models": [{"name": "orders_v1"}]})
    )

    domain = discover(fake_mesh)["orders"]

    assert domain.source_tables == ("orders", "payments", "returns")
    assert domain.landing_tables(fake_mesh) == [
        fake_mesh.landing / "orders" / "orders",
        fake_mesh.landing / "orders" / "payments",
        fake_mesh.landing / "orders" / "returns",
    ]


def test_yaml_outside_models_is_not_read_for_sources(fake_mesh: Mesh) -> None:
    path = add_domain(fake_mesh, "orders")
    (path / "elsewhere.yml").write_text(
        yaml.safe_dump({"sources": [{"name": "s", "tables": [{"name": "t"}]}]})
    )

    assert discover(fake_mesh)["orders"].source_tables == ()


def test_a_project_named_unlike_its_folder_is_rejected(fake_mesh: Mesh) -> None:
    path = add_domain(fake_mesh, "orders", project_name="checkout")

    with pytest.raises(DomainConfigError) as raised:
        load_domain(path)

    assert "'checkout'" in str(raised.value)
    assert "'orders'" in str(raised.value)
    with pytest.raises(DomainConfigError):
        discover(fake_mesh)


def test_a_project_without_a_name_is_rejected(fake_mesh: Mesh) -> None:
    path = add_domain(fake_mesh, "orders")
    (path / "dbt_project.yml").write_text("version: '1.0.0'\n")

    with pytest.raises(DomainConfigError, match="None"):
        load_domain(path)


def test_invalid_yaml_is_a_config_error_naming_the_file(fake_mesh: Mesh) -> None:
    path = add_domain(fake_mesh, "orders")
    (path / "dbt_project.yml").write_text("name: [orders\n")

    with pytest.raises(DomainConfigError, match=r"dbt_project\.yml is not valid YAML"):
        load_domain(path)


def test_a_loom_manifest_without_a_name_is_a_config_error(fake_mesh: Mesh) -> None:
    path = add_domain(fake_mesh, "analytics")
    (path / "dbt_loom.config.yml").write_text(yaml.safe_dump({"manifests": [{"type": "file"}]}))

    with pytest.raises(DomainConfigError, match="not a valid dbt-loom configuration"):
        load_domain(path)


def test_select_returns_the_named_domains_in_the_given_order(fake_mesh: Mesh) -> None:
    add_domain(fake_mesh, "orders")
    add_domain(fake_mesh, "customers")
    domains = discover(fake_mesh)

    assert [d.name for d in select(domains, ["orders", "customers"])] == ["orders", "customers"]


def test_select_with_an_unknown_name_lists_the_known_domains(fake_mesh: Mesh) -> None:
    add_domain(fake_mesh, "orders")
    add_domain(fake_mesh, "customers")

    with pytest.raises(UnknownDomainError) as raised:
        select(discover(fake_mesh), ["orders", "ordrs"])

    assert str(raised.value) == (
        "Unknown domain 'ordrs'; the domains of this mesh are: customers, orders."
    )


def test_select_names_every_unknown_domain(fake_mesh: Mesh) -> None:
    add_domain(fake_mesh, "orders")

    with pytest.raises(UnknownDomainError, match=r"Unknown domains 'a', 'b'; .*: orders\."):
        select(discover(fake_mesh), ["a", "b"])


def test_sources_declared_in_dot_yaml_files_are_read(fake_mesh: Mesh) -> None:
    path = add_domain(fake_mesh, "orders")
    (path / "models" / "_sources.yaml").write_text(
        yaml.safe_dump({"sources": [{"name": "checkout", "tables": [{"name": "orders"}]}]})
    )

    assert discover(fake_mesh)["orders"].source_tables == ("orders",)


def test_a_project_file_that_is_not_a_mapping_is_a_config_error(fake_mesh: Mesh) -> None:
    path = add_domain(fake_mesh, "orders")
    (path / "dbt_project.yml").write_text("- orders\n")

    with pytest.raises(DomainConfigError):
        load_domain(path)

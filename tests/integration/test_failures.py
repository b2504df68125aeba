"""Bad input and failing builds: one clear message, a non-zero exit, published data unchanged."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

from tests.integration.conftest import copy_repo, mesh

pytestmark = pytest.mark.integration


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_failing_domain_is_named_with_its_node_and_downstream_is_skipped(mesh_copy: Path) -> None:
    published = mesh_copy / "warehouse/published/orders/current"
    publish_before = published.readlink()
    database_before = _digest(published / "orders.duckdb")
    # A change that breaks a data test of the orders product: negative quantities.
    model = mesh_copy / "domains/orders/models/marts/order_lines_v1.sql"
    model.write_text(
        model.read_text().replace("order_lines.quantity,", "-order_lines.quantity as quantity,")
    )

    run = mesh(mesh_copy, "build", "analytics", check=False)

    assert run.returncode != 0
    assert "orders: FAILED" in run.stderr
    assert "accepted_range_order_lines_v1_quantity" in run.stderr  # the failing node
    assert "Got " in run.stderr and "results" in run.stderr  # dbt's own message
    assert "fulfillment: skipped, upstream orders did not publish" in run.stdout
    assert "analytics: skipped" in run.stdout
    assert re.search(r"customers: (published|unchanged)", run.stdout)  # independent domains go on
    assert "Traceback" not in run.output
    assert published.readlink() == publish_before
    assert _digest(published / "orders.duckdb") == database_before


def test_a_build_that_cannot_be_prepared_fails_only_its_domain(mesh_copy: Path) -> None:
    # The folder customers' staging goes in cannot be made (as on a full or broken disk).
    blocker = mesh_copy / "warehouse/build/customers"
    shutil.rmtree(blocker, ignore_errors=True)
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a folder")
    published = mesh_copy / "warehouse/published/customers/current"
    before = published.readlink()

    run = mesh(mesh_copy, "build", "catalog", "customers", "--full", check=False)

    assert run.returncode != 0
    assert "customers: FAILED" in run.stderr
    assert "could not be prepared" in run.stderr and "warehouse/build/customers" in run.stderr
    assert "catalog: published" in run.stdout  # the other domain of the build goes on
    assert "Traceback" not in run.output
    assert published.readlink() == before


def test_contract_violation_fails_the_build(mesh_copy: Path) -> None:
    model = mesh_copy / "domains/customers/models/marts/customers_v1.sql"
    model.write_text(model.read_text().replace("city,", "city, 1 as surprise_column,"))
    run = mesh(mesh_copy, "build", "customers", check=False)
    assert run.returncode != 0
    assert "customers: FAILED" in run.stderr
    assert "contract" in run.stderr.lower()
    assert "surprise_column" in run.stderr


@pytest.mark.parametrize("access", ["private", "protected"])
def test_ref_to_another_domains_internal_model_is_an_access_error(
    mesh_copy: Path, access: str
) -> None:
    project = mesh_copy / "domains/orders/dbt_project.yml"
    project.write_text(project.read_text().replace("+access: private", f"+access: {access}"))
    sneaky = mesh_copy / "domains/analytics/models/marts/sneaky_orders.sql"
    sneaky.write_text("select * from {{ ref('orders', 'int_orders_totaled') }}\n")

    run = mesh(mesh_copy, "build", "analytics", check=False)

    assert re.search(r"orders: (published|unchanged)", run.stdout)
    assert run.returncode != 0
    assert "analytics: FAILED" in run.stderr
    assert "int_orders_totaled" in run.stderr
    assert f"which is not allowed because the referenced node is {access}" in run.stderr.replace(
        "\n", " "
    )


def test_build_before_generate_names_the_missing_files(tmp_path: Path) -> None:
    root = copy_repo(tmp_path / "mesh")
    run = mesh(root, "build", check=False)
    assert run.returncode == 1
    assert "warehouse/landing/orders/orders" in run.stderr
    assert "mesh generate" in run.stderr
    assert "Traceback" not in run.output


def test_unknown_domain_lists_the_known_ones(mesh_copy: Path) -> None:
    run = mesh(mesh_copy, "build", "invoices", check=False)
    assert run.returncode == 1
    assert "invoices" in run.stderr
    assert "analytics, catalog, customers, fulfillment, orders" in run.stderr
    assert "Traceback" not in run.output


def test_invalid_sql_prints_duckdbs_message(mesh_copy: Path) -> None:
    run = mesh(mesh_copy, "query", "select nope from orders.main.orders_v2", check=False)
    assert run.returncode == 1
    assert 'Referenced column "nope" not found' in run.stderr
    assert "Traceback" not in run.output


def test_mesh_is_the_directory_you_stand_in(mesh_copy: Path, tmp_path: Path) -> None:
    inside = mesh(mesh_copy / "domains/orders/models", "products", "--format", "json").json()
    assert {p["domain"] for p in inside} >= {"orders", "analytics"}
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    run = mesh(outside, "products", check=False)
    assert run.returncode == 1
    assert "No mesh found" in run.stderr


def test_a_domain_without_landing_data_fails_alone(mesh_copy: Path) -> None:
    """Missing exports stop only the domain that reads them (and what consumes it); a domain
    that does not read them still builds and publishes, and the summary names both."""
    shutil.rmtree(mesh_copy / "warehouse/landing/customers")
    run = mesh(mesh_copy, "build", "catalog", "customers", "--only", "--full", check=False)
    assert run.returncode == 1
    assert re.search(
        r"customers: FAILED after [\d.]+ s, its landing data is missing "
        r"\(warehouse/landing/customers/customers\); run `mesh generate` to create it",
        run.output,
    )
    assert "catalog: published" in run.output
    assert "1 of 2 domains did not publish: customers." in run.output
    assert "Traceback" not in run.output

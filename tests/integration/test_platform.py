"""The self-serve platform: publish records, failed builds that change nothing, history and
rollback, lineage, and new domains in one command. Crashes and concurrency: test_reliability."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from tests.integration.conftest import Run, mesh

pytestmark = pytest.mark.integration


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _digests(folder: Path) -> dict[str, str]:
    """Every file of a publish folder (output ports included) by relative path."""
    return {str(p.relative_to(folder)): _digest(p) for p in folder.rglob("*") if p.is_file()}


def _published(root: Path, domain: str) -> Path:
    return root / "warehouse/published" / domain


def test_publish_record_has_commit_products_rows_and_checksums(
    built_mesh: tuple[Path, Run],
) -> None:
    root, _ = built_mesh
    record = json.loads((_published(root, "orders") / "current/publish.json").read_text())
    assert record["domain"] == "orders"
    assert record["published_at"]
    assert "git_commit" in record
    products = {(p["name"], p["version"]): p for p in record["products"]}
    assert set(products) == {("orders", "1"), ("orders", "2"), ("order_lines", "1")}
    rows = mesh(
        root, "query", "select count(*) as n from orders.main.orders_v2", "--format", "json"
    ).json()
    assert products[("orders", "2")]["rows"] == rows[0]["n"]
    assert len(products[("orders", "2")]["checksum"]) == 16
    fulfillment = json.loads((_published(root, "fulfillment") / "current/publish.json").read_text())
    assert fulfillment["upstreams"] == {"orders": record["publish_id"]}


def test_history_and_rollback(mesh_copy: Path) -> None:
    first = (_published(mesh_copy, "customers") / "current").readlink().name
    mesh(mesh_copy, "build", "customers", "--quiet", "--full")
    second = (_published(mesh_copy, "customers") / "current").readlink().name
    assert second != first

    history = mesh(mesh_copy, "history", "customers").stdout
    assert first in history and second in history
    assert "customers v1" in history

    run = mesh(mesh_copy, "rollback", "customers")
    assert f"customers rolled back to {first}" in run.stdout
    assert (_published(mesh_copy, "customers") / "current").readlink().name == first
    rows = mesh(
        mesh_copy,
        "query",
        "select count(*) as n from customers.main.customers_v1",
        "--format",
        "json",
    ).json()
    assert rows[0]["n"] > 0

    again = mesh(mesh_copy, "rollback", "customers", check=False)
    assert again.returncode == 1
    assert "no publish that was current before" in again.stderr
    events = [
        json.loads(line)["event"]
        for line in (_published(mesh_copy, "customers") / "history.jsonl").read_text().splitlines()
    ]
    assert events[-1] == "rollback"


def test_products_show_when_they_were_published(built_mesh: tuple[Path, Run]) -> None:
    root, _ = built_mesh
    for product in mesh(root, "products", "--format", "json").json():
        assert product["published_at"], product["name"]


def test_lineage_names_each_consumed_product_version(built_mesh: tuple[Path, Run]) -> None:
    root, _ = built_mesh
    text = mesh(root, "lineage").stdout
    assert (
        "orders.orders v2 -> analytics.stg_orders__orders, fulfillment.stg_orders__orders" in text
    )
    assert "catalog.products v2 -> analytics.stg_catalog__products" in text
    mermaid = mesh(root, "lineage", "--format", "mermaid").stdout
    assert mermaid.startswith("flowchart LR")
    assert 'orders -- "orders v2" --> fulfillment' in mermaid
    assert 'fulfillment -- "shipments v1" --> analytics' in mermaid


def test_failed_build_leaves_every_published_file_identical(mesh_copy: Path) -> None:
    folder = (_published(mesh_copy, "catalog") / "current").resolve()
    before = _digests(folder)
    assert any(name.endswith(".parquet") for name in before)
    model = mesh_copy / "domains/catalog/models/marts/products_v2.sql"
    model.write_text(model.read_text().replace("as list_price_usd", "* -1 as list_price_usd"))
    run = mesh(mesh_copy, "build", "catalog", "--quiet", check=False)
    assert run.returncode == 1
    assert (_published(mesh_copy, "catalog") / "current").resolve() == folder
    assert _digests(folder) == before


def test_a_broken_project_names_the_domain(mesh_copy: Path) -> None:
    model = mesh_copy / "domains/customers/models/marts/customers_v1.sql"
    model.write_text(
        model.read_text().replace(
            "{{ ref('int_customers_latest') }}", "{{ ref('int_customers_latest' }}"
        )
    )
    run = mesh(mesh_copy, "build", "customers", "--quiet", check=False)
    assert run.returncode == 1
    assert "customers: FAILED" in run.stderr
    assert "customers_v1" in run.stderr
    assert "Traceback" not in run.output


def test_missing_upstream_publish_is_named_with_what_to_do(mesh_copy: Path) -> None:
    import shutil

    shutil.rmtree(_published(mesh_copy, "orders"))
    run = mesh(mesh_copy, "build", "fulfillment", "--only", "--quiet", check=False)
    assert run.returncode == 1
    assert "fulfillment consumes orders, which has no published version" in run.stderr
    assert "mesh build orders" in run.stderr


def test_a_locked_upstream_database_is_named(mesh_copy: Path) -> None:
    database = (_published(mesh_copy, "orders") / "current/orders.duckdb").resolve()
    holder = duckdb.connect(str(database))  # a read-write connection holds the file lock
    try:
        run = mesh(mesh_copy, "build", "fulfillment", "--only", "--quiet", check=False)
    finally:
        holder.close()
    assert run.returncode == 1
    assert "fulfillment cannot read orders's published database" in run.stderr
    assert "Close the program holding it" in run.stderr
    assert "Traceback" not in run.output


def test_new_domain_scaffolds_a_domain_that_builds_at_once(mesh_copy: Path) -> None:
    run = mesh(
        mesh_copy,
        "new-domain",
        "returns",
        "--owner",
        "Returns Team <returns@shop.example>",
        "--consumes",
        "orders",
    )
    assert "domains/returns/models/marts/returns.yml" in run.stdout
    # It uses the mesh's one profile: profiles.yml, in every domain's fingerprint, is untouched.
    assert "returns" not in (mesh_copy / "profiles.yml").read_text()
    assert (mesh_copy / "domains/returns/profiles.yml").resolve() == mesh_copy / "profiles.yml"
    assert (
        "/domains/returns/  returns@shop.example" in (mesh_copy / ".github/CODEOWNERS").read_text()
    )

    domains = mesh(mesh_copy, "domains").stdout
    assert "returns" in domains

    # Building the whole mesh builds the new domain only, and says why; the others are kept.
    build = mesh(mesh_copy, "build")
    assert "returns: building because it has no publish yet" in build.output
    assert build.output.count("building because") == 1, build.output
    assert "returns: published" in build.output
    assert build.output.count(": unchanged, still") == 5, build.output
    products = mesh(mesh_copy, "products", "--format", "json").json()
    returns = [p for p in products if p["domain"] == "returns"]
    assert len(returns) == 1
    assert returns[0]["contract_enforced"] and returns[0]["owner"] == "returns@shop.example"
    record = json.loads((_published(mesh_copy, "returns") / "current/publish.json").read_text())
    assert record["dbt_results"]["unit_test"] == 1
    assert record["dbt_results"]["test"] >= 5

    # ... and passes the project's checks: policies, lint, and its own CI job.
    assert "All checks passed." in mesh(mesh_copy, "check", "returns").stdout
    assert "all clean" in mesh(mesh_copy, "lint", "returns").stdout
    assert "up to date" in mesh(mesh_copy, "ci-workflow", "--check").stdout
    workflow = (mesh_copy / ".github/workflows/domains.yml").read_text()
    assert "domain-returns:" in workflow
    assert "needs: [domain-orders]" in workflow or "- domain-orders" in workflow


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Returns", "--owner", "T <t@x.io>"], "is not valid"),
        (["orders", "--owner", "T <t@x.io>"], "domains/orders already exists"),
        (["returns", "--owner", "no email"], "is not of the form"),
        (["returns", "--owner", "T <t@x.io>", "--archetype", "odd"], "is not one of"),
        (["returns", "--owner", "T <t@x.io>", "--consumes", "nope"], "no such domain"),
    ],
)
def test_new_domain_rejects_bad_input(mesh_copy: Path, args: list[str], message: str) -> None:
    run = mesh(mesh_copy, "new-domain", *args, check=False)
    assert run.returncode == 1
    assert message in run.stderr
    assert not (mesh_copy / "domains/returns").exists()

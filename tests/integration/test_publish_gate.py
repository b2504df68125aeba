"""The publish gate enforces governance: what breaks a rule is refused by `mesh build` and the
published version stays byte-identical; a harmless change of the same kind publishes; the
overrides publish and are recorded. Every build runs on one fixed day (MESH_TODAY), so the
date rules do not depend on the calendar."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import duckdb
import pytest

from tests.integration.conftest import Run, mesh

pytestmark = pytest.mark.integration

TODAY = "2027-01-15"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def _published(root: Path, domain: str) -> dict[str, str]:
    """The domain's current publish: where `current` points and a hash of every file in it."""
    link = root / "warehouse/published" / domain / "current"
    folder = link.resolve()
    files = {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
    return {"current": str(link.readlink()), **files}


def _record(root: Path, domain: str) -> dict[str, object]:
    path = root / "warehouse/published" / domain / "current/publish.json"
    record: dict[str, object] = json.loads(path.read_text())
    return record


def _build(root: Path, *args: str) -> Run:
    return mesh(root, "build", "--quiet", *args, check=False, today=TODAY)


def _failure(run: Run, domain: str) -> str:
    """The lines `mesh build` printed about `domain`'s failure."""
    lines = run.output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{domain}: FAILED"))
    end = next(
        (i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")), len(lines)
    )
    return "\n".join(lines[start:end])


def _rename_coupon(root: Path) -> None:
    marts = root / "domains/orders/models/marts"
    _edit(marts / "orders.yml", "      - name: has_coupon\n", "      - name: used_coupon\n")
    _edit(marts / "orders_v2.sql", "as has_coupon", "as used_coupon")


def _keep_customers(root: Path, condition: str) -> None:
    _edit(
        root / "domains/customers/models/marts/customers_v1.sql",
        "select * from final",
        f"select * from final where {condition}",
    )


def test_what_breaks_a_rule_is_refused_and_a_harmless_change_publishes(mesh_copy: Path) -> None:
    root, domains = mesh_copy, mesh_copy / "domains"
    originals = {p: p.read_text() for p in domains.rglob("*") if p.suffix in (".sql", ".yml")}
    before = {d: _published(root, d) for d in ("orders", "customers", "catalog", "fulfillment")}

    # 1. A breaking change, personal data in a product, a policy, a shortened deprecation.
    _rename_coupon(root)
    customers = domains / "customers/models/marts"
    _edit(
        customers / "customers_v1.sql",
        "        city,",
        "        email,\n        email as contact,\n        city,",
    )
    _edit(
        customers / "customers.yml",
        "      - name: city\n",
        "      - name: email\n        data_type: varchar\n        description: Email.\n"
        "      - name: contact\n        data_type: varchar\n        description: Contact.\n"
        "      - name: city\n",
    )
    catalog = domains / "catalog/models/marts/products.yml"
    _edit(catalog, "    versions:\n      - v: 2\n", "    versions:\n      - v: 2\n"
          "        deprecation_date: 2027-01-25\n")  # fmt: skip
    (domains / "catalog/models/staging/products_extra.sql").write_text("select 1 as product_id\n")

    run = _build(root, "orders", "customers", "catalog", "--only")
    assert run.returncode == 1, run.output
    orders = _failure(run, "orders")
    assert "not published: 1 breaking change(s)" in orders
    assert (
        "[breaking_change:column_removed] orders.orders v2: Columns removed or renamed: "
        "has_coupon." in orders
    )
    assert "no published consumer reads the affected columns" in orders  # still refused
    assert "remedy: publish the change as v3 of orders and deprecate v2" in orders
    refused = _failure(run, "customers")
    assert "[pii_not_exposed_in_public_models] models/marts/customers.yml" in refused
    assert "Fix: Drop the column from the product" in refused
    assert re.search(r"column contact holds personal data in clear .* -> \d+ values", refused)
    assert re.search(r"column email holds personal data in clear .* -> \d+ values", refused)
    shortened = _failure(run, "catalog")
    assert "[breaking_change:deprecation_shortened] catalog.products v2" in shortened
    assert "breaks analytics.stg_catalog__products" in shortened
    assert "[model_naming_and_layer] models/staging/products_extra.sql" in shortened
    after = {d: _published(root, d) for d in ("orders", "customers", "catalog")}
    assert after == {d: before[d] for d in after}  # byte-identical

    # 2. Harmless changes of the same kinds publish: an added column, a small shrink, a
    # deprecation with notice; a direct read of another domain's product does not.
    for path, text in originals.items():
        path.write_text(text)
    (domains / "catalog/models/staging/products_extra.sql").unlink()
    _edit(
        domains / "orders/models/marts/orders_v2.sql",
        "        is_fully_paid,\n",
        "        is_fully_paid,\n        line_count,\n",
    )
    _edit(
        domains / "orders/models/marts/orders.yml",
        "      - name: is_fully_paid\n",
        "      - name: line_count\n        data_type: bigint\n"
        "        description: Lines in the order.\n      - name: is_fully_paid\n",
    )
    _keep_customers(root, "customer_id % 10 <> 0")
    _edit(catalog, "    versions:\n      - v: 2\n", "    versions:\n      - v: 2\n"
          "        deprecation_date: 2027-12-31\n")  # fmt: skip
    (domains / "fulfillment/models/intermediate/int_direct_orders.sql").write_text(
        "select order_id from orders.main.orders_v2\n"
    )
    run = _build(root, "orders", "customers", "catalog", "fulfillment", "--only")
    assert run.returncode == 1, run.output
    for domain in ("orders", "customers", "catalog"):
        assert f"{domain}: published" in run.output, run.output
    assert "[no_direct_reads_of_other_domains] models/intermediate/int_direct_orders.sql" in (
        _failure(run, "fulfillment")
    )
    assert _published(root, "fulfillment") == before["fulfillment"]
    (domains / "fulfillment/models/intermediate/int_direct_orders.sql").unlink()

    # 3. An implausible shrink of a product is held, naming the old and new counts.
    published = _published(root, "customers")
    rows = {p["relation"]: p["rows"] for p in _record(root, "customers")["products"]}  # type: ignore[attr-defined]
    customers_sql = customers / "customers_v1.sql"
    customers_sql.write_text(originals[customers_sql])
    _keep_customers(root, "customer_id % 10 <> 0 and customer_id % 3 = 0")
    run = _build(root, "customers", "--only")
    assert run.returncode == 1, run.output
    held = _failure(run, "customers")
    assert "implausible volume change(s)" in held and "--accept-volume-change" in held
    assert re.search(
        rf"customers\.customers v1 changed volume implausibly \(held: a shrink of more than "
        rf"50% or to zero rows\) -> {rows['customers.main.customers_v1']} to \d+ rows",
        held,
    )
    assert _published(root, "customers") == published

    # 4. The overrides publish, and are recorded in the record, the history and the catalog.
    run = _build(root, "customers", "--only", "--accept-volume-change", "test customers removed")
    assert run.returncode == 0, run.output
    _edit(  # a breaking change that no consumer's build notices: the catalog then shows it
        domains / "orders/models/marts/orders.yml",
        "        description: When the order was placed (UTC).\n"
        "        constraints:\n          - type: not_null\n",
        "        description: When the order was placed (UTC).\n",
    )
    reason = "incident 7: the partner feed sends orders without a time"
    run = _build(root, "orders", "fulfillment", "analytics", "--only", "--allow-breaking", reason)
    assert run.returncode == 0, run.output
    for domain, flag, why in (
        ("orders", "allow-breaking", reason),
        ("customers", "accept-volume-change", "test customers removed"),
    ):
        [override] = _record(root, domain)["overrides"]  # type: ignore[misc]
        assert override["flag"] == flag and override["reason"] == why
        assert override["findings"] and override["by"]
        history = (root / "warehouse/published" / domain / "history.jsonl").read_text()
        assert json.loads(history.splitlines()[-1])["overrides"][0]["reason"] == why
        assert "overrides" in mesh(root, "history", domain).stdout
    assert _record(root, "analytics")["overrides"] == []  # nothing it overrode
    mesh(root, "catalog")
    page = (root / "warehouse/catalog/products/orders.orders.html").read_text()
    assert "--allow-breaking" in page and reason in page


def test_a_version_past_its_deprecation_date_is_removed(mesh_copy: Path) -> None:
    root, domains = mesh_copy, mesh_copy / "domains"
    legacy = domains / "analytics/models/intermediate/int_legacy_totals.sql"
    legacy.write_text("select order_id, order_total from {{ ref('orders', 'orders', v=1) }}\n")
    built = _build(root, "analytics", "--only")
    assert built.returncode == 0, built.output  # dbt warns until the date
    assert "slated for deprecation on '2027-06-30" in built.output

    # Moving the date closer while analytics reads the version breaks it.
    orders_yml = domains / "orders/models/marts/orders.yml"
    _edit(orders_yml, "deprecation_date: 2027-06-30", "deprecation_date: 2027-02-01")
    check = mesh(root, "check", "orders", "analytics", check=False, today=TODAY)
    assert "[breaking_change:deprecation_shortened] orders.orders v1" in check.stdout
    assert "breaks analytics.int_legacy_totals" in check.stdout
    # `mesh check` shows the date from the code, not the published one.
    assert re.search(r"analytics\.int_legacy_totals reads orders\.orders v1, deprecated "
                     r"2027-02-01 \(17 days left\)", check.stdout)  # fmt: skip
    before = _published(root, "orders")
    refused = _build(root, "orders", "--only")
    assert "[breaking_change:deprecation_shortened]" in _failure(refused, "orders")
    assert _published(root, "orders") == before
    _edit(orders_yml, "deprecation_date: 2027-02-01", "deprecation_date: 2027-06-30")

    # After the date the producer leaves the version out (and rebuilds though unchanged).
    after = "2027-07-01"
    run = mesh(root, "build", "orders", "analytics", "--only", "--quiet", check=False, today=after)
    assert "orders: published" in run.output
    record = _record(root, "orders")
    assert record["retired"] == ["orders_v1"]
    assert [p["relation"] for p in record["products"]] == [  # type: ignore[attr-defined]
        "orders.main.order_lines_v1",
        "orders.main.orders_v2",
    ]
    folder = root / "warehouse/published/orders/current"
    assert [p.name for p in (folder / "products/orders/v1").iterdir()] == ["contract.odcs.yaml"]
    contract = (folder / "products/orders/v1/contract.odcs.yaml").read_text()
    assert "status: retired" in contract and "servers:" not in contract
    with duckdb.connect(str(folder / "orders.duckdb"), read_only=True) as con:
        tables = {
            row[0] for row in con.execute("select table_name from duckdb_tables()").fetchall()
        }
    assert tables == {"orders_v2", "order_lines_v1"}

    # A consumer still reading it fails with the date and the version to move to.
    assert run.returncode == 1
    assert (
        "analytics.int_legacy_totals reads orders.orders v1, removed after its deprecation "
        "date 2027-06-30; move to v2: ref('orders', 'orders', v=2)." in _failure(run, "analytics")
    )


def test_a_new_expectation_is_checked_against_the_current_publish(mesh_copy: Path) -> None:
    root = mesh_copy
    expectations = root / "domains/analytics/expectations.yml"
    original = expectations.read_text()
    current = {d: _record(root, d)["publish_id"] for d in ("orders", "customers", "analytics")}

    # A failing and a holding new expectation: no producer is rebuilt; analytics is refused.
    expectations.write_text(
        original
        + "  - product: orders.orders\n    version: 2\n    checks:\n"
        + "      - min_rows: 1000000000\n"
        + "  - product: customers.customers\n    version: 1\n    checks:\n"
        + '      - expression: "customer_id > 0"\n'
    )
    run = _build(root, "analytics")
    assert run.returncode == 1, run.output
    for producer in ("orders", "customers", "catalog", "fulfillment"):
        assert f"{producer}: unchanged" in run.output
    refused = _failure(run, "analytics")
    assert "1 failed expectation(s) of upstream products" in refused
    assert "analytics expects orders.orders v2: min_rows 1000000000 -> " in refused
    assert "customers.customers v1" not in refused
    check = mesh(root, "check", "orders", check=False, today=TODAY)
    assert "[expectation] analytics expects orders.orders v2: min_rows 1000000000" in check.stdout

    # An expectation without exactly one check names the file and the entry.
    expectations.write_text(
        original + "  - product: orders.orders\n    version: 2\n    checks:\n      - {}\n"
    )
    run = _build(root, "analytics", "--only")
    assert "expectations.yml: entry expectations[" in run.output
    assert "].checks[0]: a check needs exactly one of" in run.output

    # The holding one publishes, recorded as met by the customers publish it read.
    expectations.write_text(
        original
        + "  - product: customers.customers\n    version: 1\n    checks:\n"
        + '      - expression: "customer_id > 0"\n'
    )
    run = _build(root, "analytics", "--only")
    assert run.returncode == 0, run.output
    record = _record(root, "analytics")
    met = record["upstream_expectations_met"]
    assert isinstance(met, dict) and len(met[str(current["customers"])]) == 3
    assert {d: _record(root, d)["publish_id"] for d in ("orders", "customers")} == {
        d: current[d] for d in ("orders", "customers")
    }

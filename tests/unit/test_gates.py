"""The publish gate against what an attack on it found (issue 17): each of these once failed."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mesh.engines.spark import Spark
from mesh.governance import expectations
from mesh.governance.expectations import Query
from mesh.pipeline import gates
from mesh.runner.workers import DbtOutcome


def test_a_spark_check_that_errors_still_holds_the_publish(monkeypatch: Any) -> None:
    """On Spark, one check query that raises (a consumer's expression naming a column the
    product lacks) fails the whole run-operation with Spark's message; that line starts with
    no check's label, so `_failed_of` files it under no kind and the gate publishes, PII
    and volume checks of the same batch included."""
    queries = [
        Query("analytics expects orders.orders v2: expression x > 0", "select 1", "rows"),
        Query("orders.orders v2 column email holds personal data", "select 1", "values"),
    ]
    error = (
        "Runtime Error\n  [UNRESOLVED_COLUMN.WITH_SUGGESTION] A column, variable, or function "
        "parameter with name `x` cannot be resolved."
    )
    monkeypatch.setattr(Spark, "_task", lambda self, job, macro, args: None)
    job = SimpleNamespace(run=lambda task: DbtOutcome(success=False, error=error))
    failed = Spark().run_checks(job, queries)  # type: ignore[arg-type]
    assert failed, "the engine reports that the checks could not be run"
    filed = gates.classify({"consumers": queries[:1], "personal": queries[1:]}, failed)
    assert filed["unrun"], f"the gate drops the engine's failure and publishes: {failed}"


@pytest.mark.parametrize("check", ["not_empty: false", 'unique: ""', "not_null: []"])
def test_a_check_with_a_false_or_empty_value_is_a_clear_error(tmp_path: Path, check: str) -> None:
    """`not_empty: false` passes validation as 'one check', then `_failed_of`'s SQL builder
    asserts: `mesh check` and every producer's `mesh build` end in an AssertionError."""
    (tmp_path / "expectations.yml").write_text(
        f"expectations:\n  - product: orders.orders\n    version: 2\n    checks:\n      - {check}\n"
    )
    domain = SimpleNamespace(path=tmp_path, name="analytics")
    with pytest.raises(Exception) as raised:
        expectations.queries(expectations.load(domain), lambda e: "r")  # type: ignore[arg-type]
    assert not isinstance(raised.value, AssertionError), "a traceback, not a clear error"


def _orders(access: str = "public", item_count_type: str = "integer") -> Any:
    from mesh.discovery.manifest import parse

    node = {
        "unique_id": "model.orders.orders.v2",
        "resource_type": "model",
        "package_name": "orders",
        "name": "orders",
        "version": 2,
        "access": access,
        "config": {"materialized": "table", "contract": {"enforced": True}},
        "contract": {"enforced": True},
        "columns": {
            "order_id": {"name": "order_id", "data_type": "bigint"},
            "item_count": {"name": "item_count", "data_type": item_count_type},
        },
    }
    return parse({"nodes": {node["unique_id"]: node}})


def test_making_a_public_product_version_protected_is_a_breaking_change() -> None:
    """Seen in a real build: orders.order_lines v1 turned `access: protected` published (the
    product left the publish) and analytics' next build failed ('protected to the orders
    package')."""
    from mesh.governance import contracts

    changes = contracts.breaking_changes("orders", _orders(), _orders(access="protected"))
    assert changes, "no breaking change found when a public product stops being public"


def test_spelling_a_type_by_its_alias_is_not_a_breaking_change() -> None:
    """Seen in a real build: `data_type: integer` -> `int` (the same DuckDB type) was refused
    as [breaking_change:type_changed], with the remedy to publish v3."""
    from mesh.governance import contracts

    changes = contracts.breaking_changes("orders", _orders(), _orders(item_count_type="int"))
    assert not changes, [c.detail for c in changes]


@pytest.mark.parametrize(
    "data_type", ["struct(email varchar)", "json", "map(varchar, varchar)", "varchar[]"]
)
def test_every_column_that_can_hold_an_email_is_scanned(data_type: str) -> None:
    """Seen in a real build: customers v1 with `{'email': email}` (struct), `to_json(...)`
    (json) and `map {'email': email}` published raw emails in its database and Parquet port;
    a `varchar[]` column is scanned with regexp_matches on a list and refused with a binder
    error instead of a finding."""
    from mesh.discovery.manifest import parse
    from mesh.engines.duckdb import DuckDB

    node = {
        "unique_id": "model.customers.customers.v1",
        "resource_type": "model",
        "package_name": "customers",
        "name": "customers",
        "version": 1,
        "access": "public",
        "columns": {"contact": {"name": "contact", "data_type": data_type}},
    }
    product = parse({"nodes": {node["unique_id"]: node}}).nodes[node["unique_id"]]
    job = SimpleNamespace(name="customers")
    checks = gates.personal_data_checks(DuckDB(), job, [product])  # type: ignore[arg-type]
    import duckdb

    with duckdb.connect() as con:
        con.execute("attach ':memory:' as customers")
        con.execute(
            f"create table customers.main.{product.relation_name} as select "
            f"cast(v as {data_type}) as contact from "
            "(select "
            + {
                "struct(email varchar)": "{'email': 'a.b@example.com'}",
                "json": "to_json({'e': 'a.b@example.com'})",
                "map(varchar, varchar)": "map {'email': 'a.b@example.com'}",
                "varchar[]": "['a.b@example.com']",
            }[data_type]
            + " as v)"
        )
        found = [con.execute(q.sql).fetchone() for q in checks]
    assert found and found[0] and found[0][0], f"{data_type}: the email is not found"


def _volume(tmp_path: Path, old_rows: int, new_rows: int, limits: dict[str, float]) -> list[str]:
    """The gate's volume check of orders v2 (declaring `limits`) between a current publish
    of `old_rows` rows and a candidate of `new_rows`, run as the DuckDB engine runs it."""
    import json

    import duckdb

    from mesh.discovery.manifest import parse
    from mesh.discovery.registry import PublishRecord
    from mesh.engines.duckdb import DuckDB
    from mesh.pipeline.engine import Upstream

    node = {
        "unique_id": "model.orders.orders.v2",
        "resource_type": "model",
        "package_name": "orders",
        "name": "orders",
        "alias": "orders_v2",
        "version": 2,
        "access": "public",
        "config": {"meta": {"volume": limits}},
    }
    folder = tmp_path / "published"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"nodes": {node["unique_id"]: node}}))
    for path, rows in (
        (folder / "orders.duckdb", old_rows),
        (tmp_path / "orders.duckdb", new_rows),
    ):
        with duckdb.connect(str(path)) as con:
            con.execute(f"create table orders_v2 as select range as order_id from range({rows})")
    record = PublishRecord(
        domain="orders", publish_id="p1", published_at="", run_id="r", git_commit=None,
        upstreams={}, dbt_results={},
    )  # fmt: skip
    job = SimpleNamespace(name="orders", current_publish=Upstream("orders", folder, record))
    published = parse({"nodes": {node["unique_id"]: node}})
    product = published.nodes[node["unique_id"]]
    queries = gates.volume_checks(DuckDB(), job, [product], published)  # type: ignore[arg-type]
    databases = {"orders": tmp_path / "orders.duckdb", "orders__current": folder / "orders.duckdb"}
    return expectations.verify(databases, queries)


@pytest.mark.parametrize(
    ("old", "new", "limits", "held"),
    [
        (1000, 400, {}, "1000 to 400 rows"),  # more than half gone
        (1000, 600, {}, None),
        (1000, 0, {"max_shrink": 1.0}, "1000 to 0 rows"),  # to nothing: always held
        (1000, 2500, {"max_growth": 2}, "1000 to 2500 rows"),
        (1000, 1900, {"max_growth": 2}, None),
        (1000, 100000, {}, None),  # no growth limit declared
        (1000, 850, {"max_shrink": 0.1}, "1000 to 850 rows"),
    ],
)
def test_the_volume_check_holds_what_the_limits_say(
    tmp_path: Path, old: int, new: int, limits: dict[str, float], held: str | None
) -> None:
    failed = _volume(tmp_path, old, new, limits)
    if held is None:
        assert failed == []
    else:
        [line] = failed
        assert line.startswith("orders.orders v2 changed volume implausibly") and held in line

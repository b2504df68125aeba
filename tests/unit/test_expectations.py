"""Consumers' expectations on a producer's candidate products, and which of them the
producer's own passing data tests already checked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from mesh.discovery.domains import Domain
from mesh.discovery.manifest import RunResults, parse
from mesh.errors import DomainConfigError
from mesh.governance.expectations import (
    Check,
    Expectation,
    load,
    passed_tests,
    queries,
    untested,
    verify,
)

UNIQUE = Expectation("analytics", "orders", "orders", 2, Check(unique="order_id"))
NOT_NULL = Expectation(
    "analytics", "orders", "orders", 2, Check(not_null=["order_id", "customer_id"])
)


def _candidate(tmp_path: Path) -> Path:
    """An orders database whose orders v2 has a duplicated order id and a null customer."""
    database = tmp_path / "orders.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute(
            "create table orders_v2 as "
            "select * from (values (1, 10), (1, 11), (2, null)) as t(order_id, customer_id)"
        )
    return database


def _test(unique_id: str, name: str, column: str) -> dict[str, object]:
    return {
        "test_metadata": {"name": name, "kwargs": {"column_name": column}},
        "attached_node": "model.orders.orders.v2",
        "unique_id": unique_id,
        "resource_type": "test",
        "package_name": "orders",
        "name": unique_id.rsplit(".", 1)[-1],
    }


MANIFEST = parse(
    {
        "nodes": {
            "test.orders.unique_id": _test("test.orders.unique_id", "unique", "order_id"),
            "test.orders.nn_id": _test("test.orders.nn_id", "not_null", "order_id"),
            "test.orders.nn_customer": _test("test.orders.nn_customer", "not_null", "customer_id"),
        }
    }
)


def _relation(expectation: Expectation) -> str:
    return f"{expectation.domain}.main.{expectation.relation}"


def test_expectations_run_against_the_candidate(tmp_path: Path) -> None:
    failures = verify({"orders": _candidate(tmp_path)}, queries([UNIQUE, NOT_NULL], _relation))
    assert failures == [
        "analytics expects orders.orders v2: unique order_id -> 1 duplicated values",
        "analytics expects orders.orders v2: not_null ['order_id', 'customer_id'] -> 1 rows "
        "with nulls",
    ]
    holding = Expectation("analytics", "orders", "orders", 2, Check(min_rows=3))
    assert verify({"orders": tmp_path / "orders.duckdb"}, queries([holding], _relation)) == []


@pytest.mark.parametrize(
    ("checks", "found"),
    [("[{}]", "it has none"), ("[{unique: order_id, min_rows: 5}]", "it has min_rows, unique")],
)
def test_a_check_needs_exactly_one_kind(tmp_path: Path, checks: str, found: str) -> None:
    """`{}` would check nothing and two kinds in one entry would keep one: both are refused,
    naming the file and the entry."""
    (tmp_path / "expectations.yml").write_text(
        f"expectations:\n  - product: orders.orders\n    version: 2\n    checks: {checks}\n"
    )
    with pytest.raises(DomainConfigError) as error:
        load(Domain("analytics", tmp_path, ("orders",), ()))
    message = str(error.value)
    assert str(tmp_path / "expectations.yml") in message
    assert "entry expectations[0].checks[0]" in message and found in message


def test_a_changed_expectation_has_a_new_key() -> None:
    same = Expectation("analytics", "orders", "orders", 2, Check(unique="order_id"))
    assert same.key == UNIQUE.key
    assert (
        len(
            {
                UNIQUE.key,
                NOT_NULL.key,
                Expectation("analytics", "orders", "orders", 2, Check(unique="customer_id")).key,
            }
        )
        == 3
    )


def test_only_passing_tests_of_the_same_column_count() -> None:
    results = RunResults.model_validate(
        {
            "results": [
                {"unique_id": "test.orders.unique_id", "status": "pass"},
                {"unique_id": "test.orders.nn_id", "status": "pass"},
                {"unique_id": "test.orders.nn_customer", "status": "warn"},  # failed, as a warning
            ]
        }
    )
    assert passed_tests(MANIFEST, results) == {
        ("model.orders.orders.v2", "unique", "order_id"),
        ("model.orders.orders.v2", "not_null", "order_id"),
    }


def test_an_expectation_the_producer_tested_is_not_run_again(tmp_path: Path) -> None:
    # The producer's passing tests cover the unique check and one of the two not_null columns:
    # only the not_null expectation runs (and finds the null customer).
    tested = {
        ("model.orders.orders.v2", "unique", "order_id"),
        ("model.orders.orders.v2", "not_null", "order_id"),
    }
    pending = queries(untested([UNIQUE, NOT_NULL], tested), _relation)
    failures = verify({"orders": _candidate(tmp_path)}, pending)
    assert [line.split(" -> ")[0] for line in failures] == [NOT_NULL.label]


def test_queries_spell_columns_and_strings_in_the_engines_sql() -> None:
    """Spark reads double quotes as a string and `''` as two literals: a query for it uses
    backticks and backslash escapes, given as `quoted` and `literal`."""
    accepted = Expectation(
        "analytics",
        "orders",
        "orders",
        2,
        Check(accepted_values={"column": "order_status", "values": ["it's"]}),
    )
    [duck] = queries([accepted], lambda e: f"orders.main.{e.relation}")
    assert duck.sql == (
        "select nullif((select count(*) from orders.main.orders_v2 "
        "where \"order_status\" not in ('it''s')), 0)"
    )
    [spark] = queries(
        [accepted],
        lambda e: f"orders__v.{e.relation}",
        quoted=lambda c: f"`{c}`",
        literal=lambda t: "'" + t.replace("'", "\\'") + "'",
    )
    assert spark.sql == (
        "select nullif((select count(*) from orders__v.orders_v2 "
        "where `order_status` not in ('it\\'s')), 0)"
    )


@pytest.mark.parametrize(
    ("expression", "refused"),
    [
        ("1) and (0", "is not one SQL condition"),
        ("net_amount_usd >= 0 -- and the rest", "comments and ';' are not allowed"),
        ("order_id in (select order_id from orders.main.orders_v1)", "without subqueries"),
    ],
)
def test_an_expression_is_one_condition_on_the_row(
    tmp_path: Path, expression: str, refused: str
) -> None:
    """An expression goes inside `where not (...)`: one that closes the parenthesis would
    make the check pass always, a comment would cut the query."""
    (tmp_path / "expectations.yml").write_text(
        "expectations:\n  - product: orders.orders\n    version: 2\n    checks:\n"
        f"      - expression: {json.dumps(expression)}\n"
    )
    with pytest.raises(DomainConfigError, match=re.escape(refused)):
        load(Domain("analytics", tmp_path, ("orders",), ()))


def test_a_test_of_some_rows_does_not_stand_for_an_expectation() -> None:
    """A not_null test with a `where`, or one that tolerates failures, checked less than the
    consumer's expectation: the expectation still runs."""
    raw = {
        "nodes": {
            "test.orders.nn_id": {
                **_test("test.orders.nn_id", "not_null", "order_id"),
                "config": {"where": "ordered_at > now()"},
            },
            "test.orders.nn_customer": {
                **_test("test.orders.nn_customer", "not_null", "customer_id"),
                "config": {"error_if": "> 10"},
            },
        }
    }
    results = RunResults.model_validate(
        {"results": [{"unique_id": uid, "status": "pass"} for uid in raw["nodes"]]}
    )
    assert passed_tests(parse(raw), results) == set()

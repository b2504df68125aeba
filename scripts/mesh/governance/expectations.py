"""Consumer-driven contract tests: what consumers expect of the products they read.

A consumer domain declares expectations on its input ports in `expectations.yml`:

    expectations:
      - product: orders.orders        # <domain>.<product>
        version: 2
        checks:
          - not_empty: true
          - unique: order_id
          - not_null: [order_id, customer_id]
          - accepted_values: {column: order_status, values: [placed, shipped, delivered]}
          - min_rows: 100
          - expression: "net_amount_usd >= 0"    # must hold for every row

Each entry of `checks` holds exactly one check. Before a producer publishes, every
consumer's expectations on its products are run against the candidate (the publish gate,
mesh.pipeline.gates); one failing expectation blocks the publish and names the consumer and
the expectation; the publish record lists the keys of those it met. A `unique` or `not_null`
expectation that a data test of the producer checked and passed in the same build is not
run again (at scale 100 the three unique checks on the orders products would scan 11
million rows a second time). A new or changed expectation (a key the producer's publish does
not list) is run by the consumer's next build against the publish it reads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from mesh.discovery.domains import Domain
from mesh.discovery.manifest import Manifest, RunResults
from mesh.errors import DomainConfigError

FILE = "expectations.yml"


class AcceptedValues(BaseModel):
    model_config = ConfigDict(extra="forbid")
    column: str = Field(min_length=1)
    values: list[Any] = Field(min_length=1)


class Check(BaseModel):
    """One expectation; exactly one of the fields is set."""

    model_config = ConfigDict(extra="forbid")
    not_empty: bool | None = None
    unique: str | None = None
    not_null: list[str] | None = None
    accepted_values: AcceptedValues | None = None
    min_rows: int | None = None
    expression: str | None = None

    @field_validator("not_null", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _exactly_one(self) -> Check:
        given = sorted(self.model_dump(exclude_none=True))
        if len(given) != 1:
            found = f"it has {', '.join(given)}" if given else "it has none"
            raise ValueError(
                f"a check needs exactly one of {', '.join(Check.model_fields)}; {found}"
            )
        ((name, value),) = self.model_dump(exclude_none=True).items()
        if value is False or value in ("", []) or (name == "min_rows" and value < 1):
            raise ValueError(f"{name}: {value!r} checks nothing; give it a value that does")
        if name == "expression":
            _one_condition(value)
        return self

    def describe(self) -> str:
        ((name, value),) = self.model_dump(exclude_none=True).items()
        if name == "accepted_values":
            return f"accepted_values {value['column']} in {value['values']}"
        return f"{name} {value}" if value is not True else name


class ProductExpectations(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product: str
    version: int | None = None
    checks: list[Check] = Field(min_length=1)

    @field_validator("product")
    @classmethod
    def _qualified(cls, value: str) -> str:
        if value.count(".") != 1:
            raise ValueError("product must be <domain>.<product>, e.g. orders.orders")
        return value


def _one_condition(expression: str) -> None:
    """Refuse an `expression` that is not one SQL condition (it is put inside `not (...)`):
    `1) and (0` would make the check pass always, a comment would cut the query off."""
    if any(mark in expression for mark in ("--", "/*", ";")):
        raise ValueError("expression: comments and ';' are not allowed")
    try:
        parsed = sqlglot.parse_one(expression, dialect="duckdb")
    except sqlglot.errors.ParseError:
        raise ValueError(f"expression: {expression!r} is not one SQL condition") from None
    if parsed.find(sqlglot.exp.Subquery, sqlglot.exp.Select) is not None:
        raise ValueError("expression: a condition on the product's own row, without subqueries")


class ExpectationsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expectations: list[ProductExpectations] = []


@dataclass(frozen=True)
class Expectation:
    consumer: str
    domain: str
    product: str
    version: int | None
    check: Check

    @property
    def label(self) -> str:
        version = f" v{self.version}" if self.version is not None else ""
        product = f"{self.domain}.{self.product}{version}"
        return f"{self.consumer} expects {product}: {self.check.describe()}"

    @property
    def key(self) -> str:
        """What identifies this expectation across builds: a publish record lists the keys of
        the expectations its products met; a new or changed one has a key none lists."""
        what = [
            self.consumer,
            self.domain,
            self.product,
            self.version,
            self.check.model_dump(exclude_none=True),
        ]
        return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def model(self) -> str:
        """The unique id of the product version in the producer's manifest."""
        version = f".v{self.version}" if self.version is not None else ""
        return f"model.{self.domain}.{self.product}{version}"

    @property
    def relation(self) -> str:
        """The relation name of the product version (`orders_v2`), in its schema."""
        return self.product + (f"_v{self.version}" if self.version is not None else "")


@dataclass(frozen=True)
class Query:
    """A check of data at the publish gate as SQL (an expectation, a volume or PII check):
    a query returning one value, NULL when the check holds, else what to report, followed
    by `counted` (what the value counts)."""

    label: str
    sql: str
    counted: str

    def failed(self, value: object) -> str:
        """The line reporting this check's failure with `value`, the same on every engine."""
        return f"{self.label} -> {value} {self.counted}".rstrip()


# (model unique id, test name, column) of a data test that passed in a producer's build.
PassedTest = tuple[str, str, str]


def load(domain: Domain) -> list[Expectation]:
    path = domain.path / FILE
    if not path.exists():
        return []
    try:
        parsed = ExpectationsFile.model_validate(yaml.safe_load(path.read_text()) or {})
    except yaml.YAMLError as error:
        raise DomainConfigError(f"{path} is not valid YAML: {error}") from None
    except ValidationError as error:
        first = error.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise DomainConfigError(
            f"{path}: entry {where.lstrip('.') or '(the file)'}: {message}. Each check of an "
            "expectation is one of: not_empty, unique, not_null, accepted_values, min_rows, "
            "expression."
        ) from None
    found: list[Expectation] = []
    for entry in parsed.expectations:
        producer, product = entry.product.split(".", 1)
        found.extend(
            Expectation(domain.name, producer, product, entry.version, check)
            for check in entry.checks
        )
    return found


def on_products_of(producer: str, consumers: list[Domain]) -> list[Expectation]:
    """Every consumer's expectations on `producer`'s products."""
    return [e for consumer in consumers for e in load(consumer) if e.domain == producer]


def passed_tests(manifest: Manifest, run_results: RunResults) -> set[PassedTest]:
    """The `unique` and `not_null` data tests of one model column that passed in the build
    these dbt artifacts describe."""
    found: set[PassedTest] = set()
    for result in run_results.results:
        test = manifest.nodes.get(result.unique_id)
        if result.status != "pass" or test is None or test.test_metadata is None:
            continue
        config = test.config
        if config.where or config.error_if.strip() != "!= 0" or config.warn_if.strip() != "!= 0":
            continue  # it checked some rows, or tolerated some failures: not the expectation
        column = test.test_metadata.arguments.get("column_name")
        if test.test_name in ("unique", "not_null") and column and test.attached_node:
            found.add((test.attached_node, test.test_name, column))
    return found


def _tested(expectation: Expectation, tested: set[PassedTest]) -> bool:
    """Whether the producer's own passing tests already checked this expectation."""
    check = expectation.check
    if check.unique:
        return (expectation.model, "unique", check.unique) in tested
    if check.not_null:
        return all((expectation.model, "not_null", column) in tested for column in check.not_null)
    return False


def quote(name: str) -> str:
    """A column name quoted the SQL standard's (and DuckDB's) way."""
    return '"' + name.replace('"', '""') + '"'


def string_literal(text: str) -> str:
    """A string literal the SQL standard's (and DuckDB's) way."""
    return "'" + text.replace("'", "''") + "'"


def queries(
    expectations: list[Expectation],
    relation: Callable[[Expectation], str],
    quoted: Callable[[str], str] = quote,
    literal: Callable[[str], str] = string_literal,
) -> list[Query]:
    """The expectations as SQL (`Query`): `relation` names where each product version is,
    `quoted` and `literal` spell a column name and a string in the engine's SQL."""
    return [
        Query(e.label, f"select nullif(({sql}), 0)", counted)
        for e in expectations
        for sql, counted in [_failure_sql(e.check, relation(e), quoted, literal)]
    ]


def untested(expectations: list[Expectation], tested: set[PassedTest]) -> list[Expectation]:
    """The expectations the producer's passing data tests (`passed_tests`) did not check."""
    return [e for e in expectations if not _tested(e, tested)]


def _failure_sql(
    check: Check, relation: str, quote_name: Callable[[str], str], literal: Callable[[str], str]
) -> tuple[str, str]:
    """A query returning one number that is 0 when the check holds, and what it counts."""
    if check.not_empty:
        return (
            f"select case when count(*) > 0 then 0 else 1 end "
            f"from (select 1 from {relation} limit 1) as any_row",
            "empty",
        )
    if check.min_rows is not None:
        return (
            f"select greatest({check.min_rows} - count(*), 0) from {relation}",
            f"rows short of {check.min_rows}",
        )
    if check.unique:
        column = quote_name(check.unique)
        return (
            f"select count(*) from (select {column} from {relation} group by {column} "
            f"having count(*) > 1) as duplicated",
            "duplicated values",
        )
    if check.not_null:
        condition = " or ".join(f"{quote_name(c)} is null" for c in check.not_null)
        return f"select count(*) from {relation} where {condition}", "rows with nulls"
    if check.accepted_values:
        values = ", ".join(literal(str(v)) for v in check.accepted_values.values)
        column = quote_name(check.accepted_values.column)
        return (
            f"select count(*) from {relation} where {column} not in ({values})",
            "rows with other values",
        )
    assert check.expression is not None  # a Check has exactly one field set
    return (
        f"select count(*) from {relation} where not ({check.expression})",
        "rows where it does not hold",
    )


def verify(databases: dict[str, Path], pending: list[Query]) -> list[str]:
    """Run check queries (`Query`) on DuckDB files, each attached read-only under its alias
    (`databases`); one line per check that failed or could not be evaluated."""
    failures = []
    with duckdb.connect() as con:
        for alias, database in sorted(databases.items()):
            con.execute(f"attach {string_literal(str(database))} as {quote(alias)} (read_only)")
        for query in pending:
            try:
                row = con.execute(query.sql).fetchone()
            except duckdb.Error as error:
                failures.append(f"{query.label} -> could not be evaluated: {error}")
                continue
            if row and row[0] is not None:
                failures.append(query.failed(row[0]))
    return failures

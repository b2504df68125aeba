from __future__ import annotations

from collections.abc import Iterator

from mesh.discovery.manifest import Node
from mesh.governance.rules._base import Context, DomainState, Finding, Rule

UNTESTABLE_CONSTRAINTS = ("check", "foreign_key")


def _wanted_tests(node: Node) -> dict[str, set[str]]:
    """Column -> the data tests that check what its constraints promise (`not_null`,
    `unique`), except those of a public model's single key column, which
    public_model_primary_key_is_tested asks for."""
    key = [column.lower() for column in node.primary_key]
    product_key = key if len(key) == 1 and node.is_public else []
    model_level: dict[str, set[str]] = {}  # `constraints: [{type: not_null, columns: [...]}]`
    for constraint in node.constraints:
        if constraint.type in ("not_null", "unique"):
            for name in constraint.columns:
                model_level.setdefault(name.lower(), set()).add(constraint.type)
    wanted: dict[str, set[str]] = {}
    for name, column in node.columns.items():
        types = {c.type for c in column.constraints} | model_level.get(name.lower(), set())
        tests = set()
        if name.lower() in key or types & {"not_null", "primary_key"}:
            tests.add("not_null")
        if "unique" in types or key == [name.lower()]:
            tests.add("unique")
        if tests and name.lower() not in product_key:
            wanted[name] = tests
    return wanted


def _problems(state: DomainState, node: Node) -> Iterator[str]:
    tests = state.column_tests(node.unique_id)
    for name, wanted in _wanted_tests(node).items():
        for test in sorted(wanted - {t for t, column in tests if column == name.lower()}):
            yield (
                f"Column {name} of {node.label} has a constraint that a {test} data test must "
                f"check, and no {test} test."
            )
    key = node.primary_key  # a public model's key: public_model_primary_key_is_tested
    if len(key) > 1 and not node.is_public and not state.key_is_tested(node.unique_id, key):
        yield (
            f"Primary key ({', '.join(key)}) of {node.label} has no "
            "shared_macros.unique_combination data test over its columns."
        )
    constraints = [*node.constraints, *(c for x in node.columns.values() for c in x.constraints)]
    for kind in sorted({c.type for c in constraints} & set(UNTESTABLE_CONSTRAINTS)):
        yield (
            f"{node.label} has a {kind} constraint, which not every engine enforces; "
            "state it as a data test instead."
        )


def check(state: DomainState, context: Context) -> Iterator[Finding]:
    for node in state.models:
        if node.contract_enforced:
            yield from ((node.unique_id, node.yaml_path, m) for m in _problems(state, node))


RULE = Rule(
    name="constraints_are_tested",
    summary="constraints without the data test that checks the same on any engine",
    flags="""Constraints of contracted models without the data test that checks the same:
        `not_null` (also for key columns), `unique` (also for a single key column),
        `shared_macros.unique_combination` for a key of several columns; and `check` or
        `foreign_key` constraints, which no test stands in for.""",
    why="""A constraint is only as good as the engine that enforces it: DuckDB refuses a null or
        a duplicate key, Spark's Parquet tables accept both. The data test makes the same
        promise hold on every engine the domain runs on. See docs/spark.md. (A public model's
        key is public_model_primary_key_is_tested's.)""",
    fix="""Add the data test beside the constraint (`data_tests: [not_null]` on the column);
        state a `check` as `shared_macros.expression_is_true` and a `foreign_key` as a
        `relationships` test.""",
    example="""`Column carrier of shipments v1 has a constraint that a not_null data test must
        check, and no not_null test.`

        ```yaml
              - name: carrier
                data_type: varchar
                constraints:
                  - type: not_null
                data_tests:
                  - not_null
        ```""",
    waivable=False,  # an untested constraint is a promise to readers that one engine breaks
    check=check,
)

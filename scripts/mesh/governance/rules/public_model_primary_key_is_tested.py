from __future__ import annotations

from collections.abc import Iterator

from mesh.governance.rules._base import Context, DomainState, Finding, Rule


def _problems(state: DomainState, uid: str, key: list[str], label: str) -> Iterator[str]:
    if not key:
        yield f"Public model {label} declares no primary_key constraint."
    elif len(key) > 1 and not state.key_is_tested(uid, key):
        yield (
            f"Primary key ({', '.join(key)}) of public model {label} has no "
            "shared_macros.unique_combination data test over its columns."
        )
    elif len(key) == 1:
        tests = state.column_tests(uid)
        for test in ("unique", "not_null"):
            if (test, key[0].lower()) not in tests:
                column = f"Primary key column {key[0]} of public model {label}"
                yield f"{column} has no {test} data test."


def check(state: DomainState, context: Context) -> Iterator[Finding]:
    for node in state.public_models:
        for message in _problems(state, node.unique_id, node.primary_key, node.label):
            yield node.unique_id, node.yaml_path, message


RULE = Rule(
    name="public_model_primary_key_is_tested",
    summary="public models without a primary key constraint and key tests",
    flags="""Public models without a `primary_key` constraint, single-column keys without both
        a `unique` and a `not_null` data test, and keys of several columns without a
        `shared_macros.unique_combination` data test over them.""",
    why="""Consumers join data products on their keys; a duplicated or missing key silently
        multiplies or drops rows in every domain downstream. The tests keep that promise on
        every engine: DuckDB enforces a primary key, Spark does not. A key is declared by the
        constraint (the contract, the manifest and the ODCS contract carry it) and checked by its
        tests, which stop the publish when they fail. For a single-column key the mesh does not
        also build the DuckDB index (`shared_macros/macros/ddl/table_constraints.sql`), which
        would check the same rows a second time at five times the cost of inserting them; a key
        of several columns stays a DuckDB constraint as well.""",
    fix="""Add `constraints: [{type: primary_key, columns: [...]}]` to the model,
        `data_tests: [unique, not_null]` to a single key column, and
        `shared_macros.unique_combination: {arguments: {columns: [...]}}` to the model's
        `data_tests` for a key of several columns.""",
    example="""`Primary key column order_line_id of public model order_lines v1 has no not_null
        data test.` A column-level `primary_key` constraint counts as the key too. A key of
        several columns, such as `[region, category_name]` of
        `analytics.sales_by_region_and_category`:

        ```yaml
            constraints:
              - type: primary_key
                columns: [region, category_name]
            data_tests:
              - shared_macros.unique_combination:
                  arguments:
                    columns: [region, category_name]
        ```""",
    waivable=False,  # a broken key multiplies or drops rows in the consumers' domains
    check=check,
)

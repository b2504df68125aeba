from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from mesh.governance.rules._base import Context, DomainState, Finding, Rule

_EXTERNAL_READ = re.compile(
    r"\b(?:read_parquet|read_csv\w*|read_json\w*|attach)\b[^;]*?(?:warehouse/published|\.duckdb)",
    re.IGNORECASE,
)


def _direct_reads(code: str, others: Iterable[str]) -> list[str]:
    found = []
    for other in sorted(others):
        name = re.escape(other)
        pattern = rf"\b{name}\.\w+\.\w+\b|\"{name}\"\s*\."
        found += [match.group(0) for match in re.finditer(pattern, code, re.IGNORECASE)]
    found += [match.group(0) for match in _EXTERNAL_READ.finditer(code)]
    return found


def check(state: DomainState, context: Context) -> Iterator[Finding]:
    for node in state.models:
        for text in _direct_reads(node.code, context.domains - {state.name}):
            read = " ".join(text.split())
            message = f"Model {node.label} reads another domain's data directly ({read})"
            yield node.unique_id, node.original_file_path, f"{message} instead of through a ref."


RULE = Rule(
    name="no_direct_reads_of_other_domains",
    summary="SQL reading another domain's database or files directly",
    flags="""Models whose SQL names another domain's database (`<domain>.<schema>.<table>` or
        `"<domain>".`) or reads a published `.duckdb` or `warehouse/published` file.""",
    why="""A direct read bypasses the ref: dbt cannot see the dependency, access and version
        rules do not apply, and the build order no longer knows the domain consumes another.""",
    fix="""Add the domain to `dbt_loom.config.yml` and use
        `{{ ref('<domain>', '<product>', v=<N>) }}`.""",
    example="""`Model stg_orders__orders reads another domain's data directly
        (orders.main.orders_v2) instead of through a ref.` The match ignores case and SQL and
        Jinja comments; refs such as `{{ ref('orders', 'orders', v=2) }}` and two-part column
        names such as `orders.order_id` do not match. Queries run with `mesh query` (for
        example `domains/analytics/queries/`) are not models and may join products by relation
        name.

        ```sql
        -- instead of: select * from orders.main.orders_v2
        select * from {{ ref('orders', 'orders', v=2) }}
        ```""",
    waivable=False,  # a read dbt cannot see escapes access, versions and the build order
    check=check,
)

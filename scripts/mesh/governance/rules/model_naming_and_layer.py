from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath

from mesh.governance.rules._base import Context, DomainState, Finding, Rule

_PREFIXES = {"staging": "stg_", "intermediate": "int_"}


def check(state: DomainState, context: Context) -> Iterator[Finding]:
    for node in state.models:
        name, parts = node.name, PurePosixPath(node.original_file_path).parts
        layer = parts[1] if len(parts) > 2 else None  # the folder right under models/
        problems = []
        for folder, prefix in _PREFIXES.items():
            if layer == folder and not name.startswith(prefix):
                problems.append(f"Model {name} is in models/{folder}/ but not named {prefix}*.")
            if name.startswith(prefix) and layer != folder:
                problems.append(f"Model {name} is named {prefix}* but is not in models/{folder}/.")
        if node.is_public and layer != "marts":
            problems.append(f"Public model {node.label} is not in models/marts/.")
        sources = [n for n in node.depends_on.nodes if n.startswith("source.")]
        if sources and layer != "staging":
            where = "a marts model" if layer == "marts" else "not a staging model"
            problems.append(
                f"Model {node.label} reads source {sources[0].split('.', 2)[-1]} "
                f"directly but is {where}."
            )
        yield from ((node.unique_id, node.original_file_path, message) for message in problems)


RULE = Rule(
    name="model_naming_and_layer",
    summary="models named or placed against the staging / intermediate / marts layout",
    flags="""Models in models/staging/ not named `stg_*` or in models/intermediate/ not named
        `int_*` (and the other way round), public models outside models/marts/, and models
        outside models/staging/ that read a source.""",
    why="""One layout in every domain lets anyone find their way in another team's project:
        staging is where data enters (sources and other domains' products), intermediate is
        private logic, and marts hold the products.""",
    fix="Rename or move the model; read a source in a staging model and ref that model instead.",
    example="""`Model int_orders_totaled reads source checkout.payments directly but is not a
        staging model.`

        ```sql
        -- models/intermediate/int_orders_totaled.sql
        payments as (
            select * from {{ ref('stg_checkout__payments') }}  -- not source('checkout', 'payments')
        ),
        ```""",
    waivable=True,  # style: the layout helps readers, a model out of place breaks nothing
    check=check,
)

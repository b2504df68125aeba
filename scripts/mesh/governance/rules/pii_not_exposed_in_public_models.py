from __future__ import annotations

from collections.abc import Iterator

from mesh.discovery.manifest import Node, Source
from mesh.governance.rules._base import Context, DomainState, Finding, Rule


def _pii_columns(state: DomainState) -> dict[str, str]:
    """PII column names (lower case) and the node that tags them, the domain's own first."""
    items: list[Node | Source] = [*state.manifest.models(), *state.manifest.sources.values()]
    found: dict[str, str] = {}
    for item in sorted(items, key=lambda item: (item.package_name != state.name, item.unique_id)):
        for name, column in item.columns.items():
            if column.is_pii:
                found.setdefault(name.lower(), item.unique_id)
    return found


def check(state: DomainState, context: Context) -> Iterator[Finding]:
    pii = _pii_columns(state)
    for node in state.public_models:
        for name in node.columns:
            if (origin := pii.get(name.lower())) is not None:
                message = (
                    f"Public model {node.label} exposes column {name}, tagged PII in {origin}."
                )
                yield node.unique_id, node.yaml_path, message
            elif name.lower().endswith("_hash") and not state.manifest.hashes_pii(node):
                message = (
                    f"Public model {node.label} has column {name}, but neither it nor its "
                    "upstream models in the domain call hash_pii()."
                )
                yield node.unique_id, node.original_file_path, message


RULE = Rule(
    name="pii_not_exposed_in_public_models",
    summary="PII columns in public models, hashes not made by `hash_pii()`",
    flags="""Public models with a column named like a column tagged `pii` (or with `meta: {pii:
        true}`) in any model or source the domain sees, and public `*_hash` columns that are
        not made by `hash_pii()`.""",
    why="""A data product is read by every domain; personal data must stay in the domain that
        collects it. Hashing it with the shared macro keeps it joinable without exposing it.""",
    fix="""Drop the column from the product, or publish `shared_macros.hash_pii(column)` as
        `<column>_hash` instead.""",
    example="""`Public model customers v1 exposes column email, tagged PII in
        model.customers.stg_crm__customers.` PII is tagged where it enters the domain; the PII
        names include those tagged in upstream domains' nodes in the manifest. A `*_hash` column
        passes when the model or one of its upstream models in the same domain calls `hash_pii(`
        outside a comment.

        ```yaml
        # models/staging/crm/_crm__models.yml
              - name: email
                config:
                  tags: [pii]
                  meta: {pii: true}
        ```

        ```sql
        -- models/marts/customers_v1.sql
        {{ shared_macros.hash_pii('email') }} as email_hash,
        ```""",
    waivable=False,  # personal data must not leave the domain that collects it
    check=check,
)

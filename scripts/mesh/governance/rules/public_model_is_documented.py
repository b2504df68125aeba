from __future__ import annotations

from collections.abc import Iterator

from mesh.governance.rules._base import Context, DomainState, Finding, Rule


def check(state: DomainState, context: Context) -> Iterator[Finding]:
    for node in state.public_models:
        problems = []
        if not node.description.strip():
            problems.append(f"Public model {node.label} has no description.")
        if not node.columns:
            problems.append(f"Public model {node.label} documents no columns.")
        for name, column in node.columns.items():
            fields = {"data_type": column.data_type, "description": column.description}
            if missing := [field for field, text in fields.items() if not (text or "").strip()]:
                problems.append(
                    f"Column {name} of public model {node.label} has no {' and no '.join(missing)}."
                )
        yield from ((node.unique_id, node.yaml_path, message) for message in problems)


RULE = Rule(
    name="public_model_is_documented",
    summary="public models or columns without description or data type",
    flags="""Public models without a description, and columns of public models without a
        `description` or a `data_type`.""",
    why="""A data product is used by people who cannot ask its authors: its description and
        its columns' meanings and types are its interface.""",
    fix="""Describe the model and each of its columns, with a `data_type`, in the model's YAML
        file beside its SQL.""",
    example="""`Column net_amount_usd of public model orders v2 has no data_type.`

        ```yaml
              - name: net_amount_usd
                data_type: decimal(18,2)
                description: Revenue of the order, gross minus discounts, USD.
        ```""",
    waivable=True,  # documentation: late docs inconvenience readers but break no build
    check=check,
)

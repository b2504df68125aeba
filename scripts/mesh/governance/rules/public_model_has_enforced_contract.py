from __future__ import annotations

from collections.abc import Iterator

from mesh.governance.rules._base import Context, DomainState, Finding, Rule


def check(state: DomainState, context: Context) -> Iterator[Finding]:
    for node in state.public_models:
        if not node.contract_enforced:
            message = f"Public model {node.label} does not enforce a contract."
            yield node.unique_id, node.yaml_path, message


RULE = Rule(
    name="public_model_has_enforced_contract",
    summary="public models without an enforced contract",
    flags="Public models whose contract is not enforced.",
    why="""Other domains build on a public model's columns and types. Without an enforced
        contract, a change to its SQL can rename, drop or retype a column and break every
        consumer at their next build, instead of failing the producer's build.""",
    fix="""Set `contract: {enforced: true}` in the model's config and give every column a
        `data_type`.""",
    example="""`Public model orders v2 does not enforce a contract.`, reported on
        `models/marts/orders.yml`.

        ```yaml
        models:
          - name: orders
            config:
              access: public
              contract:
                enforced: true
        ```""",
    waivable=False,  # the contract is what other domains' builds rely on
    check=check,
)

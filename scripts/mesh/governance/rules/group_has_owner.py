from __future__ import annotations

from collections.abc import Iterator

from mesh.governance.rules._base import Context, DomainState, Finding, Rule


def check(state: DomainState, context: Context) -> Iterator[Finding]:
    for uid, group in sorted(state.manifest.groups.items()):
        owner = {"name": group.owner.name, "email": group.owner.email}
        missing = [field for field, text in owner.items() if not (text or "").strip()]
        if group.package_name == state.name and missing:
            message = f"Group {group.name} has no owner {' and no owner '.join(missing)}."
            yield uid, group.original_file_path, message
    for node in state.models:
        if not node.group:
            yield node.unique_id, node.yaml_path, f"Model {node.label} belongs to no group."


RULE = Rule(
    name="group_has_owner",
    summary="groups without owner, models without group",
    flags="Groups without an owner name and email, and models that belong to no group.",
    why="""Domain ownership means every model has a team that answers for it; consumers and
        the platform need to know whom to ask when a product breaks.""",
    fix="""Give the domain's group in `models/_groups.yml` an `owner` with `name` and `email`,
        and set `+group` for all models in `dbt_project.yml`.""",
    example="""`Group orders has no owner email.`, reported on `models/_groups.yml` as node
        `group.orders.orders`.

        ```yaml
        # models/_groups.yml
        groups:
          - name: orders
            owner:
              name: Checkout Team
              email: checkout-team@shop.example
        # dbt_project.yml
        models:
          orders:
            +group: orders
        ```""",
    waivable=False,  # consumers need to know whom to ask when a product breaks
    check=check,
)

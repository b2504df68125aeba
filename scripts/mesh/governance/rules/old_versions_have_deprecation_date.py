from __future__ import annotations

from collections.abc import Iterator

from mesh.governance.rules._base import Context, DomainState, Finding, Rule


def _version_key(version: str) -> tuple[int, float, str]:
    try:
        return (0, float(version), "")
    except ValueError:
        return (1, 0.0, version)


def check(state: DomainState, context: Context) -> Iterator[Finding]:
    for node in state.models:
        version, latest = node.version, node.latest_version
        if version is None or latest is None or node.deprecation_date:
            continue
        if _version_key(version) < _version_key(latest):
            message = f"Model {node.label} is older than latest version {latest}"
            yield node.unique_id, node.yaml_path, f"{message} but has no deprecation_date."


RULE = Rule(
    name="old_versions_have_deprecation_date",
    summary="old model versions without a deprecation date",
    flags="Versions of a model older than its `latest_version` without a `deprecation_date`.",
    why="""Consumers need to know how long an old version will stay, and dbt warns them about
        deprecated versions they still use only when a date is set.""",
    fix="Set `deprecation_date` on every old version under the model's `versions:`.",
    example="""`Model orders v1 is older than latest version 2 but has no deprecation_date.`

        ```yaml
            latest_version: 2
            versions:
              - v: 2
              - v: 1
                deprecation_date: 2027-06-30
        ```""",
    waivable=False,  # consumers of the old version need its end date to plan their move
    check=check,
)

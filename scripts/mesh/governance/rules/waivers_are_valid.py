from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date

from mesh.governance.rules._base import Context, DomainState, Finding, Rule


@dataclass(frozen=True)
class Waiver:
    """One rule waived for one model, as the domain's YAML states it (`config.meta.waivers`)."""

    domain: str
    node: str
    model: str  # e.g. "orders v2"
    rule: str
    reason: str
    expires: str  # as written, YYYY-MM-DD when valid
    path: str
    active: bool  # it holds: the rule's violations of the model are not reported


def _problems(waiver: Waiver, context: Context) -> list[str]:
    text = f"Model {waiver.model} waives {waiver.rule or 'no rule'}"
    if waiver.rule not in context.waivable:
        return [f"{text}, which is not a rule."]
    problems = [] if context.waivable[waiver.rule] else [f"{text}, which cannot be waived."]
    if not waiver.reason:
        problems.append(f"{text} without a reason.")
    try:
        if date.fromisoformat(waiver.expires) < context.today:
            problems.append(f"{text} until {waiver.expires}, which has passed.")
    except ValueError:
        problems.append(f"{text} without an expiry date (`expires: YYYY-MM-DD`).")
    return problems


def read(state: DomainState, context: Context) -> Iterator[tuple[Waiver, list[str]]]:
    """Every waiver of the domain's models, with what makes it invalid (nothing if it holds)."""
    for node in state.models:
        entries = node.meta.get("waivers") or []
        for entry in entries if isinstance(entries, list) else [entries]:
            fields = entry if isinstance(entry, dict) else {"rule": entry}
            rule, reason, expires = (
                str(fields.get(key) or "").strip() for key in ("rule", "reason", "expires")
            )
            waiver = Waiver(
                state.name, node.unique_id, node.label, rule, reason, expires, node.yaml_path, True
            )
            problems = _problems(waiver, context)
            yield replace(waiver, active=not problems), problems


def check(state: DomainState, context: Context) -> Iterator[Finding]:
    for waiver, problems in read(state, context):
        yield from ((waiver.node, waiver.path, problem) for problem in problems)


RULE = Rule(
    name="waivers_are_valid",
    summary="waivers of unknown or unwaivable rules, without reason or date, or expired",
    flags="""Waivers (`config.meta.waivers` of a model) of a rule that does not exist or cannot
        be waived, without a `reason`, without an `expires` date (YYYY-MM-DD), or past it.""",
    why="""A waiver is a debt the domain owes its readers: its reason says why, its date says
        until when. Rules that protect other teams are not the domain's to waive.""",
    fix="Fix what the waived rule flags and remove the waiver, or give it a reason and a date.",
    example="""`Model orders v2 waives public_model_is_documented until 2026-01-31, which has
        passed.`

        ```yaml
        models:
          - name: orders
            config:
              meta:
                waivers:
                  - rule: public_model_is_documented
                    reason: "columns documented in the next release (JIRA-123)"
                    expires: 2027-01-31
        ```""",
    waivable=False,  # a waiver that waives its own checks would never expire
    check=check,
)

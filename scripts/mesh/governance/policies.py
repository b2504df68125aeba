"""Mesh-wide governance rules, checked on every domain's dbt manifest.

In the style of dbt-project-evaluator and sqlfluff, each rule is a module of
`mesh.governance.rules`, named for the rule: data (what it flags, why that matters in a mesh,
how to fix it, an example, whether a domain may waive it) plus a check. A check reads one
domain's manifest and looks only at the domain's own nodes; dbt-loom's injected upstream nodes
are read only for what they tell about the domain's own models (PII tags, access of what a
model refers to). This module runs the rules, applies the domains' waivers and writes
docs/policies.md: `python -m mesh.governance.policies > docs/policies.md`.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Sequence
from datetime import date
from inspect import cleandoc
from pathlib import Path

from jinja2 import Environment, StrictUndefined

from mesh import ids
from mesh.discovery import manifest
from mesh.discovery.domains import discover
from mesh.governance.rules import RULES, waivers_are_valid
from mesh.governance.rules._base import Context, DomainState, Rule, Violation
from mesh.governance.rules.waivers_are_valid import Waiver
from mesh.workspace import Mesh

__all__ = ["RULES", "DomainState", "Rule", "Violation", "Waiver", "evaluate", "markdown"]
__all__ += ["describe", "mesh_domains", "published_states", "waivers"]

WAIVABLE = {rule.name: rule.waivable for rule in RULES}
FIXES = {rule.name: " ".join(rule.fix.split()) for rule in RULES}


def describe(violation: Violation) -> str:
    """One violation as `mesh check` and the publish gate print it: the rule, the file to
    fix (relative to the domain's folder), what is wrong and how to fix it."""
    fix = FIXES.get(violation.rule, "")
    return f"[{violation.rule}] {violation.path}: {violation.message}" + (
        f" Fix: {fix}" if fix else ""
    )


def mesh_domains(domains: Sequence[DomainState]) -> frozenset[str]:
    """The names of all domains in the mesh the given domains belong to.

    That is the given domains, the dbt projects beside them (domain folders are siblings) and
    the upstream packages dbt-loom injected into their manifests, so a check of one domain
    still knows the others.
    """
    names = {domain.name for domain in domains}
    for domain in domains:
        if domain.path.parent.is_dir():
            names.update(p.parent.name for p in domain.path.parent.glob("*/dbt_project.yml"))
        names.update(node.package_name for node in domain.manifest.models() if node.package_name)
    return frozenset(names)


def waivers(state: DomainState, today: date) -> list[Waiver]:
    """Every waiver the domain's models declare; `active` when it holds on `today`."""
    return [
        waiver for waiver, _ in waivers_are_valid.read(state, Context(frozenset(), today, WAIVABLE))
    ]


def evaluate(
    domains: Sequence[DomainState], rules: Sequence[Rule] = RULES, today: date | None = None
) -> list[Violation]:
    """Every violation of `rules` in `domains` that no waiver holding `today` waives, sorted
    by domain, rule and node."""
    context = Context(mesh_domains(domains), today or ids.today(), WAIVABLE)
    found = []
    for state in domains:
        waived = {(w.node, w.rule) for w, _ in waivers_are_valid.read(state, context) if w.active}
        found += [
            violation
            for rule in rules
            for violation in rule.violations(state, context)
            if (violation.node, violation.rule) not in waived
        ]
    return sorted(found, key=lambda v: (v.domain, v.rule, v.node, v.path, v.message))


def published_states(mesh: Mesh) -> list[DomainState]:
    """The state of every domain of `mesh` that has a published manifest (others are left out)."""
    return [
        DomainState(name, domain.path, manifest.load(mesh.published_manifest(name)))
        for name, domain in discover(mesh).items()
        if mesh.published_manifest(name).exists()
    ]


def markdown(rules: Sequence[Rule] = RULES) -> str:
    """docs/policies.md: the page of `policies.md.j2`, with a table and a section per rule."""
    env = Environment(undefined=StrictUndefined, trim_blocks=True, keep_trailing_newline=True)
    env.filters["cleandoc"] = cleandoc
    env.filters["prose"] = lambda text: textwrap.fill(
        " ".join(text.split()), 95, break_long_words=False, break_on_hyphens=False
    )
    template = env.from_string((Path(__file__).parent / "policies.md.j2").read_text())
    return template.render(rules=rules)


if __name__ == "__main__":
    sys.stdout.write(markdown())

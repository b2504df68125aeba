from __future__ import annotations

from collections.abc import Iterator

from mesh.governance.rules._base import Context, DomainState, Finding, Rule

ARCHETYPES = frozenset({"source-aligned", "aggregate", "consumer-aligned"})


def check(state: DomainState, context: Context) -> Iterator[Finding]:
    for node in state.public_models:
        meta, label = node.meta, node.label
        problems = []
        if not str(meta.get("owner") or "").strip():
            problems.append(f"Public model {label} has no meta owner.")
        if meta.get("domain") != state.name:
            problems.append(
                f"Public model {label} has meta domain {meta.get('domain')!r}, not {state.name!r}."
            )
        if meta.get("archetype") not in ARCHETYPES:
            problems.append(
                f"Public model {label} has meta archetype {meta.get('archetype')!r}, "
                f"not one of {', '.join(sorted(ARCHETYPES))}."
            )
        if not isinstance(meta.get("freshness"), dict):
            problems.append(f"Public model {label} has no meta freshness mapping.")
        yield from ((node.unique_id, node.yaml_path, message) for message in problems)


RULE = Rule(
    name="public_model_has_product_meta",
    summary="public models without owner, domain, archetype, freshness",
    flags="""Public models whose `config.meta` lacks `owner`, `domain` (the domain's name),
        `archetype` (source-aligned, aggregate or consumer-aligned) or a `freshness` mapping.""",
    why="""The product list and consumers read these to find who owns a product, which domain
        it belongs to, what kind of product it is and how fresh it is promised to be.""",
    fix="""Add `owner`, `domain`, `archetype` and `freshness` under `config: meta:` in the
        model's YAML.""",
    example="""`Public model order_lines v1 has meta domain 'checkout', not 'orders'.`

        ```yaml
            config:
              meta:
                owner: checkout-team@shop.example
                domain: orders
                archetype: source-aligned
                freshness:
                  expected_update: hourly
                  max_age_hours: 6
        ```""",
    waivable=False,  # the product list, the catalog and the freshness checks read it
    check=check,
)

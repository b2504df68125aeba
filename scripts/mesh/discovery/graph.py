"""Build order of the domains, derived from what each one consumes."""

from __future__ import annotations

from collections.abc import Mapping
from graphlib import CycleError as GraphCycleError
from graphlib import TopologicalSorter

from mesh.discovery.domains import Domain
from mesh.errors import CycleError, DomainConfigError
from mesh.workspace import HOME


def _check_upstreams_exist(domains: dict[str, Domain]) -> None:
    for domain in domains.values():
        if domain.published_only:  # checked where it is built
            continue
        missing = [name for name in domain.upstreams if name not in domains]
        if missing:
            raise DomainConfigError(
                f"Domain {domain.name!r} consumes {', '.join(map(repr, missing))} in "
                f"{domain.loom_config}, but there is no such domain under domains/ nor any "
                "publish of it; if it lives in a repository of its own, run `mesh build` in its "
                f"dbt project with {HOME} set to this mesh's folder."
            )


def with_upstreams(domains: dict[str, Domain], targets: list[str]) -> set[str]:
    """The targets and every domain they consume, directly or not (not beyond a domain
    built elsewhere: what it consumes is its own repository's business)."""
    _check_upstreams_exist(domains)
    needed: set[str] = set()
    stack = list(targets)
    while stack:
        name = stack.pop()
        if name not in needed:
            needed.add(name)
            if not domains[name].published_only:
                stack.extend(domains[name].upstreams)
    return needed


def build_order(domains: dict[str, Domain], only: set[str] | None = None) -> list[str]:
    """Producers before their consumers; ties broken by name, so every machine has one order."""
    _check_upstreams_exist(domains)
    names = set(domains) if only is None else only
    sorter: TopologicalSorter[str] = TopologicalSorter(
        {name: [u for u in domains[name].upstreams if u in names] for name in sorted(names)}
    )
    try:
        sorter.prepare()
    except GraphCycleError as error:
        # graphlib lists the cycle from consumer back to producer; read it the other way.
        cycle = " consumes ".join(reversed(error.args[1]))
        raise CycleError(f"Domains consume each other in a cycle: {cycle}.") from error
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return order


def longest_chain_first(
    domains: dict[str, Domain], order: list[str], seconds: Mapping[str, float]
) -> list[str]:
    """`order` (producers first) re-sorted so that the domain with the most expected work
    between it and the end of the build (its own `seconds` plus its longest chain of
    consumers in `order`) comes first: the order a scheduler with fewer workers than ready
    domains starts them in, so the longest chain never waits behind short side branches.
    A producer's chain is never shorter than its consumers' (no time counts below 0), and
    ties keep `order`, so producers stay first."""
    consumers: dict[str, list[str]] = {name: [] for name in order}
    for name in order:
        for upstream in domains[name].upstreams:
            if upstream in consumers:
                consumers[upstream].append(name)
    chain: dict[str, float] = {}
    for name in reversed(order):  # every consumer's chain is known before its producer's
        longest = max((chain[c] for c in consumers[name]), default=0.0)
        chain[name] = max(seconds[name], 0.0) + longest
    position = {name: i for i, name in enumerate(order)}
    return sorted(order, key=lambda name: (-chain[name], position[name]))


def downstream_of(domains: dict[str, Domain], name: str) -> set[str]:
    """Every domain that consumes `name`, directly or not."""
    consumers: set[str] = set()
    stack = [name]
    while stack:
        current = stack.pop()
        for domain in domains.values():
            if current in domain.upstreams and domain.name not in consumers:
                consumers.add(domain.name)
                stack.append(domain.name)
    return consumers

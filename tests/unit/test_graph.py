"""Build order of domains: producers before consumers, the same on every machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.discovery import graph
from mesh.discovery.domains import Domain
from mesh.errors import CycleError, DomainConfigError


def domains_of(**upstreams: tuple[str, ...]) -> dict[str, Domain]:
    """Domains by name, each consuming the named upstreams."""
    return {
        name: Domain(name=name, path=Path("domains") / name, upstreams=ups, source_tables=())
        for name, ups in upstreams.items()
    }


SHOP = {
    "analytics": ("catalog", "customers", "fulfillment", "orders"),
    "fulfillment": ("orders",),
    "orders": ("catalog", "customers"),
    "customers": (),
    "catalog": (),
}


def test_build_order_puts_producers_before_consumers() -> None:
    assert graph.build_order(domains_of(**SHOP)) == [
        "catalog",
        "customers",
        "orders",
        "fulfillment",
        "analytics",
    ]


def test_build_order_does_not_depend_on_discovery_order() -> None:
    forward = domains_of(**SHOP)
    backward = dict(reversed(list(forward.items())))

    assert graph.build_order(backward) == graph.build_order(forward)


def test_independent_domains_are_ordered_by_name() -> None:
    assert graph.build_order(domains_of(zeta=(), alpha=(), mid=())) == ["alpha", "mid", "zeta"]


def test_with_upstreams_is_the_transitive_closure() -> None:
    domains = domains_of(**SHOP)

    assert graph.with_upstreams(domains, ["fulfillment"]) == {
        "catalog",
        "customers",
        "orders",
        "fulfillment",
    }
    assert graph.with_upstreams(domains, ["analytics"]) == set(SHOP)
    assert graph.with_upstreams(domains, ["customers"]) == {"customers"}


def test_build_order_of_a_subset_builds_only_that_subset_in_order() -> None:
    domains = domains_of(**SHOP)

    only = graph.with_upstreams(domains, ["fulfillment"])

    assert graph.build_order(domains, only) == ["catalog", "customers", "orders", "fulfillment"]


def test_a_cycle_raises_naming_the_domains_in_it() -> None:
    domains = domains_of(a=("b",), b=("c",), c=("a",), outsider=())

    with pytest.raises(CycleError) as raised:
        graph.build_order(domains)

    # Deterministic, and read in the direction of consumption: a consumes b, b consumes c ...
    assert str(raised.value) == (
        "Domains consume each other in a cycle: a consumes b consumes c consumes a."
    )


def test_a_domain_consuming_itself_is_a_cycle() -> None:
    with pytest.raises(CycleError, match="a consumes a"):
        graph.build_order(domains_of(a=("a",)))


def test_an_upstream_that_is_not_a_domain_is_a_config_error() -> None:
    domains = domains_of(orders=("customers", "crm"), customers=())

    with pytest.raises(DomainConfigError) as raised:
        graph.build_order(domains)

    message = str(raised.value)
    assert "'orders'" in message
    assert "'crm'" in message
    assert "'customers'" not in message
    assert str(Path("domains") / "orders" / "dbt_loom.config.yml") in message
    with pytest.raises(DomainConfigError, match="'crm'"):
        graph.with_upstreams(domains, ["customers"])


def test_downstream_of_is_every_direct_and_indirect_consumer() -> None:
    domains = domains_of(**SHOP)

    assert graph.downstream_of(domains, "orders") == {"fulfillment", "analytics"}
    assert graph.downstream_of(domains, "customers") == {"orders", "fulfillment", "analytics"}
    assert graph.downstream_of(domains, "analytics") == set()


MESH = {  # the repository's domains
    "analytics": ("catalog", "customers", "fulfillment", "orders"),
    "fulfillment": ("orders",),
    "orders": (),
    "customers": (),
    "catalog": (),
}


def test_the_longest_chain_of_expected_work_starts_first() -> None:
    domains = domains_of(**MESH)
    order = graph.build_order(domains)
    seconds = dict.fromkeys(order, 1.0)

    # orders -> fulfillment -> analytics is three builds long; catalog's chain is two.
    assert graph.longest_chain_first(domains, order, seconds) == [
        "orders", "catalog", "customers", "fulfillment", "analytics",
    ]  # fmt: skip
    # A slow side branch goes first when its chain is the longer one.
    assert graph.longest_chain_first(domains, order, {**seconds, "catalog": 5.0})[0] == "catalog"


def test_longest_chain_first_keeps_every_producer_before_its_consumers() -> None:
    import random

    rng = random.Random(7)
    for _ in range(200):
        names = [f"d{i}" for i in range(8)]
        domains = domains_of(
            **{n: tuple(u for u in names[:i] if rng.random() < 0.3) for i, n in enumerate(names)}
        )
        order = graph.build_order(domains)
        seconds = {n: rng.choice([0.1, 1.0, 30.0]) for n in names}
        ranked = graph.longest_chain_first(domains, order, seconds)
        assert sorted(ranked) == sorted(order)
        for name in ranked:
            assert all(ranked.index(u) < ranked.index(name) for u in domains[name].upstreams)

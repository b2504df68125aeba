"""What the rule modules share: a rule, the domain it reads, what it reports, and the
readers two or more rules use."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from mesh.discovery.manifest import Manifest, Node


@dataclass(frozen=True)
class Violation:
    """One thing in one domain that breaks one rule."""

    rule: str  # the rule's name
    domain: str
    node: str  # e.g. "model.orders.orders.v2" or "group.orders.orders"
    path: str  # the file to fix, relative to the domain folder
    message: str  # one sentence naming the model or column


@dataclass(frozen=True)
class DomainState:
    """What the rules read of a domain: its dbt project folder and its parsed manifest."""

    name: str
    path: Path
    manifest: Manifest

    @property
    def models(self) -> list[Node]:
        """The domain's own models (not those dbt-loom injected), ordered by unique id."""
        return self.manifest.models(self.name)

    @property
    def public_models(self) -> list[Node]:
        return self.manifest.public_models(self.name)

    def column_tests(self, model_id: str) -> set[tuple[str, str]]:
        """(test name, column) of every generic data test on a column of the model."""
        return {
            (test.test_metadata.name, test.column_name.lower())
            for test in self.manifest.tests()
            if test.column_name and test.test_metadata and test.test_metadata.name
            if test.attached_node == model_id
            or (test.attached_node is None and model_id in test.depends_on.nodes)
        }

    def key_is_tested(self, model_id: str, key: list[str]) -> bool:
        """Whether a `unique_combination` data test of the model covers exactly `key`."""
        wanted = sorted(column.lower() for column in key)
        return any(
            test.attached_node == model_id
            and test.test_metadata.name == "unique_combination"
            and sorted(str(c).lower() for c in test.test_metadata.arguments.get("columns") or [])
            == wanted
            for test in self.manifest.tests()
            if test.test_metadata
        )


@dataclass(frozen=True)
class Context:
    """What a check knows beyond its domain."""

    domains: frozenset[str]  # the names of all domains of the mesh
    today: date
    waivable: Mapping[str, bool]  # every rule's name: whether a domain may waive it


Finding = tuple[str, str, str]  # node id, file to fix, message: a Violation without its rule


@dataclass(frozen=True)
class Rule:
    """A governance rule: what it flags, why that matters in a mesh, how to fix it (with an
    example in Markdown), whether a domain may waive it for a model, and the check."""

    name: str
    summary: str  # a few words, for the table of docs/policies.md
    flags: str
    why: str
    fix: str
    example: str
    waivable: bool
    check: Callable[[DomainState, Context], Iterable[Finding]]

    def violations(self, state: DomainState, context: Context) -> list[Violation]:
        return [Violation(self.name, state.name, *found) for found in self.check(state, context)]

"""Upstream products in a consumer's manifest as their producers documented them.

dbt-loom turns each node of an upstream's published manifest into dbt's `ModelNodeArgs`
(name, package, version, access, relation, deprecation date), from which dbt builds the
node it injects into the consumer's manifest: description, columns (types, descriptions,
constraints), contract, docs, meta and tags are lost on the way, so `dbt docs` and every
reader of the consumer's manifest see the upstream products as bare names. dbt-loom keeps
the manifests it read (`dbtLoom.manifests`, by project name) and already wraps
`ModelNode.from_args` to carry `group` and `event_time` over; this module wraps it once
more, per process, and gives each injected *public* node (a product: the only upstream
nodes a consumer may ref) what its producer published: `documented` is the whole merge.
Private and protected upstream nodes stay bare: they are the producer's internals, and
their PII tags would otherwise feed the consumer's PII rule and its ODCS contracts.

The consumer does not judge its upstreams' contracts; the producer's publish gate does.
Before this module dbt's state comparison (`state:modified`, which `mesh check` runs) saw
injected nodes without a contract, so an upstream's later change could never be reported
as the consumer's breaking change. `same_contract` and `same_contract_removed` keep it so
for injected nodes.

It is loaded by dbt itself, in every command that reads a project (parse, ls, compile,
build, docs generate...), with no flag: dbt's plugin manager imports every top-level
module named `dbt_*` that has a `plugins` list (`scripts/dbt_mesh`), before it parses.
The profile's dbt-duckdb plugin would be too late: dbt-duckdb imports it when it opens a
connection, which `dbt parse` and `dbt ls` never do and `dbt build` does after parsing.

Written against dbt-loom 0.9.6 (SUPPORTED_DBT_LOOM); another version, or a shape this
module does not recognise, stops dbt with one line saying so rather than silently
injecting bare nodes again.
"""

from __future__ import annotations

import copy
import functools
import importlib.metadata
from collections.abc import Callable, Mapping
from typing import Any

from dbt.contracts.graph.nodes import ModelNode
from dbt.plugins.manager import dbtPlugin
from dbt_common.exceptions import DbtRuntimeError

SUPPORTED_DBT_LOOM = "0.9.6"

# What a producer documents of a product, copied onto the consumer's node as published:
# node properties, and the ones dbt keeps in the node's config as well.
DOCUMENTED = (
    "description", "columns", "contract", "constraints", "docs", "meta", "tags",
    "deprecation_date",
)  # fmt: skip
DOCUMENTED_CONFIG = ("contract", "docs", "meta", "tags")


class LoomShapeError(DbtRuntimeError):
    """dbt-loom is not the version, or not the shape, this module was written against.

    A dbt error, not a MeshError: it is raised inside dbt, which prints it as one line."""


def documented(injected: Mapping[str, Any], published: Mapping[str, Any]) -> dict[str, Any]:
    """The injected node (as `ModelNode.to_dict()` gives it) with what the producer's
    published node documents: DOCUMENTED, and DOCUMENTED_CONFIG in its config. Everything
    else (relation, access, version, checksum, depends_on) stays as dbt-loom made it."""
    merged = dict(injected)
    for key in DOCUMENTED:
        if key in published:
            merged[key] = copy.deepcopy(published[key])
    config = dict(injected.get("config") or {})
    for key in DOCUMENTED_CONFIG:
        if key in (published.get("config") or {}):
            config[key] = copy.deepcopy(published["config"][key])
    merged["config"] = config
    return merged


def published_product(
    manifests: Mapping[str, Mapping[str, Any]], unique_id: str, package: str
) -> Mapping[str, Any] | None:
    """The node `unique_id` as its producer published it, if it is a public product; None
    for private and protected nodes. The producer's own manifest is preferred to another
    upstream's copy of the node (as dbt-loom prefers it).

    Raises LoomShapeError when no manifest holds the node: dbt-loom made it from one."""
    holders = [package, *sorted(name for name in manifests if name != package)]
    for name in holders:
        node = (manifests.get(name) or {}).get("nodes", {}).get(unique_id)
        if node is not None:
            return node if node.get("access") == "public" else None
    raise LoomShapeError(
        f"mesh.runner.loom_docs: dbt-loom injected {unique_id}, which none of the manifests "
        f"it loaded ({', '.join(sorted(manifests)) or 'none'}) holds; dbt-loom's shape is not "
        f"the one of dbt-loom {SUPPORTED_DBT_LOOM}."
    )


def _loom_manifests() -> Mapping[str, Mapping[str, Any]]:
    """The manifests dbt-loom loaded for the current dbt invocation, by project name."""
    from dbt import plugins
    from dbt_loom import dbtLoom

    manager = plugins.PLUGIN_MANAGER
    hooks = manager.hooks.get("get_nodes", []) if manager else []
    looms = [
        owner for hook in hooks if isinstance(owner := getattr(hook, "__self__", None), dbtLoom)
    ]
    if len(looms) != 1 or not isinstance(getattr(looms[0], "manifests", None), dict):
        raise LoomShapeError(
            "mesh.runner.loom_docs: dbt injected a dbt-loom node, but dbt's plugin manager "
            f"holds {len(looms)} dbt-loom plugins with loaded manifests (expected one, as in "
            f"dbt-loom {SUPPORTED_DBT_LOOM})."
        )
    manifests: Mapping[str, Mapping[str, Any]] = looms[0].manifests
    return manifests


def _documenting(from_args: Callable[[Any], ModelNode]) -> Callable[[Any], ModelNode]:
    """`ModelNode.from_args`, giving each dbt-loom product node its published docs."""
    from dbt_loom import LoomModelNodeArgs

    def documenting_from_args(args: Any) -> ModelNode:
        node = from_args(args)
        if not isinstance(args, LoomModelNodeArgs):
            return node
        published = published_product(_loom_manifests(), node.unique_id, node.package_name)
        if published is None:
            return node
        try:
            return ModelNode.from_dict(documented(node.to_dict(), published))
        except Exception as error:
            raise LoomShapeError(
                f"mesh.runner.loom_docs: {node.unique_id} as {node.package_name} published it "
                f"is not a model node this dbt reads ({error}); rebuild {node.package_name} "
                "with this dbt version."
            ) from error

    return documenting_from_args


def _external_contracts_unjudged() -> None:
    """dbt's contract comparison passes injected nodes, as it did when they had no contract."""
    same_contract = ModelNode.same_contract
    same_contract_removed = ModelNode.same_contract_removed

    def same_contract_unless_injected(
        self: ModelNode, old: ModelNode, adapter_type: str | None = None
    ) -> bool:
        if self.is_external_node:
            return True
        result: bool = same_contract(self, old, adapter_type)
        return result

    def same_contract_removed_unless_injected(self: ModelNode) -> bool:
        if self.is_external_node:
            return True
        result: bool = same_contract_removed(self)
        return result

    setattr(ModelNode, "same_contract", same_contract_unless_injected)  # noqa: B010
    setattr(ModelNode, "same_contract_removed", same_contract_removed_unless_injected)  # noqa: B010


def check_dbt_loom(version: str | None = None) -> None:
    """Raise LoomShapeError unless dbt-loom (installed, or `version`) is the version and
    shape this module knows."""
    version = version or importlib.metadata.version("dbt-loom")
    if version != SUPPORTED_DBT_LOOM:
        raise LoomShapeError(
            f"mesh.runner.loom_docs is written for dbt-loom {SUPPORTED_DBT_LOOM}, not {version}: "
            f"install dbt-loom=={SUPPORTED_DBT_LOOM} (constraints.txt), or check that the new "
            "version still drops upstream docs and update the module and its pin."
        )
    import dbt_loom

    missing = [
        name
        for owner, name in [
            (dbt_loom, "dbtLoom"),
            (dbt_loom, "LoomModelNodeArgs"),
            (ModelNode, "from_args"),
            (ModelNode, "from_dict"),
            (ModelNode, "same_contract"),
            (ModelNode, "same_contract_removed"),
        ]
        if not hasattr(owner, name)
    ]
    if missing:
        raise LoomShapeError(
            f"mesh.runner.loom_docs: dbt-loom {version} or dbt lacks {', '.join(missing)}; "
            "update the module."
        )


@functools.cache
def explain_missing_manifests() -> None:
    """dbt-loom raises a BaseException for an upstream manifest that is not there, which dbt
    prints as a traceback (plain dbt in a consumer before its upstream is published). Make it
    one line that says what to do. Runs when dbt imports `dbt_mesh`, before it makes the
    plugins (dbt imports every `dbt_*` module first)."""
    from dbt_loom.config import LoomConfigurationError
    from dbt_loom.manifests import ManifestLoader

    load = ManifestLoader.load_from_local_filesystem

    def load_or_explain(config: Any) -> Any:
        try:
            return load(config)
        except LoomConfigurationError as error:
            raise DbtRuntimeError(
                f"dbt-loom: {error} The domain it names has not been published here: run "
                "`mesh build <that domain>` in the mesh first."
            ) from None

    setattr(ManifestLoader, "load_from_local_filesystem", staticmethod(load_or_explain))  # noqa: B010


@functools.cache
def install() -> None:
    """Wrap dbt's functions once per process (dbt-loom re-wraps on every invocation; this
    wrapper stays under or over its wrappers, which work in either order)."""
    check_dbt_loom()
    # As dbt-loom does it; setattr says that dbt's class is patched on purpose.
    setattr(ModelNode, "from_args", staticmethod(_documenting(ModelNode.from_args)))  # noqa: B010
    _external_contracts_unjudged()


class LoomDocs(dbtPlugin):
    """The dbt plugin (`dbt_mesh.plugins`): dbt makes one per invocation, before parsing."""

    def initialize(self) -> None:
        install()

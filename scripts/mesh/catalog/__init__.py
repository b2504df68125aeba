"""The data product catalog: a static HTML site of everything published, readable offline.

    <out>/index.html                         every domain and product; search and filters
    <out>/products/<domain>.<product>.html   one page per product: versions, schemas, PII,
                                             last publish, freshness, inputs and consumers
    <out>/lineage.svg                        the cross-domain lineage, drawn here
    <out>/files/<domain>.<product>.v<N>.*    the published contract, descriptor and Parquet
    <out>/assets/                            one CSS and one JS file; nothing from a network

Everything is read from what is published: each domain's `current` publish folder, resolved
once, so a publish during the build cannot mix two publishes into one product page. The site is
written into a hidden folder beside `out` and renamed into place, so a reader never sees half
a catalog; an existing `out` is only replaced if an earlier catalog build wrote it.

May import: mesh.errors, mesh.ids, mesh.workspace, mesh.discovery, mesh.governance.
"""

from __future__ import annotations

import functools
import html
import itertools
import json
import os
import re
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from mesh.discovery import graph
from mesh.discovery import lineage as lineage_module
from mesh.discovery.domains import Domain, discover
from mesh.discovery.manifest import parse as parse_manifest
from mesh.discovery.manifest import pii_columns
from mesh.discovery.products import Product, products_of
from mesh.discovery.registry import (
    CONTRACT,
    DESCRIPTOR,
    RECORD,
    ProductStats,
    PublishRecord,
    parquet_name,
    port_folder,
)
from mesh.errors import MeshError
from mesh.workspace import Mesh

TEMPLATES = Path(__file__).parent / "templates"
ASSETS = ("catalog.css", "catalog.js")
MARKER = ".mesh-catalog"  # written into every catalog, so only a catalog is ever replaced

RUN_RESULTS = "run_results.json"


# What the pages show ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """A text and, when there is a page or file for it, its path from the site root."""

    text: str
    href: str | None = None


@dataclass(frozen=True)
class SchemaColumn:
    name: str
    data_type: str
    description: str
    pii: str | None  # "PII" (tagged in the domain), "hashed PII" (a *_hash column) or None


@dataclass(frozen=True)
class TestResult:
    __test__ = False  # not a pytest test class

    name: str
    kind: str  # "data test" or "unit test"
    status: str  # dbt's status in the last publish's run results, or "not run"


@dataclass(frozen=True)
class Consumer:
    """A model of another domain that reads a product version, and the products it feeds."""

    domain: str
    model: str
    domain_link: Link
    feeds: tuple[Link, ...]


@dataclass(frozen=True)
class VersionPage:
    version: str | None
    label: str
    anchor: str
    statuses: tuple[str, ...]  # "latest", "deprecated", "superseded"
    deprecated: bool
    deprecation_date: str | None
    deprecation_passed: bool
    description: str
    relation: str
    contract_enforced: bool
    columns: tuple[SchemaColumn, ...]
    rows: int | None
    checksum: str | None
    contract: Link | None
    contract_text: str | None
    parquet: Link | None
    parquet_bytes: int | None
    descriptor: Link | None
    inputs: tuple[Link, ...]
    consumers: tuple[Consumer, ...]
    tests: tuple[TestResult, ...]

    @property
    def tests_passed(self) -> int:
        return sum(1 for test in self.tests if test.status in PASSED)


@dataclass(frozen=True)
class Freshness:
    expected_update: str | None
    max_age_hours: float | None
    age_hours: float | None
    status: str  # "within", "overdue" or "unknown"


@dataclass(frozen=True)
class LastPublish:
    publish_id: str | None
    published_at: str | None
    git_commit: str | None
    dbt_results: dict[str, int]
    run_results: tuple[tuple[str, str, int], ...]  # (resource type, status, count)
    has_run_results: bool
    upstreams: dict[str, str]


@dataclass(frozen=True)
class ProductPage:
    domain: str
    name: str
    slug: str
    href: str
    title: str
    owner: str | None
    archetype: str | None
    description: str
    latest: VersionPage
    versions: tuple[VersionPage, ...]  # newest first
    freshness: Freshness
    publish: LastPublish
    search_text: str

    @property
    def domain_href(self) -> str:
        return domain_href(self.domain)

    @property
    def deprecated(self) -> bool:
        """Whether every version is deprecated (there is nothing current to use)."""
        return all(version.deprecated for version in self.versions)


@dataclass
class DomainSection:
    name: str
    anchor: str
    published: bool
    upstreams: tuple[str, ...]
    products: list[ProductPage] = field(default_factory=list)

    @property
    def owners(self) -> list[str]:
        return sorted({p.owner for p in self.products if p.owner})

    @property
    def archetype(self) -> str | None:
        found = Counter(p.archetype for p in self.products if p.archetype)
        return found.most_common(1)[0][0] if found else None


PASSED = frozenset({"pass", "success"})


# Reading what is published ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Published:
    """One domain's current publish folder, read once."""

    domain: str
    folder: Path
    manifest: dict[str, Any]
    record: PublishRecord
    run_results: dict[str, Any] | None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        content = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return content if isinstance(content, dict) else None


def _read_published(mesh: Mesh, domain: str) -> _Published | None:
    link = mesh.published_dir(domain)
    if not link.exists():
        return None
    folder = link.resolve()
    manifest = _read_json(folder / "manifest.json")
    try:
        record = PublishRecord.model_validate_json((folder / RECORD).read_bytes())
    except (OSError, ValueError):
        return None
    if manifest is None:
        return None
    return _Published(domain, folder, manifest, record, _read_json(folder / RUN_RESULTS))


def _unique_id(domain: str, name: str, version: str | None) -> str:
    return f"model.{domain}.{name}" + (f".v{version}" if version is not None else "")


def _version_label(version: str | None) -> str:
    return f"v{version}" if version is not None else "unversioned"


def _slug(*parts: str) -> str:
    return ".".join(re.sub(r"[^A-Za-z0-9_-]", "_", part) for part in parts)


def product_href(domain: str, name: str) -> str:
    """The page of a product, from the site root."""
    return f"products/{_slug(domain, name)}.html"


def domain_href(domain: str) -> str:
    return f"index.html#{_domain_anchor(domain)}"


def _domain_anchor(domain: str) -> str:
    return "domain-" + _slug(domain)


def pii_flag(column: str, pii_columns: Iterable[str]) -> str | None:
    """ "PII" if the domain tags the column PII anywhere, "hashed PII" for a hash of PII."""
    lowered = column.lower()
    if lowered in {name.lower() for name in pii_columns}:
        return "PII"
    if lowered.endswith("_hash"):
        return "hashed PII"
    return None


def _test_name(node: dict[str, Any]) -> str:
    metadata = node.get("test_metadata") or {}
    if metadata.get("name"):
        column = node.get("column_name")
        namespace = metadata.get("namespace")
        test = f"{namespace}.{metadata['name']}" if namespace else str(metadata["name"])
        return f"{test} ({column})" if column else test
    return str(node.get("name") or node.get("unique_id") or "test")


def _tests_of(published: _Published, unique_id: str) -> tuple[TestResult, ...]:
    """The data and unit tests of one model and how each ended in the last publish."""
    statuses = {
        str(result.get("unique_id")): str(result.get("status"))
        for result in (published.run_results or {}).get("results", [])
    }
    manifest = published.manifest
    found = []
    candidates = [
        *((node, "data test") for node in manifest.get("nodes", {}).values()),
        *((node, "unit test") for node in manifest.get("unit_tests", {}).values()),
    ]
    for node, kind in candidates:
        if kind == "data test" and node.get("resource_type") != "test":
            continue
        attached = node.get("attached_node")
        depends = (node.get("depends_on") or {}).get("nodes", [])
        if attached == unique_id or (not attached and unique_id in depends):
            found.append(
                TestResult(_test_name(node), kind, statuses.get(node["unique_id"], "not run"))
            )
    return tuple(sorted(found, key=lambda test: (test.kind, test.name)))


def _upstream_products(published: _Published, unique_id: str) -> list[tuple[str, str, str | None]]:
    """Product versions of other domains that a model reads, directly or through its models."""
    nodes = published.manifest.get("nodes", {})
    found: set[tuple[str, str, str | None]] = set()
    seen: set[str] = set()
    stack = [unique_id]
    while stack:
        current = stack.pop()
        node = nodes.get(current)
        if current in seen or node is None:
            continue
        seen.add(current)
        if node.get("package_name") != published.domain:
            if node.get("resource_type") == "model":
                version = node.get("version")
                found.add(
                    (node["package_name"], node["name"], None if version is None else str(version))
                )
            continue
        stack.extend((node.get("depends_on") or {}).get("nodes", []))
    return sorted(found, key=lambda item: (item[0], item[1], item[2] or ""))


def _public_downstream(published: _Published, model: str) -> list[tuple[str, str | None]]:
    """The public models (products) of a domain fed by its model `model`, as (name, version)."""
    nodes = published.manifest.get("nodes", {})
    children = published.manifest.get("child_map", {})
    stack = [
        uid
        for uid, node in nodes.items()
        if node.get("package_name") == published.domain
        and node.get("resource_type") == "model"
        and node.get("name") == model
    ]
    found: set[tuple[str, str | None]] = set()
    seen: set[str] = set()
    while stack:
        current = stack.pop()
        node = nodes.get(current)
        if current in seen or node is None or node.get("package_name") != published.domain:
            continue
        seen.add(current)
        if node.get("resource_type") == "model" and node.get("access") == "public":
            version = node.get("version")
            found.add((node["name"], None if version is None else str(version)))
        stack.extend(children.get(current, []))
    return sorted(found, key=lambda item: (item[0], item[1] or ""))


def freshness(meta: Mapping[str, Any] | None, published_at: str | None, now: datetime) -> Freshness:
    """The freshness expectation of a product and whether its last publish is within it."""
    meta = meta or {}
    expected = meta.get("expected_update")
    try:
        max_age = float(meta["max_age_hours"]) if meta.get("max_age_hours") is not None else None
    except (TypeError, ValueError):
        max_age = None
    age = None
    if published_at:
        try:
            when = datetime.fromisoformat(published_at)
        except ValueError:
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            age = max((now - when).total_seconds() / 3600, 0.0)
    if age is None or max_age is None:
        status = "unknown"
    else:
        status = "within" if age <= max_age else "overdue"
    return Freshness(None if expected is None else str(expected), max_age, age, status)


# Building the pages' data -----------------------------------------------------------------------


@dataclass
class _Site:
    """What the catalog shows, and the files to copy into it (site path -> source path)."""

    sections: list[DomainSection]
    products: list[ProductPage]
    edges: list[lineage_module.Edge]
    order: list[str]
    upstreams: dict[str, tuple[str, ...]]
    files: dict[str, Path]


def _copy_port_file(files: dict[str, Path], source: Path, name: str) -> Link | None:
    if not source.is_file():
        return None
    files[f"files/{name}"] = source
    return Link(name, f"files/{name}")


def _version_page(
    published: _Published,
    product: Product,
    stats: Mapping[tuple[str, str | None], ProductStats],
    pii: set[str],
    consumers: Sequence[lineage_module.Edge],
    published_domains: Mapping[str, _Published],
    known: set[tuple[str, str]],
    files: dict[str, Path],
    today: str,
) -> VersionPage:
    domain, version = published.domain, product.version
    label = _version_label(version)
    stem = _slug(domain, product.name, label)
    folder = published.folder / port_folder(product.name, version)

    contract = _copy_port_file(files, folder / CONTRACT, f"{stem}.odcs.yaml")
    contract_text = None
    if contract is not None:
        try:
            contract_text = (folder / CONTRACT).read_text()
        except (OSError, UnicodeDecodeError):
            contract_text = None
    parquet_source = folder / parquet_name(product.name, version)
    parquet = _copy_port_file(files, parquet_source, f"{stem}.parquet")
    descriptor_link = _copy_port_file(files, folder / DESCRIPTOR, f"{stem}.descriptor.json")

    descriptor = _read_json(folder / DESCRIPTOR) if descriptor_link else None
    declared = (descriptor or {}).get("inputPorts")
    if isinstance(declared, list) and all(isinstance(port, dict) for port in declared):
        upstream = [
            (
                str(port.get("domain") or ""),
                str(port.get("product") or port.get("id") or ""),
                None if port.get("version") is None else str(port["version"]),
            )
            for port in declared
        ]
    else:
        upstream = _upstream_products(published, _unique_id(domain, product.name, version))
    inputs = tuple(
        Link(
            f"{up_domain}.{up_name} {_version_label(up_version)}",
            (
                product_href(up_domain, up_name) + f"#{_version_label(up_version)}"
                if (up_domain, up_name) in known
                else None
            ),
        )
        for up_domain, up_name, up_version in upstream
    )

    consumer_views = []
    for edge in consumers:
        consumer = published_domains.get(edge.consumer)
        feeds = _public_downstream(consumer, edge.consumer_model) if consumer else []
        consumer_views.append(
            Consumer(
                edge.consumer,
                edge.consumer_model,
                Link(
                    edge.consumer,
                    domain_href(edge.consumer)
                    if any(d == edge.consumer for d, _ in known)
                    else None,
                ),
                tuple(
                    Link(
                        f"{name} {_version_label(fed)}",
                        product_href(edge.consumer, name) + f"#{_version_label(fed)}",
                    )
                    for name, fed in feeds
                ),
            )
        )

    is_latest = version is None or version == product.latest_version
    deprecated = product.deprecation_date is not None
    statuses = tuple(
        status
        for status, applies in (
            ("latest", is_latest),
            ("deprecated", deprecated),
            ("superseded", not is_latest and not deprecated),
        )
        if applies
    )
    stat = stats.get((product.name, version))
    return VersionPage(
        version=version,
        label=label,
        anchor=label,
        statuses=statuses,
        deprecated=deprecated,
        deprecation_date=product.deprecation_date,
        deprecation_passed=deprecated and str(product.deprecation_date) < today,
        description=product.description,
        relation=product.relation,
        contract_enforced=product.contract_enforced,
        columns=tuple(
            SchemaColumn(
                column.name,
                column.data_type or "",
                column.description,
                pii_flag(column.name, pii),
            )
            for column in product.columns
        ),
        rows=stat.rows if stat else None,
        checksum=stat.checksum if stat else None,
        contract=contract,
        contract_text=contract_text,
        parquet=parquet,
        parquet_bytes=parquet_source.stat().st_size if parquet else None,
        descriptor=descriptor_link,
        inputs=inputs,
        consumers=tuple(consumer_views),
        tests=_tests_of(published, _unique_id(domain, product.name, version)),
    )


def _last_publish(published: _Published) -> LastPublish:
    record = published.record
    counts: Counter[tuple[str, str]] = Counter()
    for result in (published.run_results or {}).get("results", []):
        resource_type = str(result.get("unique_id", "")).split(".", 1)[0]
        counts[(resource_type, str(result.get("status")))] += 1
    return LastPublish(
        publish_id=record.publish_id,
        published_at=record.published_at,
        git_commit=record.git_commit,
        dbt_results=dict(record.dbt_results),
        run_results=tuple(
            (resource_type, status, count)
            for (resource_type, status), count in sorted(counts.items())
        ),
        has_run_results=published.run_results is not None,
        upstreams=dict(record.upstreams),
    )


def _search_text(domain: str, name: str, versions: Sequence[Product]) -> str:
    words: list[str] = [name, domain, f"{domain}.{name}"]
    for product in versions:
        words.extend([product.owner or "", product.description])
        words.extend(column.name for column in product.columns)
    return " ".join(" ".join(words).lower().split())


def _collect(mesh: Mesh, now: datetime) -> _Site:
    domains = discover(mesh)
    published: dict[str, _Published] = {}
    for name in sorted(domains):
        found = _read_published(mesh, name)
        if found is not None:
            published[name] = found
    edges = lineage_module.edges(mesh)
    upstreams = {name: domain.upstreams for name, domain in domains.items()}
    order = _build_order(domains)

    versions_of: dict[tuple[str, str], list[Product]] = defaultdict(list)
    for name, pub in published.items():
        for product in products_of(name, parse_manifest(pub.manifest), pub.record.published_at):
            versions_of[(name, product.name)].append(product)
    known = set(versions_of)

    consumers: dict[tuple[str, str, str | None], list[lineage_module.Edge]] = defaultdict(list)
    for edge in edges:
        consumers[(edge.producer, edge.product, edge.version)].append(edge)

    files: dict[str, Path] = {}
    today = now.date().isoformat()
    pages: list[ProductPage] = []
    for (domain, name), versions in sorted(versions_of.items()):
        pub = published[domain]
        stats = {(item.name, item.version): item for item in pub.record.products}
        pii = pii_columns(pub.manifest)
        version_pages = [
            _version_page(
                pub,
                product,
                stats,
                pii,
                consumers.get((domain, name, product.version), []),
                published,
                known,
                files,
                today,
            )
            for product in versions
        ]
        version_pages.reverse()  # newest first
        latest_product = next(
            (p for p in versions if p.version is None or p.version == p.latest_version),
            versions[-1],
        )
        latest = next(v for v in version_pages if v.version == latest_product.version)
        title = name.replace("_", " ")
        descriptor = (
            _read_json(pub.folder / port_folder(name, latest_product.version) / DESCRIPTOR) or {}
        )
        if isinstance(descriptor.get("title"), str) and descriptor["title"].strip():
            title = descriptor["title"].strip()
        pages.append(
            ProductPage(
                domain=domain,
                name=name,
                slug=_slug(domain, name),
                href=product_href(domain, name),
                title=title,
                owner=latest_product.owner,
                archetype=latest_product.archetype,
                description=latest_product.description,
                latest=latest,
                versions=tuple(version_pages),
                freshness=freshness(latest_product.freshness, pub.record.published_at, now),
                publish=_last_publish(pub),
                search_text=_search_text(domain, name, versions),
            )
        )

    sections = [
        DomainSection(
            name,
            _domain_anchor(name),
            name in published,
            upstreams.get(name, ()),
            [page for page in pages if page.domain == name],
        )
        for name in [*order, *sorted({p.domain for p in pages} - set(order))]
    ]
    return _Site(sections, pages, edges, order, upstreams, files)


def _build_order(domains: dict[str, Domain]) -> list[str]:
    try:
        return graph.build_order(domains)
    except MeshError:  # an unknown upstream or a cycle: still draw what is published
        return sorted(domains)


# The lineage diagram ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def mid_y(self) -> float:
        return self.y + self.height / 2

    @property
    def right(self) -> float:
        return self.x + self.width


@dataclass(frozen=True)
class DomainNode:
    name: str
    subtitle: str
    archetype: str | None
    published: bool


@dataclass
class Layout:
    """Positions of the lineage diagram: domain boxes, edge label boxes and edge paths."""

    width: float
    height: float
    columns: dict[str, int]  # domain -> build depth
    boxes: dict[str, Box]
    labels: list[tuple[Box, tuple[str, ...]]]
    paths: list[str]


@dataclass
class _Item:
    key: str
    kind: str  # "node", "label" or "dummy"
    width: float
    height: float
    lines: tuple[str, ...] = ()
    preds: list[_Item] = field(default_factory=list)
    succs: list[_Item] = field(default_factory=list)
    box: Box | None = None


NAME_CHAR, TEXT_CHAR = 9.0, 7.0  # generous widths of one character at 15 px bold / 12 px
COLUMN_GAP, NODE_GAP, LABEL_GAP, MARGIN = 40.0, 22.0, 10.0, 24.0


def depths(order: Sequence[str], preds: Mapping[str, Iterable[str]]) -> dict[str, int]:
    """Build depth of each domain: 0 if it consumes nothing, else one more than its deepest
    upstream (the longest path). Upstreams that would close a cycle are ignored."""
    depth: dict[str, int] = {}
    visiting: set[str] = set()

    def visit(name: str) -> int:
        if name in depth:
            return depth[name]
        if name in visiting:
            return -1
        visiting.add(name)
        found = [visit(up) for up in preds.get(name, ())]
        visiting.discard(name)
        depth[name] = 1 + max((d for d in found if d >= 0), default=-1)
        return depth[name]

    for name in order:
        visit(name)
    return depth


def layout_lineage(
    nodes: Sequence[DomainNode],
    edge_labels: Mapping[tuple[str, str], Sequence[str]],
    upstreams: Mapping[str, Iterable[str]],
) -> Layout:
    """Lay the domains out in columns by build depth, with every edge's label in the gap
    after its producer and a way through every column an edge passes (as dot does)."""
    unique: dict[str, DomainNode] = {}
    for node in nodes:
        unique.setdefault(node.name, node)
    nodes = list(unique.values())
    names = [node.name for node in nodes]
    preds: dict[str, set[str]] = {name: set(upstreams.get(name, ())) & set(names) for name in names}
    for producer, consumer in edge_labels:
        if producer in preds and consumer in preds and producer != consumer:
            preds[consumer].add(producer)
    depth = depths(names, preds)

    ranks: dict[int, list[_Item]] = defaultdict(list)
    items: dict[str, _Item] = {}
    for node in nodes:
        width = max(len(node.name) * NAME_CHAR, len(node.subtitle) * TEXT_CHAR) + 32
        item = _Item(node.name, "node", max(width, 140.0), 52.0)
        items[node.name] = item
        ranks[2 * depth[node.name]].append(item)

    chains: list[list[_Item]] = []
    backward: list[tuple[str, str, tuple[str, ...]]] = []
    for (producer, consumer), edge_lines in sorted(edge_labels.items()):
        if producer not in items or consumer not in items:
            continue
        lines = tuple(edge_lines)
        start, end = 2 * depth[producer], 2 * depth[consumer]
        if end <= start:
            backward.append((producer, consumer, lines))
            continue
        width = max((len(line) for line in lines), default=0) * TEXT_CHAR + 14
        label = _Item(f"{producer}->{consumer}", "label", width, 15.0 * len(lines) + 8)
        label.lines = lines
        chain = [items[producer], label]
        ranks[start + 1].append(label)
        for rank in range(start + 2, end):
            dummy = _Item(f"{producer}->{consumer}@{rank}", "dummy", 0.0, 6.0)
            chain.append(dummy)
            ranks[rank].append(dummy)
        chain.append(items[consumer])
        for before, after in itertools.pairwise(chain):
            before.succs.append(after)
            after.preds.append(before)
        chains.append(chain)

    last = max(ranks, default=0)
    columns = [ranks.get(rank, []) for rank in range(last + 1)]
    _order_columns(columns)

    # x: columns side by side; y: each column stacked and centred on the tallest.
    def gap(item: _Item) -> float:
        return NODE_GAP if item.kind == "node" else LABEL_GAP

    heights = [
        sum(item.height for item in column) + sum(gap(item) for item in column[1:])
        for column in columns
    ]
    total_height = max(heights, default=0.0)
    x = MARGIN
    for column, column_height in zip(columns, heights, strict=True):
        column_width = max((item.width for item in column), default=0.0)
        y = MARGIN + (total_height - column_height) / 2
        for item in column:
            width = item.width if item.kind == "label" else column_width
            item.box = Box(x + (column_width - width) / 2, y, width, item.height)
            y += item.height + gap(item)
        x += column_width + COLUMN_GAP
    width = x - COLUMN_GAP + MARGIN if columns else 2 * MARGIN
    height = total_height + 2 * MARGIN

    paths = [_chain_path(chain) for chain in chains]
    labels: list[tuple[Box, tuple[str, ...]]] = [
        (item.box, item.lines)
        for column in columns
        for item in column
        if item.kind == "label" and item.box is not None
    ]
    for producer, consumer, lines in backward:
        source, target = items[producer].box, items[consumer].box
        assert source is not None and target is not None
        x0, y0 = source.x + source.width / 2, source.y + source.height
        x1, y1 = target.x + target.width / 2, target.y + target.height
        bottom = max(y0, y1) + 40
        paths.append(
            f"M{x0:.1f},{y0:.1f} C{x0:.1f},{bottom:.1f} {x1:.1f},{bottom:.1f} {x1:.1f},{y1:.1f}"
        )
        label_width = max((len(line) for line in lines), default=0) * TEXT_CHAR + 14
        labels.append(
            (
                Box((x0 + x1 - label_width) / 2, bottom - 20, label_width, 15.0 * len(lines) + 8),
                lines,
            )
        )
        height = max(height, bottom + 15.0 * len(lines) + MARGIN)
    boxes = {name: item.box for name, item in items.items() if item.box is not None}
    return Layout(width, height, {n: depth[n] for n in names}, boxes, labels, paths)


def _order_columns(columns: list[list[_Item]]) -> None:
    """Reduce crossings: sort each column by the mean position of its neighbours in the
    column before (then after, then before again), keeping the order of ties."""

    def barycentre(item: _Item, here: int, position: dict[int, int], offset: int) -> float:
        neighbours = item.preds if offset < 0 else item.succs
        linked = [position[id(other)] for other in neighbours if id(other) in position]
        return sum(linked) / len(linked) if linked else float(here)

    def sweep(indices: Iterable[int], offset: int) -> None:
        for index in indices:
            position = {id(item): rank for rank, item in enumerate(columns[index + offset])}
            ranked = [
                (barycentre(item, here, position, offset), here, item)
                for here, item in enumerate(columns[index])
            ]
            columns[index][:] = [item for _, _, item in sorted(ranked, key=lambda e: e[:2])]

    count = len(columns)
    sweep(range(1, count), -1)
    sweep(range(count - 2, -1, -1), 1)
    sweep(range(1, count), -1)


def _ports(item: _Item, others: Sequence[_Item]) -> dict[int, float]:
    """Where each edge leaves or enters a domain box: spread over its side, in the order of
    the items at their other ends, so the edges do not cross at the box."""
    assert item.box is not None
    if item.kind != "node" or len(others) < 2:
        return {id(other): item.box.mid_y for other in others}
    ordered = sorted(others, key=lambda other: other.box.mid_y if other.box else 0.0)
    step = item.box.height / (len(ordered) + 1)
    return {id(other): item.box.y + step * (n + 1) for n, other in enumerate(ordered)}


def _chain_path(chain: Sequence[_Item]) -> str:
    parts: list[str] = []
    for before, after in itertools.pairwise(chain):
        assert before.box is not None and after.box is not None
        y0 = _ports(before, before.succs)[id(after)]
        y1 = _ports(after, after.preds)[id(before)]
        x0, x1 = before.box.right, after.box.x
        middle = (x0 + x1) / 2
        if not parts:
            parts.append(f"M{x0:.1f},{y0:.1f}")
        else:
            parts.append(f"L{x0:.1f},{y0:.1f}")
        parts.append(f"C{middle:.1f},{y0:.1f} {middle:.1f},{y1:.1f} {x1:.1f},{y1:.1f}")
    return " ".join(parts)


ARCHETYPE_COLOURS = {
    "source-aligned": ("#e8f1fb", "#2f6db5"),
    "aggregate": ("#f3ecfb", "#7048a8"),
    "consumer-aligned": ("#e9f6ee", "#2e7d4f"),
}
OTHER_COLOURS = ("#f4f4f5", "#5b5b66")


def lineage_svg(
    nodes: Sequence[DomainNode],
    edge_labels: Mapping[tuple[str, str], Sequence[str]],
    upstreams: Mapping[str, Iterable[str]],
) -> str:
    """The cross-domain lineage as a standalone SVG document (no scripts, no external refs)."""
    if not nodes:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" width="360" height="60" viewBox="0 0 360 60">'
            '<text x="16" y="36" font-family="sans-serif" font-size="14" fill="#5b5b66">'
            "No domains yet.</text></svg>\n"
        )
    layout = layout_lineage(nodes, edge_labels, upstreams)
    legend = sorted({node.archetype or "" for node in nodes if node.published})
    legend_height = 28.0 if legend else 0.0
    width = max(layout.width, 120.0 + sum(len(name or "other") * TEXT_CHAR + 40 for name in legend))
    height = layout.height + legend_height
    e = functools.partial(html.escape, quote=True)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="system-ui, -apple-system, '
        f'&quot;Segoe UI&quot;, Roboto, sans-serif" role="img">',
        "<title>Cross-domain lineage: which domain consumes which product version</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
        '<path d="M0,1 L9,5 L0,9 z" fill="#6b7280"/></marker></defs>',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
    ]
    for path in layout.paths:
        out.append(
            f'<path d="{path}" fill="none" stroke="#6b7280" stroke-width="1.5" '
            'marker-end="url(#arrow)"/>'
        )
    for box, lines in layout.labels:
        out.append(
            f'<g class="edge-label"><rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" '
            f'height="{box.height:.1f}" rx="4" fill="#fffbea" stroke="#e0c96b"/>'
        )
        for n, line in enumerate(lines):
            out.append(
                f'<text x="{box.x + box.width / 2:.1f}" y="{box.y + 17 + 15 * n:.1f}" '
                f'font-size="12" text-anchor="middle" fill="#3f3f46">{e(line)}</text>'
            )
        out.append("</g>")
    by_name = {node.name: node for node in nodes}
    for name, box in layout.boxes.items():
        node = by_name[name]
        fill, stroke = ARCHETYPE_COLOURS.get(node.archetype or "", OTHER_COLOURS)
        dash = "" if node.published else ' stroke-dasharray="5 4"'
        out.append(
            f'<g class="domain"><rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" '
            f'height="{box.height:.1f}" rx="8" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="1.5"{dash}/>'
            f'<text x="{box.x + box.width / 2:.1f}" y="{box.y + 23:.1f}" font-size="15" '
            f'font-weight="600" text-anchor="middle" fill="#18181b">{e(name)}</text>'
            f'<text x="{box.x + box.width / 2:.1f}" y="{box.y + 41:.1f}" font-size="12" '
            f'text-anchor="middle" fill="{stroke}">{e(node.subtitle)}</text></g>'
        )
    x, y = MARGIN, layout.height + 4
    for name in legend:
        fill, stroke = ARCHETYPE_COLOURS.get(name, OTHER_COLOURS)
        text = name or "other"
        out.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="14" height="14" rx="3" fill="{fill}" '
            f'stroke="{stroke}"/><text x="{x + 20:.1f}" y="{y + 12:.1f}" font-size="12" '
            f'fill="#3f3f46">{e(text)}</text>'
        )
        x += len(text) * TEXT_CHAR + 40
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _lineage_of(site: _Site) -> str:
    in_edges = {edge.producer for edge in site.edges} | {edge.consumer for edge in site.edges}
    names = [*site.order, *sorted(in_edges - set(site.order))]
    sections = {section.name: section for section in site.sections}
    nodes = []
    for name in names:
        section = sections.get(name)
        count = len(section.products) if section else 0
        published = bool(section and section.published)
        subtitle = f"{count} product{'s' if count != 1 else ''}" if published else "not published"
        nodes.append(DomainNode(name, subtitle, section.archetype if section else None, published))
    labels: dict[tuple[str, str], list[str]] = defaultdict(list)
    for edge in site.edges:
        label = f"{edge.product} {_version_label(edge.version)}"
        if label not in labels[(edge.producer, edge.consumer)]:
            labels[(edge.producer, edge.consumer)].append(label)
    return lineage_svg(nodes, labels, site.upstreams)


# Writing the site -------------------------------------------------------------------------------


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["when"] = _when
    env.filters["hours"] = _hours
    env.filters["size"] = _size
    return env


def _when(value: str | None) -> str:
    """An ISO time as "2026-11-24 13:30 UTC"."""
    if not value:
        return "unknown"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _hours(value: float | None) -> str:
    if value is None:
        return "unknown"
    if value < 1:
        return f"{round(value * 60)} min"
    if value < 48:
        return f"{value:.0f} h" if value == round(value) else f"{value:.1f} h"
    return f"{value / 24:.1f} days"


def _size(value: int | None) -> str:
    if value is None:
        return ""
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def _is_replaceable(path: Path) -> bool:
    """Whether `path` may be replaced: absent, an empty folder or a catalog built here."""
    if not path.exists() and not path.is_symlink():
        return True
    return path.is_dir() and ((path / MARKER).is_file() or not any(path.iterdir()))


def _swap_in(new: Path, out: Path) -> None:
    """Put the finished site `new` at `out` with renames (the old one goes last)."""
    if not _is_replaceable(out):
        raise MeshError(
            f"{out} exists and is not a catalog built by mesh; choose another folder or remove it."
        )
    if not out.exists() and not out.is_symlink():
        new.rename(out)
        return
    old = out.with_name(f".{out.name}.old-{os.urandom(3).hex()}")
    out.rename(old)
    new.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def build_catalog(mesh: Mesh, out_dir: Path | None = None, *, now: datetime | None = None) -> Path:
    """Write the catalog site of everything published in `mesh`; returns its index.html.

    `out_dir` defaults to `warehouse/catalog`. `now` is the time freshness is judged at.
    """
    out = (out_dir or mesh.warehouse / "catalog").absolute()
    if not _is_replaceable(out):
        raise MeshError(
            f"{out} exists and is not a catalog built by mesh; choose another folder or remove it."
        )
    moment = now or datetime.now(UTC)
    site = _collect(mesh, moment)
    env = _environment()
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp-{os.urandom(3).hex()}")
    try:
        (temporary / "products").mkdir(parents=True)
        (temporary / "files").mkdir()
        (temporary / "assets").mkdir()
        for asset in ASSETS:
            shutil.copyfile(TEMPLATES / asset, temporary / "assets" / asset)
        for target, source in site.files.items():
            shutil.copyfile(source, temporary / target)
        (temporary / "lineage.svg").write_text(_lineage_of(site))
        common = {
            "built_at": moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "product_count": len(site.products),
            "domain_count": sum(1 for section in site.sections if section.products),
        }
        archetypes = sorted({p.archetype for p in site.products if p.archetype})
        (temporary / "index.html").write_text(
            env.get_template("index.html").render(
                root="",
                sections=site.sections,
                products=site.products,
                archetypes=archetypes,
                edges=site.edges,
                **common,
            )
        )
        for page in site.products:
            (temporary / page.href).write_text(
                env.get_template("product.html").render(root="../", product=page, **common)
            )
        (temporary / MARKER).write_text("Built by `mesh catalog`; replaced on every build.\n")
        _swap_in(temporary, out)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return out / "index.html"


def serve(path: Path, port: int) -> None:
    """Serve a built catalog (its folder or its index.html) on http://127.0.0.1:<port>/."""
    folder = path.parent if path.is_file() else path
    if not (folder / "index.html").is_file():
        raise MeshError(f"{folder} holds no catalog; build it first with `mesh catalog`.")
    handler = functools.partial(_QuietHandler, directory=str(folder))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as error:
        raise MeshError(
            f"Cannot serve the catalog on port {port}: {error.strerror or error}. "
            "Choose another with --port."
        ) from error
    with server:
        server.serve_forever()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

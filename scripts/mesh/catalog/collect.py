"""What the catalog shows, read once from each domain's current publish: its products and
their versions, schemas, tests, consumers, inputs, last publish and freshness."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from mesh.discovery import graph, lineage, registry
from mesh.discovery import manifest as manifests
from mesh.discovery.domains import discover
from mesh.discovery.manifest import Manifest, RunResults
from mesh.discovery.products import Column, Product, products_of
from mesh.discovery.snapshots import View
from mesh.errors import MeshError
from mesh.governance import odps
from mesh.governance.odcs import input_ports

PASSED = frozenset({"pass", "success"})


@dataclass(frozen=True)
class Link:
    """A text and, when there is a page or file for it, its path from the site root."""

    text: str
    href: str | None = None


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
    product: Product
    label: str  # also its anchor on the product page
    statuses: tuple[str, ...]  # "latest", "deprecated", "superseded"
    deprecated: bool
    deprecation_passed: bool
    # Each column with its PII flag: "PII" (tagged in the domain), "hashed PII" or None.
    columns: tuple[tuple[Column, str | None], ...]
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
class ProductPage:
    domain: str
    name: str
    href: str
    title: str
    owner: str | None
    archetype: str | None
    description: str
    latest: VersionPage
    versions: tuple[VersionPage, ...]  # newest first
    freshness: Freshness
    publish: registry.PublishRecord
    run_results: tuple[tuple[str, str, int], ...] | None  # (resource type, status, count)
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


@dataclass
class Site:
    """What the catalog shows, and the files to copy into it (site path -> source path)."""

    sections: list[DomainSection]
    products: list[ProductPage]
    edges: list[lineage.Edge]
    order: list[str]
    upstreams: dict[str, tuple[str, ...]]
    files: dict[str, Path]
    snapshot: str  # which mesh snapshot it shows


# Names and links --------------------------------------------------------------------------------


def version_label(version: str | None) -> str:
    return f"v{version}" if version is not None else "unversioned"


def slug(*parts: str) -> str:
    """Parts of a name as one file or anchor name: other than `A-Za-z0-9_-` becomes `_`."""
    return ".".join(re.sub(r"[^A-Za-z0-9_-]", "_", part) for part in parts)


def product_href(domain: str, name: str) -> str:
    """The page of a product, from the site root."""
    return f"products/{slug(domain, name)}.html"


def domain_href(domain: str) -> str:
    return f"index.html#{_domain_anchor(domain)}"


def _domain_anchor(domain: str) -> str:
    return "domain-" + slug(domain)


def pii_flag(column: str, pii_columns: Iterable[str]) -> str | None:
    """ "PII" if the domain tags the column PII anywhere, "hashed PII" for a hash of PII."""
    lowered = column.lower()
    if lowered in {name.lower() for name in pii_columns}:
        return "PII"
    if lowered.endswith("_hash"):
        return "hashed PII"
    return None


def freshness(meta: Mapping[str, Any] | None, published_at: str | None, now: datetime) -> Freshness:
    """The freshness expectation of a product and whether its last publish is within it."""
    meta = meta or {}
    expected = meta.get("expected_update")
    try:
        max_age = float(meta["max_age_hours"]) if meta.get("max_age_hours") is not None else None
    except (TypeError, ValueError):
        max_age = None
    try:
        when = datetime.fromisoformat(published_at or "")
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        age: float | None = max((now - when).total_seconds() / 3600, 0.0)
    except ValueError:
        age = None
    if age is None or max_age is None:
        status = "unknown"
    else:
        status = "within" if age <= max_age else "overdue"
    return Freshness(None if expected is None else str(expected), max_age, age, status)


# One domain's publish ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """One domain's current publish folder, read once."""

    domain: str
    folder: Path
    manifest: Manifest
    record: registry.PublishRecord
    run_results: RunResults | None

    @classmethod
    def read(cls, view: View, domain: str) -> Published | None:
        if domain not in view.publishes:
            return None
        folder = view.folder(domain)
        try:
            manifest = manifests.load(folder / "manifest.json")
            record = registry.record_in(folder)
        except (OSError, ValueError):
            return None
        try:
            run_results = manifests.load_run_results(folder / "run_results.json")
        except (OSError, ValueError):
            run_results = None
        return cls(domain, folder, manifest, record, run_results)

    @property
    def run_counts(self) -> tuple[tuple[str, str, int], ...] | None:
        """How many nodes of each resource type ended in each status, if run results were
        published."""
        if self.run_results is None:
            return None
        results = self.run_results.results
        counts = Counter((result.unique_id.split(".", 1)[0], result.status) for result in results)
        return tuple((kind, status, n) for (kind, status), n in sorted(counts.items()))

    def tests_of(self, unique_id: str) -> tuple[TestResult, ...]:
        """The data and unit tests of one model and how each ended in this publish."""
        results = self.run_results.results if self.run_results else []
        statuses = {result.unique_id: result.status for result in results}
        found = []
        for test in self.manifest.tests():
            attached = test.attached_node
            if attached == unique_id or (not attached and unique_id in test.depends_on.nodes):
                meta = test.test_metadata
                name = test.name
                if meta and meta.name:
                    name = f"{meta.namespace}.{meta.name}" if meta.namespace else meta.name
                    name = f"{name} ({test.column_name})" if test.column_name else name
                found.append(TestResult(name, "data test", statuses.get(test.unique_id, "not run")))
        for unit in self.manifest.unit_tests.values():
            if unique_id in unit.depends_on.nodes:
                status = statuses.get(unit.unique_id, "not run")
                found.append(TestResult(unit.name, "unit test", status))
        return tuple(sorted(found, key=lambda test: (test.kind, test.name)))

    def public_downstream(self, model: str) -> list[tuple[str, str | None]]:
        """The public models (products) of this domain fed by its model `model`."""
        stack = [node.unique_id for node in self.manifest.models(self.domain) if node.name == model]
        found: set[tuple[str, str | None]] = set()
        seen: set[str] = set()
        while stack:
            current = stack.pop()
            node = self.manifest.nodes.get(current)
            if current in seen or node is None or node.package_name != self.domain:
                continue
            seen.add(current)
            if node.is_public:
                found.add((node.name, node.version))
            stack.extend(self.manifest.child_map.get(current, []))
        return sorted(found, key=lambda item: (item[0], item[1] or ""))


def _read_yaml(path: Path, limit: int = 1_000_000) -> dict[str, Any] | None:
    """A published YAML document (a descriptor), or None when it is missing, larger than
    `limit` bytes (the mesh writes a few kB) or not a mapping YAML can read."""
    try:
        if path.stat().st_size > limit:
            return None
        content = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, ValueError, RecursionError, yaml.YAMLError):
        return None
    return content if isinstance(content, dict) else None


# The whole catalog ------------------------------------------------------------------------------


@dataclass
class _Collector:
    published: dict[str, Published]
    known: set[tuple[str, str]]  # (domain, product) of every published product
    consumers: dict[tuple[str, str, str | None], list[lineage.Edge]]
    now: datetime
    files: dict[str, Path] = field(default_factory=dict)

    def _copy(self, source: Path, name: str) -> Link | None:
        if not source.is_file():
            return None
        self.files[f"files/{name}"] = source
        return Link(name, f"files/{name}")

    def _href(self, domain: str, name: str, version: str | None) -> str | None:
        """The anchor of a product version on its page, if the catalog has that page."""
        label = version_label(version)
        return f"{product_href(domain, name)}#{label}" if (domain, name) in self.known else None

    def version_page(self, pub: Published, product: Product) -> VersionPage:
        domain, version = pub.domain, product.version
        label = version_label(version)
        stem = slug(domain, product.name, label)
        folder = pub.folder / registry.port_folder(product.name, version)
        suffix = f".v{version}" if version is not None else ""
        unique_id = f"model.{domain}.{product.name}{suffix}"

        contract = self._copy(folder / registry.CONTRACT, f"{stem}.odcs.yaml")
        try:
            contract_text = (folder / registry.CONTRACT).read_text() if contract else None
        except (OSError, UnicodeDecodeError):
            contract_text = None
        parquet_source = folder / registry.parquet_name(product.name, version)
        parquet = self._copy(parquet_source, f"{stem}.parquet")
        descriptor_link = self._copy(folder / registry.DESCRIPTOR, f"{stem}.odps.yaml")

        # The input ports the descriptor declares, else those the manifest shows.
        descriptor = _read_yaml(folder / registry.DESCRIPTOR) if descriptor_link else None
        declared = odps.input_ports(descriptor) if descriptor else None
        ports: Sequence[Mapping[str, str | None]] = (
            declared if declared is not None else input_ports(domain, pub.manifest, unique_id)
        )
        inputs = []
        for port in ports:
            producer = str(port.get("domain") or "")
            name = str(port.get("product") or "")
            fed = None if port.get("version") is None else str(port["version"])
            inputs.append(
                Link(f"{producer}.{name} {version_label(fed)}", self._href(producer, name, fed))
            )

        consumers = []
        for edge in self.consumers.get((domain, product.name, version), []):
            reader = self.published.get(edge.consumer)
            feeds = reader.public_downstream(edge.consumer_model) if reader else []
            known = any(d == edge.consumer for d, _ in self.known)
            consumers.append(
                Consumer(
                    edge.consumer,
                    edge.consumer_model,
                    Link(edge.consumer, domain_href(edge.consumer) if known else None),
                    tuple(
                        Link(f"{name} {version_label(fed)}", self._href(edge.consumer, name, fed))
                        for name, fed in feeds
                    ),
                )
            )

        is_latest = version is None or version == product.latest_version
        deprecated = product.deprecation_date is not None
        statuses = ["latest"] if is_latest else []
        if deprecated:
            statuses.append("deprecated")
        elif not is_latest:
            statuses.append("superseded")
        stat = {(s.name, s.version): s for s in pub.record.products}.get((product.name, version))
        pii = pub.manifest.pii_columns()
        return VersionPage(
            product=product,
            label=label,
            statuses=tuple(statuses),
            deprecated=deprecated,
            deprecation_passed=deprecated
            and str(product.deprecation_date) < self.now.date().isoformat(),
            columns=tuple((column, pii_flag(column.name, pii)) for column in product.columns),
            rows=stat.rows if stat else None,
            checksum=stat.checksum if stat else None,
            contract=contract,
            contract_text=contract_text,
            parquet=parquet,
            parquet_bytes=parquet_source.stat().st_size if parquet else None,
            descriptor=descriptor_link,
            inputs=tuple(inputs),
            consumers=tuple(consumers),
            tests=pub.tests_of(unique_id),
        )

    def product_page(self, pub: Published, name: str, versions: list[Product]) -> ProductPage:
        pages = [self.version_page(pub, product) for product in reversed(versions)]
        latest_product = next(
            (p for p in versions if p.version is None or p.version == p.latest_version),
            versions[-1],
        )
        latest = next(v for v in pages if v.product.version == latest_product.version)
        title = name.replace("_", " ")
        port = pub.folder / registry.port_folder(name, latest_product.version)
        named = odps.custom_property(_read_yaml(port / registry.DESCRIPTOR) or {}, "title")
        if isinstance(named, str) and named.strip():
            title = named.strip()
        words: list[str] = [name, pub.domain, f"{pub.domain}.{name}"]
        for product in versions:
            words.extend([product.owner or "", product.description])
            words.extend(column.name for column in product.columns)
        return ProductPage(
            domain=pub.domain,
            name=name,
            href=product_href(pub.domain, name),
            title=title,
            owner=latest_product.owner,
            archetype=latest_product.archetype,
            description=latest_product.description,
            latest=latest,
            versions=tuple(pages),
            freshness=freshness(latest_product.freshness, pub.record.published_at, self.now),
            publish=pub.record,
            run_results=pub.run_counts,
            search_text=" ".join(" ".join(words).lower().split()),
        )


def collect(view: View, now: datetime) -> Site:
    """Everything the catalog shows of the publishes in `view` (a mesh snapshot), judged
    (freshness, deprecation) at `now`."""
    domains = discover(view.mesh)
    published = {
        name: found for name in sorted(domains) if (found := Published.read(view, name)) is not None
    }
    edges = lineage.edges(view)
    upstreams = {name: domain.upstreams for name, domain in domains.items()}
    try:
        order = graph.build_order(domains)
    except MeshError:  # an unknown upstream or a cycle: still draw what is published
        order = sorted(domains)

    versions_of: dict[tuple[str, str], list[Product]] = defaultdict(list)
    for name, pub in published.items():
        for product in products_of(name, pub.manifest, pub.record.published_at, pub.record.retired):
            versions_of[(name, product.name)].append(product)
    consumers: dict[tuple[str, str, str | None], list[lineage.Edge]] = defaultdict(list)
    for edge in edges:
        consumers[(edge.producer, edge.product, edge.version)].append(edge)

    collector = _Collector(published, set(versions_of), consumers, now)
    pages = [
        collector.product_page(published[domain], name, versions)
        for (domain, name), versions in sorted(versions_of.items())
    ]
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
    return Site(sections, pages, edges, order, upstreams, collector.files, view.label)

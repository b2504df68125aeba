"""The catalog in a real headless Chromium, built from the real built mesh.

Needs Chromium (Debian: `apt-get install chromium`) and the Python driver (`pip install
playwright`); the system browser is used, never one that `playwright install` downloads. Either
missing skips these tests at collection, with the reason, before any mesh is built. Pages are
opened from file://, as a user opening the built site would; every request that is not for a
local file is blocked and recorded.
"""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import pytest

from mesh.discovery import snapshots
from mesh.discovery.domains import discover
from mesh.discovery.products import Product, list_products
from mesh.workspace import Mesh
from tests import needs
from tests.integration.conftest import Run
from tests.integration.conftest import mesh as mesh_command

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.integration

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium() -> str | None:
    """The system Chromium: $MESH_CHROMIUM, else chromium (Debian) on the PATH."""
    for candidate in (
        os.environ.get("MESH_CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        "/usr/bin/chromium",
    ):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


try:
    from playwright.sync_api import sync_playwright
except ImportError as missing:
    needs.missing(
        f"the playwright package is not installed (pip install playwright): {missing}",
        allow_module_level=True,
    )
CHROMIUM = chromium()
if CHROMIUM is None:
    needs.missing(
        "Chromium is not installed (apt-get install chromium, or set MESH_CHROMIUM)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM is not None
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def site(
    browser: Browser,
    built_mesh: tuple[Path, Run],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Mesh, Path]:
    """The catalog of the built mesh, written by `mesh catalog` outside it (the shared mesh
    stays as it was)."""
    out = tmp_path_factory.mktemp("catalog") / "site"
    run = mesh_command(built_mesh[0], "catalog", "--out", str(out))
    assert run.stdout.strip() == f"wrote {out / 'index.html'}"
    return Mesh(built_mesh[0]), out / "index.html"


class Watched:
    """A page with every console error, page error and non-file request it produced."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on(
            "console",
            lambda message: (
                self.errors.append(f"console: {message.text}") if message.type == "error" else None
            ),
        )
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.route("**/*", self._route)

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            self.requests.append(url)
            route.abort()

    def open(self, path: Path) -> None:
        self.page.goto(path.as_uri())
        self.page.wait_for_load_state("load")

    def visible_products(self) -> list[str]:
        found: list[str] = self.page.eval_on_selector_all(
            ".product-card",
            "cards => cards.filter(c => c.checkVisibility()).map(c => c.dataset.product)",
        )
        return sorted(found)


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context()
    try:
        yield Watched(context.new_page())
    finally:
        context.close()


def file_of(page: Page, href: str) -> Path:
    """The file a relative link of the page points to."""
    url = page.evaluate("href => new URL(href, document.baseURI).href", href)
    return Path(unquote(urlparse(url).path))


def test_index_and_a_product_page_load_without_errors_or_network(
    watched: Watched, site: tuple[Mesh, Path]
) -> None:
    _, index = site
    watched.open(index)
    assert watched.page.title() == "Data product catalog"
    watched.open(index.parent / "products" / "fulfillment.shipments.html")
    watched.open(index.parent / "products" / "customers.customers.html")

    assert watched.errors == []
    assert watched.requests == []


def test_clicking_a_product_opens_its_page_with_owner_and_schema(
    watched: Watched, site: tuple[Mesh, Path]
) -> None:
    mesh, index = site
    shipments = next(
        p for p in _products(mesh) if (p.domain, p.name) == ("fulfillment", "shipments")
    )
    watched.open(index)

    watched.page.click('.product-card[data-product="fulfillment.shipments"] a.product-link')
    watched.page.wait_for_url("**/products/fulfillment.shipments.html")

    assert watched.page.inner_text("h1").startswith("shipments")
    assert shipments.owner is not None
    assert shipments.owner in watched.page.inner_text("#owner")
    schema = watched.page.locator(f"#v{shipments.version} table.schema")
    rows = schema.locator("tbody tr td:first-child").all_inner_texts()
    assert rows == [column.name for column in shipments.columns]
    assert watched.errors == []


def test_the_search_box_and_filters_hide_what_does_not_match(
    watched: Watched, site: tuple[Mesh, Path]
) -> None:
    mesh, index = site
    every = sorted({f"{p.domain}.{p.name}" for p in _products(mesh)})
    watched.open(index)
    assert watched.visible_products() == every

    search = watched.page.locator("#search")
    search.press_sequentially("shipment_id")  # typed key by key, as a user would
    assert watched.visible_products() == ["fulfillment.shipments"]
    # by name: also the analytics product, whose description names the product it reads
    search.fill("shipments")
    visible = watched.visible_products()
    assert "fulfillment.shipments" in visible
    assert not {"customers.customers", "catalog.products", "orders.orders"} & set(visible)
    # by owner
    search.fill("checkout-team")
    assert watched.visible_products() == ["orders.order_lines", "orders.orders"]
    search.fill("no product is called this")
    assert watched.visible_products() == []
    assert watched.page.locator("#no-match").is_visible()

    search.fill("")
    watched.page.select_option("#domain-filter", "orders")
    assert watched.visible_products() == ["orders.order_lines", "orders.orders"]
    watched.page.select_option("#domain-filter", "")
    watched.page.select_option("#archetype-filter", "consumer-aligned")
    assert watched.visible_products() == [
        "analytics.metricflow_time_spine",
        "analytics.sales_by_region_and_category",
    ]
    watched.page.select_option("#archetype-filter", "")
    assert watched.visible_products() == every

    deprecated = watched.page.locator(
        '.product-card[data-product="orders.orders"] .version[data-deprecated="true"]'
    )
    assert deprecated.count() == 1
    assert not deprecated.is_visible()
    watched.page.check("#show-deprecated")
    assert deprecated.is_visible()
    assert watched.errors == []


def test_the_lineage_image_loads_and_names_every_domain(
    watched: Watched, site: tuple[Mesh, Path]
) -> None:
    mesh, index = site
    watched.open(index)
    image = watched.page.locator("img#lineage")
    assert image.get_attribute("src") == "lineage.svg"
    assert image.evaluate("img => img.complete && img.naturalWidth") > 0
    assert image.evaluate("img => img.naturalHeight") > 0

    svg = ET.parse(file_of(watched.page, "lineage.svg")).getroot()
    texts = {"".join(text.itertext()) for text in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert set(discover(mesh)) <= texts
    assert "orders v2" in texts  # fulfillment and analytics read orders v2
    assert watched.errors == []


def test_every_version_links_its_contract_and_descriptor_or_says_there_is_none(
    watched: Watched, site: tuple[Mesh, Path]
) -> None:
    mesh, index = site
    linked: list[str] = []
    for product in _products(mesh):
        watched.open(index.parent / "products" / f"{product.domain}.{product.name}.html")
        panel = watched.page.locator(f"section#v{product.version}")
        folder = mesh.published_dir(product.domain) / "products" / product.name
        for kind, name, missing in [
            ("contract", "contract.odcs.yaml", "no contract published"),
            ("descriptor", "product.odps.yaml", "no ODPS descriptor published"),
        ]:
            link = panel.locator(f"a.{kind}-link")
            published = folder / f"v{product.version}" / name
            if published.exists():
                assert link.count() == 1, f"{product.ref} has a {kind} but no link"
                href = link.get_attribute("href")
                assert href is not None
                target = file_of(watched.page, href)
                assert target.is_file()
                assert target.read_bytes() == published.read_bytes()
                linked.append(kind)
            else:
                assert link.count() == 0
                assert missing in panel.inner_text()
    # Every live version has both (a retired one has only its contract).
    assert linked.count("descriptor") >= 8 and linked.count("contract") >= 8
    assert watched.errors == []


def _products(mesh: Mesh) -> list[Product]:
    """The products readers see: those of the current mesh snapshot."""
    return list_products(snapshots.view(mesh, sorted(discover(mesh))))


def test_the_metrics_page_lists_each_metric_with_its_definition_owner_and_products(
    watched: Watched, site: tuple[Mesh, Path]
) -> None:
    mesh, index = site
    listed = mesh_command(mesh.root, "metrics", "list", "--format", "json").json()
    watched.open(index)
    watched.page.click(".site-nav a:text('Metrics')")
    watched.page.wait_for_url("**/metrics.html")

    rows = watched.page.locator("table.metrics tbody tr")
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.metric)") == [
        m["metric"] for m in listed
    ]
    for metric in listed:
        row = watched.page.locator(f'tr[data-metric="{metric["metric"]}"]')
        assert row.locator("code.definition").inner_text() == metric["definition"]
        assert metric["owner"] in row.locator("td.owner").inner_text()
    revenue = watched.page.locator('tr[data-metric="revenue"]')
    assert revenue.locator("code.definition").inner_text() == (
        "sum(net_amount_usd) of orders.order_lines_v1 where order_line__line_status <> 'cancelled'"
    )
    # a product it reads links to that version on the product's page, and back
    revenue.locator("td.reads a").click()
    watched.page.wait_for_url("**/products/orders.order_lines.html#v1")
    back = watched.page.locator("section#v1 .version-metrics a:text('revenue')")
    back.click()
    watched.page.wait_for_url("**/metrics.html#metric-revenue")
    assert watched.errors == []
    assert watched.requests == []


def test_a_saved_metric_query_is_drawn_as_a_chart_of_the_rows_mesh_returns(
    watched: Watched, site: tuple[Mesh, Path]
) -> None:
    mesh, index = site
    name = "revenue_by_month_and_region"
    rows = mesh_command(mesh.root, "metrics", "query", "--saved", name, "--format", "json").json()
    regions = sorted({row["order__customer__region"] for row in rows})
    assert len(rows) > len(regions) > 1
    watched.open(index.parent / "metrics.html")

    chart = watched.page.locator(f'[data-saved-query="{name}"] svg.chart-line')
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 200
    series = chart.locator("g.series")
    assert series.evaluate_all("gs => gs.map(g => g.dataset.series)") == regions
    # one point per row, each titled with the row's exact value
    titles = chart.locator("circle.point title").all_text_contents()
    assert len(titles) == len(rows)
    for row in rows:
        month = row["metric_time__month"][:7]
        value = f"{float(row['revenue']):,.2f}"
        assert f"{row['order__customer__region']}, {month}: {value}" in titles
    # the data table under it holds the same rows
    watched.page.click(f'[data-saved-query="{name}"] details summary')
    cells = watched.page.locator(f'[data-saved-query="{name}"] table.chart-data tbody tr')
    assert cells.count() == len(rows)
    # the chart is also a standalone file, drawn here (no scripts, nothing from outside)
    href = watched.page.locator(f'[data-saved-query="{name}"] figcaption a').get_attribute("href")
    assert href is not None
    drawn = file_of(watched.page, href)
    root = ET.parse(drawn).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "<script" not in drawn.read_text() and "http" not in drawn.read_text().replace(
        "http://www.w3.org/2000/svg", ""
    )
    assert watched.errors == []
    assert watched.requests == []

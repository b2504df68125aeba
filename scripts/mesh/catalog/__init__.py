"""The data product catalog: a static HTML site of everything published, readable offline.

    <out>/index.html                         every domain and product; search and filters
    <out>/products/<domain>.<product>.html   one page per product: versions, schemas, PII,
                                             last publish, freshness, inputs and consumers
    <out>/lineage.svg                        the cross-domain lineage, drawn here
    <out>/metrics.html                       the metrics: definition, owner, products read;
                                             each saved metric query drawn as a chart
    <out>/charts/<saved query>.svg           those charts, drawn here
    <out>/files/<domain>.<product>.v<N>.*    the published contract (ODCS), descriptor (ODPS),
                                             Parquet
    <out>/assets/                            one CSS and one JS file; nothing from a network

Everything is read from what is published: each domain's `current` publish folder, resolved
once, so a publish during the build cannot mix two publishes into one product page. The site is
written into a hidden folder beside `out` and renamed into place, so a reader never sees half
a catalog; an existing `out` is only replaced if an earlier catalog build wrote it.

    collect   reads each domain's current publish once into what the pages show
    layout    places the domains and edge labels of the lineage diagram
    svg       draws the lineage diagram
    metrics   reads the metrics and saved queries; charts them with the query runner it is given
    chart     draws a metric query's rows as lines over time or bars
    render    writes the pages from templates/ and swaps the finished site into place
    serve     the local web server of `mesh catalog --serve`

May import: mesh.errors, mesh.ids, mesh.workspace, mesh.discovery, mesh.governance, mesh.metrics.
"""

from mesh.catalog.render import build_catalog
from mesh.catalog.serve import serve

__all__ = ["build_catalog", "serve"]

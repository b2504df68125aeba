"""The cross-domain lineage drawn as a standalone SVG document (no scripts, no external refs)."""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from mesh.catalog.collect import Site, version_label
from mesh.catalog.layout import MARGIN, TEXT_CHAR, DomainNode, layout_lineage

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
    e = html.escape
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


def site_svg(site: Site) -> str:
    """The lineage of a collected site: every domain in build order, one label per edge."""
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
        label = f"{edge.product} {version_label(edge.version)}"
        if label not in labels[(edge.producer, edge.consumer)]:
            labels[(edge.producer, edge.consumer)].append(label)
    return lineage_svg(nodes, labels, site.upstreams)

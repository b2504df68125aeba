"""Where the lineage diagram puts things: domains in columns by build depth, each edge's
label in the gap after its producer, edges routed through the columns they cross."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field


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
        label = _Item(f"{producer}->{consumer}", "label", width, 15.0 * len(lines) + 8, lines)
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
        box = Box((x0 + x1 - label_width) / 2, bottom - 20, label_width, 15.0 * len(lines) + 8)
        labels.append((box, lines))
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
        parts.append(f"{'L' if parts else 'M'}{x0:.1f},{y0:.1f}")  # move first, then line
        parts.append(f"C{middle:.1f},{y0:.1f} {middle:.1f},{y1:.1f} {x1:.1f},{y1:.1f}")
    return " ".join(parts)

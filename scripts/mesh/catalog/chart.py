"""A metric query's rows drawn as a standalone SVG chart (no scripts, no external refs).

Rows whose first grouping is a date or time draw lines over time, one per value of the other
groupings (and per metric, when there are several); other rows draw grouped bars. Every point
and bar carries a <title> with its value (decimals and integers exactly), so the chart reads
without a legend lookup.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

WIDTH, HEIGHT = 760.0, 380.0
LEFT, RIGHT, TOP, BOTTOM = 84.0, 24.0, 20.0, 64.0
LEGEND_ROW = 20.0
MAX_SERIES = 8  # more would not tell apart; the rest are named in a note
MAX_POINTS = 400  # x positions drawn; a chart of more is not read point by point
# Okabe & Ito's palette: told apart with the common colour-vision deficiencies.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000")
FONT = 'font-family="system-ui, -apple-system, &quot;Segoe UI&quot;, Roboto, sans-serif"'


@dataclass(frozen=True)
class Series:
    name: str
    points: list[tuple[tuple[int, Any], float, str]]  # (x as _key gives it, y, y as written)


@dataclass(frozen=True)
class Chart:
    svg: str
    kind: str  # "line", "bar" or "empty"
    series: list[str]
    notes: list[str]  # what the chart leaves out


def draw(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], metrics: Sequence[str]
) -> Chart:
    """The chart of a metric query's result: `metrics` name its value columns (in `columns`);
    the other columns are its groupings, the first of them the x axis."""
    lowered = [column.lower() for column in columns]
    values = [lowered.index(m.lower()) for m in metrics if m.lower() in lowered]
    groups = [i for i in range(len(columns)) if i not in values]
    why = (
        (not rows and "The query returned no rows.")
        or (not values and "Nothing to draw: the result has no metric column.")
        or (not groups and "Nothing to draw: the query groups by nothing.")
    )
    if why:
        return Chart(_empty(title, why), "empty", [], [why])
    x_index, rest = groups[0], groups[1:]
    time_format = _time_format(columns[x_index], [row[x_index] for row in rows])
    by_series: dict[str, list[tuple[tuple[int, Any], float, str]]] = {}
    skipped = 0
    for row in rows:
        for value_index in values:
            raw, x = row[value_index], row[x_index]
            y = _finite(raw)
            if y is None or x is None:
                skipped += 1
                continue
            parts = [_text(row[i], time_format) for i in rest]
            if len(values) > 1:
                parts.append(columns[value_index])
            name = " · ".join(parts) or columns[value_index]
            by_series.setdefault(name, []).append((_key(x), y, _number(raw)))
    notes = [f"{skipped} values that are empty or not numbers are not drawn."] if skipped else []
    if not by_series:
        why = "Nothing to draw: every value is empty."
        return Chart(_empty(title, why), "empty", [], [why, *notes])
    names = sorted(by_series)
    if len(names) > MAX_SERIES:
        totals = {name: sum(abs(y) for _, y, _ in by_series[name]) for name in names}
        names = sorted(sorted(names, key=lambda n: -totals[n])[:MAX_SERIES])
        notes.append(f"{len(by_series) - MAX_SERIES} smaller series are not drawn.")
    series = [Series(name, sorted(by_series[name], key=lambda p: p[0])) for name in names]
    xs = sorted({x for s in series for x, _, _ in s.points})
    if len(xs) > MAX_POINTS:
        keep = set(xs[-MAX_POINTS:])
        series = [Series(s.name, [p for p in s.points if p[0] in keep]) for s in series]
        notes.append(
            f"Only the last {MAX_POINTS} of {len(xs)} {columns[x_index]} values are drawn."
        )
        xs = xs[-MAX_POINTS:]
    kind = "line" if all(x[0] == TIME for x in xs) else "bar"
    y_label = columns[values[0]] if len(values) == 1 else "value"
    svg = _plot(title, kind, series, xs, columns[x_index], y_label, time_format)
    return Chart(svg, kind, [s.name for s in series], notes)


def _plot(
    title: str,
    kind: str,
    series: list[Series],
    xs: list[tuple[int, Any]],
    x_label: str,
    y_label: str,
    fmt: str,
) -> str:
    e = html.escape
    legend_rows = math.ceil(len(series) / 3) if len(series) > 1 else 0
    height = HEIGHT + legend_rows * LEGEND_ROW
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    ys = [y for s in series for _, y, _ in s.points]
    low, high, step = _scale(min(0.0, *ys), max(0.0, *ys))

    def y_at(y: float) -> float:
        return TOP + plot_h * (1 - (y - low) / (high - low))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {WIDTH:.0f} {height:.0f}" {FONT} role="img" class="chart chart-{kind}">',
        f"<title>{e(title)}</title>",
        f'<rect width="{WIDTH:.0f}" height="{height:.0f}" fill="#ffffff"/>',
    ]
    for n in range(round((high - low) / step) + 1):
        tick = round(low + n * step, 12) + 0.0  # + 0.0: no "-0"
        y = y_at(tick)
        out.append(
            f'<line x1="{LEFT:.1f}" y1="{y:.1f}" x2="{WIDTH - RIGHT:.1f}" y2="{y:.1f}" '
            f'stroke="{"#9ca3af" if tick == 0 else "#e5e7eb"}" stroke-width="1"/>'
            f'<text x="{LEFT - 8:.1f}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#52525b">{e(_tick(tick, step))}</text>'
        )
    slot = plot_w / max(len(xs), 1)
    position = {x: LEFT + slot * (i + 0.5) for i, x in enumerate(xs)}
    every = max(1, math.ceil(len(xs) / 12))  # at most about 12 x labels
    for i, x in enumerate(xs):
        if i % every == 0:
            out.append(
                f'<text x="{position[x]:.1f}" y="{TOP + plot_h + 18:.1f}" font-size="11" '
                f'text-anchor="middle" fill="#52525b">{e(_x_text(x, fmt))}</text>'
            )
    out.append(
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h + 40:.1f}" font-size="12" '
        f'text-anchor="middle" fill="#3f3f46">{e(x_label)}</text>'
        f'<text x="16" y="{TOP + plot_h / 2:.1f}" font-size="12" text-anchor="middle" '
        f'fill="#3f3f46" transform="rotate(-90 16 {TOP + plot_h / 2:.1f})">{e(y_label)}</text>'
    )
    bar = slot * 0.8 / max(len(series), 1)
    for n, s in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        out.append(f'<g class="series" data-series="{e(s.name)}">')
        if kind == "line":
            path = " ".join(
                f"{'M' if i == 0 else 'L'}{position[x]:.1f},{y_at(y):.1f}"
                for i, (x, y, _) in enumerate(s.points)
            )
            out.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
            for x, y, written in s.points:
                out.append(
                    f'<circle class="point" cx="{position[x]:.1f}" cy="{y_at(y):.1f}" r="3" '
                    f'fill="{colour}"><title>{e(s.name)}, {e(_x_text(x, fmt))}: {e(written)}'
                    "</title></circle>"
                )
        else:
            for x, y, written in s.points:
                left = position[x] - slot * 0.4 + bar * n
                top, bottom = sorted((y_at(y), y_at(0.0)))
                out.append(
                    f'<rect class="bar" x="{left:.1f}" y="{top:.1f}" width="{bar:.1f}" '
                    f'height="{max(bottom - top, 0.5):.1f}" fill="{colour}">'
                    f"<title>{e(s.name)}, {e(_x_text(x, fmt))}: {e(written)}</title></rect>"
                )
        out.append("</g>")
    for n, s in enumerate(series if legend_rows else []):
        left, base = LEFT + (n % 3) * (plot_w / 3), HEIGHT - 4 + (n // 3) * LEGEND_ROW
        out.append(
            f'<g class="legend"><rect x="{left:.1f}" y="{base - 10:.1f}" width="12" height="12" '
            f'rx="2" fill="{PALETTE[n % len(PALETTE)]}"/><text x="{left + 18:.1f}" y="{base:.1f}" '
            f'font-size="12" fill="#3f3f46">{e(_clip(s.name, 34))}</text></g>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _empty(title: str, why: str) -> str:
    e = html.escape
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH:.0f}" height="80" '
        f'viewBox="0 0 {WIDTH:.0f} 80" {FONT} role="img" class="chart chart-empty">'
        f"<title>{e(title)}</title>"
        f'<text x="16" y="44" font-size="14" fill="#5b5b66">{e(why)}</text></svg>\n'
    )


def _scale(low: float, high: float) -> tuple[float, float, float]:
    """An axis from `low` to `high` in round steps (1, 2 or 5 times a power of ten)."""
    if high == low:
        high = low + 1
    rough = (high - low) / 5
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def _tick(value: float, step: float) -> str:
    for unit, size in (("bn", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(step) >= size / 10 and abs(value) >= size:
            return f"{value / size:.{0 if step >= size else 1}f}{unit}"
    return f"{value:,.0f}" if step >= 1 else f"{value:,.{max(0, -math.floor(math.log10(step)))}f}"


def _number(value: Any) -> str:
    """A value as its title shows it: decimals and integers exactly, floats to 6 digits."""
    if isinstance(value, Decimal | int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.2f}"
    return str(value)


def _finite(value: Any) -> float | None:
    """A value as a number to draw, or None: empty, not a number, infinite or NaN."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


NUMBER, TIME, TEXT = 0, 1, 2


def _key(value: Any) -> tuple[int, Any]:
    """An x value as a key that sorts and positions values of mixed types: numbers, then
    times (in UTC, without their zone), then the rest as text."""
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
        return (TIME, moment.replace(tzinfo=None))
    if isinstance(value, date):
        return (TIME, datetime(value.year, value.month, value.day))
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return (NUMBER, value)
    return (TEXT, str(value))


def _time_format(column: str, values: Sequence[Any]) -> str:
    """How the x axis writes its times: at the grain the column names (`metric_time__month`),
    else as days when every time is a midnight, else to the minute."""
    for grain, written in (("__day", "%Y-%m-%d"), ("__week", "%Y-%m-%d"), ("__month", "%Y-%m"),
                           ("__quarter", "%Y-%m"), ("__year", "%Y")):  # fmt: skip
        if column.lower().endswith(grain):
            return written
    times = [key for kind, key in map(_key, (v for v in values if v is not None)) if kind == TIME]
    return "%Y-%m-%d" if all(t.time() == time() for t in times) else "%Y-%m-%d %H:%M"


def _x_text(key: tuple[int, Any], time_format: str) -> str:
    kind, value = key
    return value.strftime(time_format) if kind == TIME else str(value)


def _text(value: Any, time_format: str) -> str:
    return "(none)" if value is None else _x_text(_key(value), time_format)


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"

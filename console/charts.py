"""Server-drawn SVG charts: series in, a self-contained ``<svg>`` string out (no JavaScript).

Pure functions with no Flask or database imports, so they are tested on their own.
Charts scale to their container through ``viewBox``, which keeps them readable on a
laptop and on a phone alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

WIDTH, HEIGHT = 640, 300
#: Room above the plot for the y axis's unit, below it for two-line time labels, the x
#: axis's title (the time zone) and the legend.
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 28, 92
MAX_X_LABELS = 8
PALETTE = ("#1f6feb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2")


def nice_ticks(maximum: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least ``maximum`` (1, 2, 2.5 or 5 times a power of ten)."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    steps = math.ceil(maximum / step - 1e-9)
    return [round(i * step, 10) for i in range(steps + 1)]


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _frame(title: str, body: list[str], height: int = HEIGHT) -> str:
    label = escape(title)
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{label}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{label}</title>' + "".join(body) + "</svg>"
    )


def _y_axis(ticks: list[float], scale: float) -> list[str]:
    parts = []
    for tick in ticks:
        y = HEIGHT - BOTTOM - tick * scale
        parts.append(
            f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_fmt(tick)}</text>"
        )
    return parts


def _x_label(first: str, second: str, x: float, y: float) -> str:
    start = f'<text class="tick" x="{x:.1f}" y="{y}" text-anchor="middle">'
    if not second:
        return f"{start}{escape(first)}</text>"
    return (
        f'{start}<tspan x="{x:.1f}">{escape(first)}</tspan>'
        f'<tspan x="{x:.1f}" dy="1.15em">{escape(second)}</tspan></text>'
    )


def _x_labels(labels: Sequence[str], xs: Sequence[float]) -> list[str]:
    """Every n-th label, so at most MAX_X_LABELS fit under the axis.

    A label "15:00\n26 Nov" is two lines, the time over the date; the date is
    written only where it changes, so a day's hours do not repeat it (and the dates,
    in the larger type phones get, do not run into each other).
    """
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    y = HEIGHT - BOTTOM + 18
    parts, shown_date = [], None
    for i, (label, x) in enumerate(zip(labels, xs, strict=True)):
        if i % every:
            continue
        first, _, second = label.partition("\n")
        parts.append(_x_label(first, "" if second == shown_date else second, x, y))
        shown_date = second
    return parts


def _axis_titles(y_unit: str, x_title: str) -> list[str]:
    """The y axis's unit above it, the x axis's title (what time, which zone) below it."""
    parts = []
    if y_unit:
        parts.append(f'<text class="axis-title" x="{LEFT}" y="{TOP - 10}">{escape(y_unit)}</text>')
    if x_title:
        x, y = (LEFT + WIDTH - RIGHT) / 2, HEIGHT - BOTTOM + 60
        parts.append(
            f'<text class="axis-title" x="{x:.1f}" y="{y}" text-anchor="middle">'
            f"{escape(x_title)}</text>"
        )
    return parts


def _legend(names: Sequence[str]) -> list[str]:
    parts, x, y = [], LEFT, HEIGHT - 8
    for i, name in enumerate(names):
        color = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{color}"/>'
            f'<text class="legend" x="{x + 14}" y="{y}">{escape(name)}</text>'
        )
        x += 28 + 11 * len(name)  # room for the larger type phones get (console.css)
    return parts


def _plot_area(labels: Sequence[str], peak: float) -> tuple[list[float], float, list[str]]:
    ticks = nice_ticks(peak)
    scale = (HEIGHT - TOP - BOTTOM) / ticks[-1]
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    xs = [LEFT + slot * (i + 0.5) for i in range(len(labels))]
    axis = f'<line class="axis" x1="{LEFT}" y1="{HEIGHT - BOTTOM}" '
    axis += f'x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}"/>'
    return xs, scale, [*_y_axis(ticks, scale), axis, *_x_labels(labels, xs)]


def _check(labels: Sequence[str], series: Mapping[str, Sequence[float]]) -> None:
    for name, values in series.items():
        if len(values) != len(labels):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(labels)} labels")


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    y_unit: str = "",
    x_title: str = "",
) -> str:
    """A line per series over shared x labels, with y ticks and unit, x labels and a legend."""
    _check(labels, series)
    peak = max((max(v, default=0) for v in series.values()), default=0)
    xs, scale, parts = _plot_area(labels, peak)
    base = HEIGHT - BOTTOM
    for i, (name, values) in enumerate(series.items()):
        points = " ".join(
            f"{x:.1f},{base - v * scale:.1f}" for x, v in zip(xs, values, strict=True)
        )
        color = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<polyline class="line" fill="none" stroke="{color}" stroke-width="2" '
            f'points="{points}"><title>{escape(name)}</title></polyline>'
        )
    return _frame(title, [*parts, *_axis_titles(y_unit, x_title), *_legend(list(series))])


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    stacked: bool = True,
    y_unit: str = "",
    x_title: str = "",
) -> str:
    """Bars per label: stacked by series (default) or side by side; each bar has a tooltip."""
    _check(labels, series)
    columns = list(zip(*series.values(), strict=True)) if series else []
    if stacked:
        peak = max((sum(c) for c in columns), default=0)
    else:
        peak = max((max(c) for c in columns), default=0)
    xs, scale, parts = _plot_area(labels, peak)
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    width = slot * 0.7 / (1 if stacked or not series else len(series))
    for j, x in enumerate(xs):
        bottom: float = HEIGHT - BOTTOM
        for i, (name, values) in enumerate(series.items()):
            height = values[j] * scale
            left = x - slot * 0.35 + (0 if stacked else i * width)
            top = bottom - height
            when = labels[j].replace("\n", " ")
            tip = escape(f"{name} {when}: {_fmt(values[j])}")
            parts.append(
                f'<rect class="bar" x="{left:.1f}" y="{top:.1f}" width="{width:.1f}" '
                f'height="{height:.1f}" fill="{PALETTE[i % len(PALETTE)]}"><title>{tip}</title></rect>'
            )
            if stacked:
                bottom = top
    return _frame(title, [*parts, *_axis_titles(y_unit, x_title), *_legend(list(series))])


def _shorten(label: str, limit: int = 22) -> str:
    # The full label stays in the bar's tooltip.
    return label if len(label) <= limit else label[: limit - 1] + "…"


def ranked_bars(
    title: str, rows: Sequence[tuple[str, float]], *, limit: int = 8, unit: str = ""
) -> str:
    """Horizontal bars, largest first (e.g. failures by reason), labelled with value and unit."""
    rows = sorted(rows, key=lambda r: r[1], reverse=True)[:limit]
    row_height = 26
    height = TOP + row_height * max(1, len(rows)) + 8
    peak = max((value for _, value in rows), default=0) or 1
    label_width, value_width = 250, 100
    span = WIDTH - label_width - value_width - RIGHT
    parts = []
    if not rows:
        parts.append(f'<text class="empty" x="{WIDTH / 2}" y="{height / 2}" text-anchor="middle">')
        parts.append("nothing in this period</text>")
    for i, (label, value) in enumerate(rows):
        y = TOP + i * row_height
        bar = span * value / peak
        parts.append(
            f'<text class="tick" x="{label_width - 8}" y="{y + 15}" text-anchor="end">'
            f"{escape(_shorten(label))}</text>"
            f'<rect class="bar" x="{label_width}" y="{y + 3}" width="{bar:.1f}" height="16" '
            f'fill="{PALETTE[0]}"><title>{escape(label)}: {_fmt(value)}</title></rect>'
            f'<text class="tick" x="{label_width + bar + 6:.1f}" y="{y + 15}">'
            f"{_fmt(value)}{escape(' ' + unit if unit else '')}</text>"
        )
    return _frame(title, parts, height=height)

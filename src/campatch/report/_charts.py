"""Inline SVG bar charts for the HTML report, drawn in Python (no scripts, no fonts).

One chart type serves every chart of the report: horizontal bars, one row per label,
each bar made of coloured segments (stacked), with a note after the bar. Every text
that reaches the SVG goes through :func:`html.escape`; callers pass plain text.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Bar", "Segment", "bar_chart"]

_WIDTH = 800  # viewBox units
_LABEL_W = 230
_NOTE_W = 150
_ROW_H = 30
_BAR_H = 18
_TOP = 10
_AXIS_H = 26
_LABEL_CHARS = 30


@dataclass(frozen=True, slots=True)
class Segment:
    """One coloured part of a bar.

    Args:
        value: its length in chart units (e.g. a count, years).
        css_class: the CSS class that colours it (``"sev-critical"``).
        tooltip: shown on hover (an SVG ``<title>``).
    """

    value: float
    css_class: str
    tooltip: str


@dataclass(frozen=True, slots=True)
class Bar:
    """One row: a label, its segments (may be empty) and a note after the bar."""

    label: str
    segments: tuple[Segment, ...]
    note: str = ""


def bar_chart(title: str, bars: Sequence[Bar], *, axis_unit: str, max_value: float = 0) -> str:
    """An accessible SVG horizontal (stacked) bar chart.

    Args:
        title: the chart's accessible name.
        bars: the rows, top to bottom.
        axis_unit: what the axis counts ("findings", "years", "devices").
        max_value: the axis end; at least the longest bar, rounded up to a whole number.

    Returns:
        An ``<svg>`` element as text.
    """
    longest = max((sum(s.value for s in b.segments) for b in bars), default=0.0)
    top = max(1, math.ceil(max(longest, max_value)))
    height = _TOP + len(bars) * _ROW_H + _AXIS_H
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {_WIDTH} {height}" '
        f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{html.escape(title)}</title>",
        _axis(top, height, axis_unit),
    ]
    parts += [_row(i, bar, top) for i, bar in enumerate(bars)]
    parts.append("</svg>")
    return "\n".join(parts)


def _scale(value: float, top: int) -> float:
    return value / top * (_WIDTH - _LABEL_W - _NOTE_W)


def _ticks(top: int) -> list[int]:
    step = max(1, math.ceil(top / 4))
    return list(range(0, top + 1, step))


def _axis(top: int, height: int, unit: str) -> str:
    y_end = height - _AXIS_H
    lines = []
    for tick in _ticks(top):
        x = _LABEL_W + _scale(tick, top)
        lines.append(
            f'<line class="grid" x1="{x:.1f}" y1="{_TOP - 4}" x2="{x:.1f}" y2="{y_end}"/>'
            f'<text class="tick" x="{x:.1f}" y="{y_end + 14}" text-anchor="middle">{tick}</text>'
        )
    x_mid = _LABEL_W + _scale(top, top) / 2
    lines.append(
        f'<text class="axis-label" x="{x_mid:.1f}" y="{height - 1}" '
        f'text-anchor="middle">{html.escape(unit)}</text>'
    )
    return "\n".join(lines)


def _short(label: str) -> str:
    return label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "…"


def _row(index: int, bar: Bar, top: int) -> str:
    y = _TOP + index * _ROW_H
    text_y = y + _BAR_H - 4
    out = [
        f'<g class="row"><text class="label" x="{_LABEL_W - 8}" y="{text_y}" text-anchor="end">'
        f"<title>{html.escape(bar.label)}</title>{html.escape(_short(bar.label))}</text>"
    ]
    x = float(_LABEL_W)
    for seg in bar.segments:
        width = _scale(seg.value, top)
        out.append(
            f'<rect class="bar {html.escape(seg.css_class)}" x="{x:.1f}" y="{y}" '
            f'width="{max(width, 1.5):.1f}" height="{_BAR_H}" rx="2">'
            f"<title>{html.escape(seg.tooltip)}</title></rect>"
        )
        x += width
    out.append(
        f'<text class="note" x="{x + 6:.1f}" y="{text_y}">{html.escape(bar.note)}</text></g>'
    )
    return "".join(out)

"""Small charts drawn on the server as inline SVG: no chart library, no JavaScript, print well.

Every chart is an `<svg role="img">` with a text alternative that says what it shows; the pages
also give the same figures as a table, so nothing is only in the picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

NHS_BLUE = "#005eb8"
NHS_DARK_GREY = "#4c6272"
NHS_PALE_GREY = "#d8dde0"


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def sparkline(values: Sequence[float], *, label: str, width: int = 120, height: int = 32) -> Markup:
    """A line through the readings, oldest to newest, with the last one marked.

    `label` is the text alternative (e.g. "HbA1c: 71 to 58 mmol/mol over 4 readings")."""
    title = escape(label)
    if not values:
        return Markup("")
    pad = 3
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    points = [
        (pad + i * step if len(values) > 1 else width / 2, pad + (high - v) / span * (height - 2 * pad))
        for i, v in enumerate(values)
    ]
    path = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
    last_x, last_y = points[-1]
    return Markup(
        f'<svg class="careweave-sparkline" role="img" aria-label="{title}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" focusable="false"><title>{title}</title>'
        f'<polyline fill="none" stroke="{NHS_BLUE}" stroke-width="2" points="{path}"/>'
        f'<circle cx="{_n(last_x)}" cy="{_n(last_y)}" r="3" fill="{NHS_BLUE}"/></svg>'
    )


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: suppressed or unknown, drawn as an empty bar
    text: str  # what is written beside the bar, e.g. "1,204 (12%)" or "<10"


def bar_chart(bars: Sequence[Bar], *, label: str, width: int = 360, bar_height: int = 18) -> Markup:
    """Horizontal bars with their labels and figures, scaled to the largest value."""
    title = escape(label)
    label_width, text_width = 130, 80
    room = width - label_width - text_width
    largest = max((b.value for b in bars if b.value), default=0) or 1
    gap = 6
    height = len(bars) * (bar_height + gap) + gap
    parts = [
        f'<svg class="careweave-bar-chart" role="img" aria-label="{title}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" focusable="false"><title>{title}</title>'
    ]
    for i, bar in enumerate(bars):
        y = gap + i * (bar_height + gap)
        length = room * (bar.value or 0) / largest
        text_y = y + bar_height * 0.75
        name = escape(bar.label if len(bar.label) <= 20 else bar.label[:19] + "…")
        parts.append(
            f'<text x="{label_width - 6}" y="{_n(text_y)}" text-anchor="end" font-size="12" fill="#212b32">{name}</text>'
            f'<rect x="{label_width}" y="{y}" width="{room}" height="{bar_height}" fill="{NHS_PALE_GREY}"/>'
            f'<rect x="{label_width}" y="{y}" width="{_n(length)}" height="{bar_height}" fill="{NHS_BLUE}"/>'
            f'<text x="{label_width + room + 6}" y="{_n(text_y)}" font-size="12" fill="#212b32">{escape(bar.text)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))

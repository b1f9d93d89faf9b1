"""The outcomes page's charts, drawn on the server as inline SVG as `web.charts` draws its own: bars by
group (the most deprived fifth in a second colour) and the XmR chart of a monthly series (mean, process
limits, special-cause points marked with a shape as well as a colour). Each has a text alternative;
the page gives the same figures as a table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from careweave.web.charts import NHS_BLUE, NHS_DARK_GREY, NHS_PALE_GREY
from careweave.web.outcomes_rules import Spc

NHS_ORANGE = "#ed8b00"  # special cause
NHS_DARK_BLUE = "#003087"  # the most deprived fifth
TEXT = "#212b32"


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class GroupBar:
    label: str
    value: float | None  # None: suppressed, drawn empty
    text: str
    highlight: bool = False


def group_bars(bars: Sequence[GroupBar], *, label: str, width: int = 420, bar_height: int = 18) -> Markup:
    title = escape(label)
    label_width, text_width = 170, 70
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
        name = escape(bar.label if len(bar.label) <= 26 else bar.label[:25] + "…")
        colour = NHS_DARK_BLUE if bar.highlight else NHS_BLUE
        weight = ' font-weight="bold"' if bar.highlight else ""
        parts.append(
            f'<text x="{label_width - 6}" y="{_n(text_y)}" text-anchor="end" font-size="12" fill="{TEXT}"{weight}>{name}</text>'
            f'<rect x="{label_width}" y="{y}" width="{room}" height="{bar_height}" fill="{NHS_PALE_GREY}"/>'
            f'<rect x="{label_width}" y="{y}" width="{_n(length)}" height="{bar_height}" fill="{colour}"/>'
            f'<text x="{label_width + room + 6}" y="{_n(text_y)}" font-size="12" fill="{TEXT}"{weight}>{escape(bar.text)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def spc_chart(months: Sequence[str], spc: Spc, *, label: str, width: int = 640, height: int = 220) -> Markup:
    """Points joined by a line, the mean (solid) and the process limits (dashed); special-cause points
    drawn as orange diamonds. Hidden months are gaps."""
    title = escape(label)
    left, right, top, bottom = 48, 12, 12, 34
    values = [v for v in spc.values if v is not None]
    if not values:
        return Markup("")
    lines = [x for x in (spc.lower, spc.upper, spc.centre) if x is not None]
    low = min([*values, *lines])
    high = max([*values, *lines])
    span = (high - low) or 1.0
    low, high = max(0.0, low - 0.1 * span), high + 0.1 * span
    inner_w, inner_h = width - left - right, height - top - bottom
    step = inner_w / max(len(spc.values) - 1, 1)

    def y(v: float) -> float:
        return top + (high - v) / (high - low) * inner_h

    parts = [
        f'<svg class="careweave-spc-chart" role="img" aria-label="{title}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" focusable="false"><title>{title}</title>',
        f'<line x1="{left}" y1="{top + inner_h}" x2="{left + inner_w}" y2="{top + inner_h}" stroke="{NHS_DARK_GREY}"/>',
        f'<text x="{left - 6}" y="{_n(y(high) + 10)}" text-anchor="end" font-size="11" fill="{TEXT}">{_n(high)}</text>',
        f'<text x="{left - 6}" y="{_n(y(low))}" text-anchor="end" font-size="11" fill="{TEXT}">{_n(low)}</text>',
    ]
    for value, dash, name in (
        (spc.centre, "", "mean"),
        (spc.upper, ' stroke-dasharray="6 4"', "upper limit"),
        (spc.lower, ' stroke-dasharray="6 4"', "lower limit"),
    ):
        if value is not None:
            parts.append(
                f'<line x1="{left}" y1="{_n(y(value))}" x2="{left + inner_w}" y2="{_n(y(value))}" stroke="{NHS_DARK_GREY}"{dash}>'
                f"<title>{name} {_n(value)}</title></line>"
            )
    segment: list[str] = []
    for i, v in enumerate(spc.values):
        if v is None:
            if len(segment) > 1:
                parts.append(
                    f'<polyline fill="none" stroke="{NHS_BLUE}" stroke-width="2" points="{" ".join(segment)}"/>'
                )
            segment = []
            continue
        segment.append(f"{_n(left + i * step)},{_n(y(v))}")
    if len(segment) > 1:
        parts.append(
            f'<polyline fill="none" stroke="{NHS_BLUE}" stroke-width="2" points="{" ".join(segment)}"/>'
        )
    for i, v in enumerate(spc.values):
        if v is None:
            continue
        cx, cy = left + i * step, y(v)
        if i in spc.signals:
            parts.append(
                f'<polygon points="{_n(cx)},{_n(cy - 6)} {_n(cx + 6)},{_n(cy)} {_n(cx)},{_n(cy + 6)} {_n(cx - 6)},{_n(cy)}" fill="{NHS_ORANGE}"/>'
            )
        else:
            parts.append(f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="3" fill="{NHS_BLUE}"/>')
    for i, month in enumerate(months):
        if i % 3 == 0 or i == len(months) - 1:
            parts.append(
                f'<text x="{_n(left + i * step)}" y="{height - 12}" text-anchor="middle" font-size="11" fill="{TEXT}">{escape(month)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))

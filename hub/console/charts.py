"""Bar charts drawn by the hub as inline SVG: no script, no library, nothing fetched.

A chart must be read without colour and without sight: every bar carries its name above it and
its number at its end (direct labels, one colour that means nothing), and the SVG is an image
named by its `<title>` and described by its `<desc>`, which says every bar's number in words. The
page shows the same numbers in a table beside it (`board.html`); a test checks they agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# the drawing's own units (the SVG scales to its column; text scales with it)
WIDTH = 400
ROW = 46
LABEL_SIZE = 14
BAR_TOP = 20
BAR_HEIGHT = 18
# room kept right of the longest bar for its number
VALUE_ROOM = 96
LABEL_MAX = 52


@dataclass(frozen=True)
class Bar:
    label: str
    # None: nothing to draw (no acknowledgement yet, say); `text` says why
    value: float | None
    # the number as the page shows it, in the page's language ("4", "6,5 h")
    text: str


def _short(label: str) -> str:
    """A name too long for the drawing is cut (the table beside it has it whole)."""
    return label if len(label) <= LABEL_MAX else label[: LABEL_MAX - 1].rstrip() + "…"


def describe(bars: Sequence[Bar]) -> str:
    """Every bar in words, for the SVG's `<desc>`: "Sent: 1; Acknowledged: 4"."""
    return "; ".join(f"{bar.label}: {bar.text}" for bar in bars)


def bar_chart(*, chart_id: str, title: str, bars: Sequence[Bar], lead: str = "") -> Markup:
    """A horizontal bar chart: each bar's name on its own line, then the bar and its number.

    `chart_id` makes the ids of its title and description unique in the page; `lead` starts
    the description (what the numbers are) before the bars in words."""
    largest = max((bar.value for bar in bars if bar.value), default=0.0)
    span = WIDTH - VALUE_ROOM
    height = max(len(bars), 1) * ROW + 4
    description = " ".join(part for part in (lead, describe(bars)) if part)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    for index, bar in enumerate(bars):
        top = index * ROW
        parts.append(
            f'<text class="chart-label" x="0" y="{top + LABEL_SIZE}" '
            f'font-size="{LABEL_SIZE}">{escape(_short(bar.label))}</text>'
        )
        if bar.value:
            length = max(2.0, span * bar.value / largest)
            parts.append(
                f'<rect class="chart-bar" x="0" y="{top + BAR_TOP}" width="{length:.1f}" '
                f'height="{BAR_HEIGHT}" fill="#1d4f91"/>'
            )
            value_x = length + 6
        else:
            value_x = 0
        parts.append(
            f'<text class="chart-value" x="{value_x:.1f}" y="{top + BAR_TOP + BAR_HEIGHT - 4}" '
            f'font-size="{LABEL_SIZE}" font-weight="700">{escape(bar.text)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()

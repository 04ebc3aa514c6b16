"""Bar charts drawn by the hub as inline SVG: no script, no library, nothing fetched.

A chart must be read without colour and without sight: every bar carries its name above it and
its number at its end (direct labels, one colour that means nothing), and the SVG is an image
named by its `<title>` and described by its `<desc>`, which says every bar's number in words. The
page shows the same numbers in a table beside it (`board.html`); a test checks they agree.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# the drawing's own units (the SVG scales to its column, text with it): about one unit a pixel
# on a 360-pixel phone, so its words are as large as the page's there
WIDTH = 320
LABEL_SIZE = 14
LINE = 17
BAR_HEIGHT = 18
GAP = 12
# room kept right of the longest bar for its number
VALUE_ROOM = 64
# a name longer than a line goes on two (the table beside the chart has it whole)
LINE_CHARS = 40


@dataclass(frozen=True)
class Bar:
    label: str
    # None: nothing to draw (no acknowledgement yet, say); `text` says why
    value: float | None
    # the number as the page shows it, in the page's language ("4", "6,5 h")
    text: str


def _lines(label: str) -> list[str]:
    """A bar's name in at most two lines (cut after that: the table has it whole)."""
    return textwrap.wrap(label, LINE_CHARS, max_lines=2, placeholder="…") or [""]


def describe(bars: Sequence[Bar]) -> str:
    """Every bar in words, for the SVG's `<desc>`: "Sent: 1; Acknowledged: 4"."""
    return "; ".join(f"{bar.label}: {bar.text}" for bar in bars)


def bar_chart(*, chart_id: str, title: str, bars: Sequence[Bar], lead: str = "") -> Markup:
    """A horizontal bar chart: each bar's name on its own line, then the bar and its number.

    `chart_id` makes the ids of its title and description unique in the page; `lead` starts
    the description (what the numbers are) before the bars in words."""
    largest = max((bar.value for bar in bars if bar.value), default=0.0)
    span = WIDTH - VALUE_ROOM
    rows = [(bar, _lines(bar.label)) for bar in bars]
    height = sum(len(lines) * LINE + BAR_HEIGHT + GAP for _, lines in rows) or GAP
    description = " ".join(part for part in (lead, describe(bars)) if part)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    top = 0
    for bar, lines in rows:
        for line in lines:
            top += LINE
            parts.append(
                f'<text class="chart-label" x="0" y="{top - 4}" '
                f'font-size="{LABEL_SIZE}">{escape(line)}</text>'
            )
        if bar.value:
            length = max(2.0, span * bar.value / largest)
            parts.append(
                f'<rect class="chart-bar" x="0" y="{top}" width="{length:.1f}" '
                f'height="{BAR_HEIGHT}" fill="#1d4f91"/>'
            )
            value_x = length + 5
        else:
            value_x = 0
        parts.append(
            f'<text class="chart-value" x="{value_x:.1f}" y="{top + BAR_HEIGHT - 4}" '
            f'font-size="{LABEL_SIZE}" font-weight="700">{escape(bar.text)}</text>'
        )
        top += BAR_HEIGHT + GAP
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()

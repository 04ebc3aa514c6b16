"""Small-cell suppression, as interagency GBV information sharing practises it.

A count under the threshold (but not zero) is shown as "<threshold" (primary suppression).
Then, in every line of the table (the cells that share all dimensions but one, whose sum a
report grouped without that dimension publishes), a line with exactly one hidden cell has its
smallest shown cell hidden too (secondary suppression), so that the line's total minus the
shown cells cannot give the hidden one away; repeated until nothing changes. A cell hidden
that way is shown as "*" (it is not small: saying "<5" would be false).
"""

from __future__ import annotations

from collections import defaultdict

Key = tuple[str, ...]


SECONDARY = "*"


def hidden_cells(counts: dict[Key, int], threshold: int) -> dict[Key, str]:
    """The cells to hide and how each is shown ("<5", or "*" for a secondary), for a table
    whose cells are keyed by one value per dimension (every key of one length)."""
    small = f"<{threshold}"
    hidden = {key: small for key, n in counts.items() if 0 < n < threshold}
    width = len(next(iter(counts), ()))
    lines: list[list[Key]] = []
    for dim in range(width):
        grouped: dict[Key, list[Key]] = defaultdict(list)
        for key in counts:
            grouped[key[:dim] + key[dim + 1 :]].append(key)
        lines.extend(grouped.values())
    lines_of: dict[Key, list[int]] = defaultdict(list)
    for index, line in enumerate(lines):
        for key in line:
            lines_of[key].append(index)
    # a worklist: a cell hidden now sends its lines to be looked at again
    waiting = list(range(len(lines)))
    while waiting:
        line = lines[waiting.pop()]
        secret = [key for key in line if key in hidden]
        shown = [key for key in line if key not in hidden and counts[key] > 0]
        if len(secret) == 1 and shown:
            chosen = min(shown, key=lambda key: (counts[key], key))
            hidden[chosen] = SECONDARY
            waiting.extend(lines_of[chosen])
    return hidden


def shown(counts: dict[Key, int], threshold: int) -> dict[Key, int | str]:
    """Each cell as a report shows it: its count, "<5" or "*"."""
    hidden = hidden_cells(counts, threshold)
    return {key: hidden.get(key, n) for key, n in counts.items()}


def total(n: int, threshold: int) -> int | str:
    """A total on its own: hidden when small."""
    return f"<{threshold}" if 0 < n < threshold else n

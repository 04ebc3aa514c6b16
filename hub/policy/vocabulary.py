"""Checking values against the policy's vocabularies: an unknown value is 422 `unknown_value`."""

from __future__ import annotations

from collections.abc import Iterable

from hub.api.problems import Unprocessable
from hub.policy.loader import Policy


def check(policy: Policy, vocabulary: str, values: str | Iterable[str]) -> None:
    allowed = getattr(policy.vocabularies, vocabulary)
    given = [values] if isinstance(values, str) else list(values)
    unknown = sorted({v for v in given if v not in allowed})
    if unknown:
        raise Unprocessable(
            "unknown_value",
            "Unknown vocabulary value",
            f"not in the policy's {vocabulary}: {', '.join(unknown)}",
            vocabulary=vocabulary,
            unknown=unknown,
        )

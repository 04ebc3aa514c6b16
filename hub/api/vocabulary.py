"""Checking values against the policy's vocabularies: an unknown value is 422 `unknown_value`.

The answer names the field and the vocabulary and lists the allowed values (the policy is
public), but never echoes what was sent: a client could have put personal data in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hub.api.problems import Unprocessable
from hub.policy.loader import Policy


def check_values(
    *, field: str, vocabulary: str, allowed: Sequence[str], values: str | Iterable[str]
) -> None:
    given = [values] if isinstance(values, str) else list(values)
    if any(value not in allowed for value in given):
        raise Unprocessable(
            "unknown_value",
            "Unknown vocabulary value",
            f"{field} holds a value outside the policy's {vocabulary} ({', '.join(allowed)})",
            field=field,
            vocabulary=vocabulary,
            allowed=list(allowed),
        )


def check(
    policy: Policy, vocabulary: str, values: str | Iterable[str], *, field: str | None = None
) -> None:
    """`values` all in the policy's `vocabulary` (`field` names them in the answer)."""
    allowed = list(getattr(policy.vocabularies, vocabulary))
    check_values(field=field or vocabulary, vocabulary=vocabulary, allowed=allowed, values=values)


def as_lists(policy: Policy) -> dict[str, list[str]]:
    """Each vocabulary's values by name, urgencies included (the OpenAPI document's enums)."""
    vocab = policy.vocabularies
    return {
        "purposes": list(vocab.purposes),
        "data_categories": list(vocab.data_categories),
        "service_types": list(vocab.service_types),
        "organization_kinds": list(vocab.organization_kinds),
        "decline_reasons": list(vocab.decline_reasons),
        "outcomes": list(vocab.outcomes),
        "closure_reasons": list(vocab.closure_reasons),
        "transfer_request_refusals": list(vocab.transfer_request_refusals),
        "urgencies": urgencies(policy),
    }


def urgencies(policy: Policy) -> list[str]:
    """The urgencies a request may have: those the policy gives acknowledgement windows for."""
    return list(type(policy.acknowledgement).model_fields)

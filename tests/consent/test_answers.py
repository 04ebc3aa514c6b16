"""What a gate answer means for a request: the one reading every caller acts on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.consent.answers import Answer, covered, meaning
from hub.consent.gate import Decision, Outcome
from hub.policy.loader import load_policy

POLICY = load_policy(Path(__file__).parents[2] / "specs" / "policy.yaml")


def _decision(outcome: Outcome, *codes: str) -> Decision:
    reasons: tuple[dict[str, Any], ...] = tuple({"code": code} for code in codes)
    return Decision(
        id="d",
        outcome=outcome,
        case_id="c",
        recipient_organization_id="o",
        purpose="psychosocial_support",
        consent_ids=("k",),
        permitted_categories=("identity",),
        withheld_categories=(),
        reasons=reasons,
        policy_version=POLICY.version,
    )


@pytest.mark.parametrize(
    ("decision", "withdrawn_before", "approved", "answer"),
    [
        (_decision(Outcome.permit), False, (), Answer.proceed),
        (_decision(Outcome.permit), True, (), Answer.withdrawn),
        (_decision(Outcome.deny, "consent_withdrawn"), False, (), Answer.withdrawn),
        (_decision(Outcome.deny, "no_consent"), False, (), Answer.denied),
        (_decision(Outcome.review, "sensitive_category"), False, (), Answer.review),
        # an approval covers the triggers it saw, not a new one
        (
            _decision(Outcome.review, "sensitive_category"),
            False,
            ("sensitive_category",),
            Answer.proceed,
        ),
        (
            _decision(Outcome.review, "sensitive_category", "stale_consent"),
            False,
            ("sensitive_category",),
            Answer.review,
        ),
        # a withdrawal wins over an approval
        (
            _decision(Outcome.review, "sensitive_category"),
            True,
            ("sensitive_category",),
            Answer.withdrawn,
        ),
    ],
)
def test_meaning(
    decision: Decision, withdrawn_before: bool, approved: tuple[str, ...], answer: Answer
) -> None:
    got = meaning(POLICY, decision, withdrawn_before=withdrawn_before, approved=approved)
    assert got is answer


def test_covered_counts_only_the_triggers_that_ask_for_review() -> None:
    # a note (caregiver_consent_for_adult) asks nothing of a consent officer
    decision = _decision(Outcome.review, "sensitive_category", "caregiver_consent_for_adult")
    assert covered(POLICY, decision, {"sensitive_category"})
    assert not covered(POLICY, decision, set())

"""The policy file: the shipped one loads; a malformed one is refused naming the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.policy.loader import PolicyError, load_policy, parse_policy
from hub.policy.rules import ALWAYS_DENY, Effect, Reason
from hub.settings import REPO_SPECS

SHIPPED = REPO_SPECS / "policy.yaml"
TEXT = SHIPPED.read_text(encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    """The 1-based number of the last line containing `needle`."""
    found = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert found, needle
    return found[-1]


def refused(text: str) -> str:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "policy.yaml")
    return str(caught.value)


def test_the_shipped_policy_loads() -> None:
    policy = load_policy(SHIPPED)
    assert policy.version == 10
    assert policy.sensitive_categories == ("gbv_incident", "health", "legal_status")
    assert set(policy.effects) == set(Reason)
    assert all(policy.effect(code) is Effect.deny for code in ALWAYS_DENY)
    assert policy.children.model_dump() == {
        "caregiver_consent_under": 18,
        "child_assent_from": 6,
        "child_consent_from": 15,
    }
    assert policy.review_triggers.recipient_government.kinds == ("government",)
    assert policy.review_triggers.stale_consent.max_age_days == 365
    hours = {
        u: policy.acknowledgement.window(u).deadline.total_seconds() / 3600
        for u in ("emergency", "high", "normal")
    }
    assert hours == {"emergency": 4, "high": 24, "normal": 72}
    normal = policy.acknowledgement.window("normal")
    assert normal.remind_before < normal.deadline
    with pytest.raises(KeyError):
        policy.acknowledgement.window("whenever")
    limits = {
        u: (w.deadline_hours, w.remind_before_hours, w.escalate_after_hours)
        for u in ("emergency", "high", "normal")
        for w in [policy.reviews.window(u)]
    }
    assert limits == {"emergency": (1, 0.25, 0.5), "high": (8, 2, 4), "normal": (48, 12, 24)}


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        # the shape: unknown keys, wrong types, missing sections
        (
            "  child_case:\n    enabled: true",
            "  child_case:\n    enabled: true\n    colour: red",
            "colour: red",
            "is not a key of this section",
        ),
        (
            "  sensitive_category:\n    enabled: true",
            "  sensitive_category:\n    enabled: maybe",
            "enabled: maybe",
            "must be true or false",
        ),
        (
            "    max_age_days: 365",
            "    max_age_days: -3",
            "max_age_days: -3",
            "must be more than 0",
        ),
        (
            "  high:\n    deadline_hours: 24",
            "  high:\n    deadline_hours: soon",
            "deadline_hours: soon",
            "must be a number",
        ),
        ("version: 10", "version: two", "version: two", "must be a whole number"),
        # the cross-checks
        (
            "sensitive_categories: [gbv_incident, health, legal_status]",
            "sensitive_categories: [gbv_incident, hobbies]",
            "sensitive_categories:",
            "'hobbies' is not in data_categories",
        ),
        (
            "organization_kinds: [iom_office, government, un_agency, ngo]",
            "organization_kinds: [iom_office, government, un_agency, ngo, hub_operator]",
            "organization_kinds:",
            "'hub_operator' is reserved for the hub's operator",
        ),
        (
            "    kinds: [government]",
            "    kinds: [governmint]",
            "kinds: [governmint]",
            "'governmint' is not in organization_kinds",
        ),
        (
            "  stale_consent: review",
            "  stale_consent: review\n  gut_feeling: deny",
            "gut_feeling: deny",
            "not a reason code",
        ),
        ("  no_consent: deny ", "  no_consent: review ", "no_consent: review", "must be deny"),
        (
            "  recipient_excluded: deny ",
            "  recipient_excluded: note ",
            "recipient_excluded: note",
            "must be deny",
        ),
        ("  child_case: review\n", "", "effects:", "no effect given for: child_case"),
        (
            "acknowledgement:\n  emergency:\n    deadline_hours: 4\n    remind_before_hours: 1\n"
            "    escalate_after_hours: 1\n",
            "acknowledgement:\n  emergency:  # short\n    deadline_hours: 4\n"
            "    remind_before_hours: 1\n",
            "# short",
            "is required",
        ),
        # the review time limits are checked like the acknowledgement windows
        ("\nreviews:\n", "\nreview_limits:\n", "review_limits:", "is not a key of this section"),
        (
            "    deadline_hours: 1\n    remind_before_hours: 0.25",
            "    deadline_hours: 1\n    remind_before_hours: 3",
            "remind_before_hours: 3",
            "before the deadline",
        ),
        (
            "    deadline_hours: 8\n",
            "    deadline_hours: -8\n",
            "deadline_hours: -8",
            "must be more than 0",
        ),
        (
            "  child_consent_from: 15",
            "  child_consent_from: 4",
            "child_consent_from: 4",
            "child_assent_from",
        ),
        (
            "  child_consent_from: 15",
            "  child_consent_from: 19",
            "child_consent_from: 19",
            "caregiver_consent_under",
        ),
        (
            "    remind_before_hours: 1\n",
            "    remind_before_hours: 5\n",
            "remind_before_hours: 5",
            "before the deadline",
        ),
        (
            "    - household\n",
            "    - household\n    - identity\n",
            "    - identity",
            "listed twice",
        ),
        # YAML itself
        (
            "  child_case:\n    enabled: true",
            "  child_case:\n    enabled: true\n    enabled: false",
            "enabled: false",
            "duplicate key 'enabled'",
        ),
        (
            "  high:\n    deadline_hours: 24",
            "  high:\n    deadline_hours: [24",
            "deadline_hours: [24",
            "not valid YAML",
        ),
    ],
)
def test_a_malformed_policy_names_the_line(old: str, new: str, needle: str, message: str) -> None:
    assert old in TEXT, old
    text = TEXT.replace(old, new, 1)
    expected = line_of(text, needle)
    error = refused(text)
    assert message in error, error
    # a YAML syntax error is reported where the parser noticed it, which may be a line later
    lines = {expected, expected + 1} if "not valid YAML" in message else {expected}
    assert any(f"line {n}:" in error or f"line {n} " in error for n in lines), (expected, error)


def test_several_problems_are_all_reported() -> None:
    text = TEXT.replace("  no_consent: deny ", "  no_consent: review ").replace(
        "    kinds: [government]", "    kinds: [governmint]"
    )
    error = refused(text)
    assert error.count("\n") == 1
    assert "governmint" in error and "no_consent" in error


def test_empty_and_unreadable_files(tmp_path: Path) -> None:
    assert "empty policy file" in refused("")
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.yaml")

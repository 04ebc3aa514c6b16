"""The age band a review shows is derived from the policy's child ages, not written in code."""

from __future__ import annotations

import pytest

from hub.policy.rules import ChildAgeBands, age_band

DEFAULT = ChildAgeBands(caregiver_consent_under=18, child_assent_from=6, child_consent_from=15)


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (0, "under_6"),
        (5, "under_6"),
        (6, "6_to_14"),
        (14, "6_to_14"),
        (15, "15_to_17"),
        (17, "15_to_17"),
        (18, "adult"),
        (70, "adult"),
        (None, "unknown"),
    ],
)
def test_the_default_bands(age: int | None, band: str) -> None:
    assert age_band(DEFAULT, age) == band


def test_other_ages_move_the_edges() -> None:
    bands = ChildAgeBands(caregiver_consent_under=16, child_assent_from=7, child_consent_from=12)
    assert [age_band(bands, a) for a in (6, 7, 11, 12, 15, 16)] == [
        "under_7",
        "7_to_11",
        "7_to_11",
        "12_to_15",
        "12_to_15",
        "adult",
    ]

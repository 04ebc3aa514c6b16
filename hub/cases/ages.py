"""A subject's age, exact or estimated, and the one rule every age-based decision follows.

A birth date may be exact (`"2010-03-14"`, precision `day`), known to the month (`"2010-05"`,
`month`) or the year (`"2010"`, `year`); or the person's age was stated on a date
(`estimated_age` 15 on `age_stated_on`), as for an unaccompanied child of "about 15".

`youngest_age` is the age every rule uses (the consent gate's child rules, the reports' age
bands, the service directory's age ranges): the youngest the estimate allows, so that a child
is never treated as an adult because of a guess. `check` refuses what cannot be read as one
estimate, with a code each (422); `settled` fills what the case records beside it (the
precision of an exact date, the day an age was stated).
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Literal

from hub.api.problems import Unprocessable
from hub.cases.schemas import Subject

Precision = Literal["day", "month", "year"]
# the form a birth date takes at each precision
FORMS: dict[str, re.Pattern[str]] = {
    "day": re.compile(r"\d{4}-\d{2}-\d{2}"),
    "month": re.compile(r"\d{4}-\d{2}"),
    "year": re.compile(r"\d{4}"),
}
OLDEST = 130  # no one is older: an estimated age beyond it is a typing error


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on `day` (a 29 February birthday comes on 1 March in other years)."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - int(before_birthday)


def _years_before(day: date, years: int) -> date:
    """The same day `years` earlier (28 February for a 29 February with no match)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _parse(text: str, precision: str) -> date | None:
    """The latest day the written birth date allows, or None if it is no date."""
    form = FORMS.get(precision)
    if form is None or not form.fullmatch(text):
        return None
    try:
        if precision == "year":
            return date(int(text), 12, 31)
        year, month = int(text[:4]), int(text[5:7])
        if precision == "month":
            return date(year, month, calendar.monthrange(year, month)[1])
        return date.fromisoformat(text)
    except ValueError:
        return None


def _earliest(text: str, precision: str) -> date:
    if precision == "year":
        return date(int(text), 1, 1)
    if precision == "month":
        return date(int(text[:4]), int(text[5:7]), 1)
    return date.fromisoformat(text)


def latest_birth_date(subject: Subject) -> date | None:
    """The latest birth date the estimate allows (the youngest the person can be), or None when
    nothing is known of it."""
    if subject.estimated_age is not None:
        stated = subject.age_stated_on
        if stated is None:
            return None
        # stated as N on that day: born on or before that day N years earlier
        return _years_before(stated, subject.estimated_age)
    if subject.birth_date is None:
        return None
    return _parse(subject.birth_date, subject.birth_date_precision or "day")


def youngest_age(subject: Subject, day: date) -> int | None:
    """THE age of the rules: the youngest the subject can be on `day` (None when unknown)."""
    born = latest_birth_date(subject)
    if born is None:
        return None
    return max(0, age_on(born, day))


def check(subject: Subject, today: date) -> None:
    """422 with a code of its own for what is not one estimate of a birth date."""
    if subject.birth_date is not None and subject.estimated_age is not None:
        raise Unprocessable(
            "birth_date_and_estimated_age",
            "Give a birth date or an estimated age, not both",
            field="subject.estimated_age",
        )
    if subject.birth_date is None and subject.estimated_age is None:
        raise Unprocessable(
            "birth_date_missing",
            "Give a birth date (exact or estimated) or an estimated age",
            field="subject.birth_date",
        )
    if subject.estimated_age is not None:
        _check_stated_age(subject, today)
        return
    if subject.age_stated_on is not None:
        raise Unprocessable(
            "age_stated_on_without_estimated_age",
            "age_stated_on goes with an estimated_age only",
            field="subject.age_stated_on",
        )
    precision = subject.birth_date_precision or "day"
    text = subject.birth_date or ""
    if not FORMS[precision].fullmatch(text):
        raise Unprocessable(
            "birth_date_precision_mismatch",
            "The birth date is not written for its precision",
            "Write YYYY-MM-DD for precision day, YYYY-MM for month, YYYY for year.",
            field="subject.birth_date_precision",
        )
    if _parse(text, precision) is None:
        raise Unprocessable(
            "birth_date_invalid", "The birth date is not a real date", field="subject.birth_date"
        )
    if _earliest(text, precision) > today:
        raise Unprocessable(
            "birth_date_in_future", "The birth date is in the future", field="subject.birth_date"
        )


def _check_stated_age(subject: Subject, today: date) -> None:
    if subject.birth_date_precision is not None:
        raise Unprocessable(
            "precision_without_birth_date",
            "birth_date_precision goes with a birth_date only",
            field="subject.birth_date_precision",
        )
    if not 0 <= (subject.estimated_age or 0) <= OLDEST:
        raise Unprocessable(
            "estimated_age_out_of_range",
            f"The estimated age must be between 0 and {OLDEST}",
            field="subject.estimated_age",
        )
    if subject.age_stated_on is not None and subject.age_stated_on > today:
        raise Unprocessable(
            "age_stated_on_in_future",
            "The day the age was stated is in the future",
            field="subject.age_stated_on",
        )


def settled(subject: Subject, today: date) -> Subject:
    """The subject as the case records it (check it first): an estimated age keeps the day it
    was stated (today when not given); a birth date without a precision is exact."""
    if subject.estimated_age is not None and subject.age_stated_on is None:
        return subject.model_copy(update={"age_stated_on": today})
    return subject

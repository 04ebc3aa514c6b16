"""A subject's birth date or estimated age as people read it: "14 Mar 2010", "born in May
2010", "born in 2010", "about 15" (« 14 mars 2010 », « né(e) en mai 2010 », « né(e) en 2010 »,
« vers 15 ans »): the estimate shown as one, never as an exact date."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from babel.dates import format_date

from hub.cases.schemas import Subject
from hub.console import i18n
from hub.console.labels import N_

ABOUT = N_("about %(age)s")
BORN_IN = N_("born in %(when)s")


def born(subject: Subject, gettext: Callable[[str], str], language: str) -> str:
    if subject.estimated_age is not None:
        return gettext(ABOUT) % {"age": i18n.format_number(subject.estimated_age, language)}
    text = subject.birth_date or ""
    precision = subject.birth_date_precision or "day"
    try:
        if precision == "year":
            return gettext(BORN_IN) % {"when": text}
        if precision == "month":
            first = date(int(text[:4]), int(text[5:7]), 1)
            when = format_date(first, "LLLL y", locale=i18n.locale_of(language))
            return gettext(BORN_IN) % {"when": when}
        return i18n.format_day(date.fromisoformat(text), language)  # type: ignore[arg-type]
    except ValueError:
        return text

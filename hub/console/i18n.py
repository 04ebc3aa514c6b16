"""The console's languages: gettext catalogues (Babel) and locale-aware formatting.

Catalogues are `locale/<lang>/LC_MESSAGES/messages.po`, compiled in memory at start, so no
compiled file is kept in the source tree. English is the source language.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from urllib.parse import urlencode

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"
# the language switch's choice, kept across pages (not personal: "en" or "fr")
LANGUAGE_COOKIE = "hub_lang"
# the same pattern in both languages: « 28 nov. 2026, 14:05 » and "28 Nov 2026, 14:05"
DATETIME_PATTERN = "d MMM y, HH:mm"
DATE_PATTERN = "d MMM y"


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of a language (English: the messages themselves)."""
    path = catalogue_path(language)
    if language == DEFAULT_LANGUAGE or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = BytesIO()
    # fuzzy entries are not translations yet: leave them out, so the English shows
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def switch_links(path: str, params: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """The same page in each language (the path and its other parameters kept)."""
    kept = [(k, v) for k, v in params if k != "lang"]
    return [
        {"language": language, "href": f"{path}?{urlencode([*kept, ('lang', language)])}"}
        for language in LANGUAGES
    ]


def supported(language: str | None) -> str | None:
    """The language if the console speaks it (`fr`, `fr-CA` → `fr`), else None."""
    if not language:
        return None
    base = language.strip().lower().replace("_", "-").split("-", 1)[0]
    return base if base in LANGUAGES else None


def negotiate(accept_language: str | None) -> str | None:
    """The best of the console's languages for an `Accept-Language` header, or None."""
    if not accept_language:
        return None
    ranked: list[tuple[float, str]] = []
    for position, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        language = supported(tag)
        if language and quality > 0:
            # earlier entries win ties, as the header lists them in order of preference
            ranked.append((quality - position * 1e-6, language))
    return max(ranked)[1] if ranked else None


def choose(
    *, query: str | None, cookie: str | None, preference: str | None, header: str | None
) -> str:
    """The page's language: `?lang=`, then the switch's cookie, then the person's preference,
    then the browser's `Accept-Language`, then English."""
    return (
        supported(query)
        or supported(cookie)
        or supported(preference)
        or negotiate(header)
        or DEFAULT_LANGUAGE
    )


@cache
def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LANGUAGE)


def locale_of(language: str) -> Locale:
    return _locale(language)


def format_when(value: datetime | None, language: str) -> str:
    """A time as people read it, in UTC (the hub stores and shows UTC; the zone is named)."""
    if value is None:
        return ""
    return format_datetime(value, DATETIME_PATTERN, tzinfo=UTC, locale=_locale(language)) + " UTC"


def format_day(value: datetime | None, language: str) -> str:
    if value is None:
        return ""
    return format_datetime(value, DATE_PATTERN, locale=_locale(language))


def format_number(value: float | int, language: str) -> str:
    return format_decimal(value, locale=_locale(language))


def language_name(code: str, language: str) -> str:
    """A language code as a name in the page's language (`fr` → « français », "French")."""
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(_locale(language))
    except (UnknownLocaleError, ValueError, TypeError):
        return code
    return name or code

"""Rendering pages: one Jinja2 environment per language, autoescaped, with gettext installed.

Templates see `_`/`gettext`/`ngettext` (newstyle: `_("%(n)s waiting", n=3)`), `label(vocab,
code)`, `when(datetime)`, `day(datetime)`, `number(n)` and whatever the page passes.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from hub.console import i18n
from hub.console.birth import born
from hub.console.labels import labeller

TEMPLATES = Path(__file__).parent / "templates"
STYLESHEET = Path(__file__).parent / "static" / "console.css"


@cache
def stylesheet_version() -> str:
    """A digest of the stylesheet, in its URL: a browser's cached copy is never used once the
    stylesheet changed (it is cached for a day: `security.ConsoleHeadersMiddleware`)."""
    return hashlib.sha256(STYLESHEET.read_bytes()).hexdigest()[:12]


@cache
def environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    translations = i18n.translations(language)
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    label = labeller(translations.gettext)
    # `codes | map("label_of", "data_categories")`: labels of a list, for joining in a sentence
    env.filters["label_of"] = lambda code, vocabulary: label(vocabulary, code)
    env.globals.update(
        language=language,
        label=label,
        when=lambda value: i18n.format_when(value, language),
        day=lambda value: i18n.format_day(value, language),
        number=lambda value: i18n.format_number(value, language),
        # a subject's birth date, or the estimate, as one: `born(subject)`
        born=lambda subject: born(subject, translations.gettext, language),
        language_name=lambda code: i18n.language_name(code, language),
        stylesheet_version=stylesheet_version(),
    )
    return env


def render(
    language: str,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    html = environment(language).get_template(template).render(context)
    return HTMLResponse(html, status_code=status_code, headers=headers)

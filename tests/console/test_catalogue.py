"""The console's French catalogue: every message of the sources translated, placeholders kept,
a French word for every code of the policy, and the console really speaking French.

The messages are extracted afresh from the sources (Babel, the method map of `babel.cfg`), so a
string added to a template fails here until `messages.po` is updated and translated:

    .venv/bin/pybabel extract -F hub/console/babel.cfg -k N_ --no-location --omit-header \
        --sort-output -o hub/console/locale/messages.pot hub/console
    .venv/bin/pybabel update -i hub/console/locale/messages.pot -d hub/console/locale -l fr \
        -D messages --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date

Each check is a helper returning what is wrong; the last tests show each helper catching a fault
on a small hand-made catalogue, so none can pass for want of looking.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Iterable, Mapping
from functools import cache
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from hub.console import i18n
from hub.console.labels import LABELS, POLICY_VOCABULARIES
from hub.legal_bases.schemas import ToldHow, ToldWhom
from hub.notifications.service import OBJECT_TYPES
from hub.policy.legal_bases import CONSENT
from hub.policy.loader import Vocabularies, load_policy
from hub.policy.rules import Reason
from hub.settings import Settings

CONSOLE = Path(i18n.__file__).parent
# the keywords of babel.cfg's command line: gettext's defaults (`person.gettext(message)` among
# them) and `N_` (labels.py, errors.py)
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}
# a printf placeholder (`%(num)s`), an escaped `%%`, or a stray `%` that would break formatting
PERCENT = re.compile(r"%\(\w+\)[#0 +-]*\d*(?:\.\d+)?[a-zA-Z]|%%|%")

MessageKey = tuple[str, str | None]  # (msgid, context)


# --- what the sources and the catalogue hold


@cache
def source_messages() -> dict[MessageKey, tuple[str, ...]]:
    """Every message the console's sources mark, extracted as `pybabel extract` would."""
    with (CONSOLE / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[MessageKey, tuple[str, ...]] = {}
    for _, _, message, _, context in extract_from_dir(
        str(CONSOLE), method_map, options_map, keywords=KEYWORDS, comment_tags=()
    ):
        forms = (message,) if isinstance(message, str) else tuple(message)
        found[(forms[0], context)] = forms
    return found


def load_catalogue(path: Path) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, locale="fr")


@pytest.fixture(scope="module")
def french() -> Catalog:
    return load_catalogue(i18n.catalogue_path("fr"))


# --- the checks, each returning what is wrong


def translated(catalogue: Catalog, msgid: str, context: str | None = None) -> bool:
    """A non-fuzzy entry with every form filled (both forms for a plural in French)."""
    entry = catalogue.get(msgid, context)
    if entry is None or entry.fuzzy:
        return False
    strings = entry.string if isinstance(entry.string, tuple | list) else (entry.string,)
    wanted = catalogue.num_plurals if entry.pluralizable else 1
    return len(strings) >= wanted and all(s and s.strip() for s in strings[:wanted])


def untranslated(messages: Mapping[MessageKey, tuple[str, ...]], catalogue: Catalog) -> list[str]:
    """The messages with no French yet (missing, empty, fuzzy, or a plural the .po has not)."""
    wrong: list[str] = []
    for (msgid, context), forms in sorted(messages.items(), key=lambda item: item[0][0]):
        entry = catalogue.get(msgid, context)
        plural_lost = entry is not None and len(forms) > 1 and not entry.pluralizable
        if plural_lost or not translated(catalogue, msgid, context):
            wrong.append(msgid if context is None else f"{context}|{msgid}")
    return wrong


def percent_tokens(text: str) -> set[str]:
    return set(PERCENT.findall(text))


def placeholder_faults(catalogue: Catalog) -> list[str]:
    """The translations that lose or add a `%(name)s` (or bring a stray `%`)."""
    faults: list[str] = []
    for entry in catalogue:
        if not entry.id or not entry.string:
            continue
        ids = entry.id if isinstance(entry.id, tuple | list) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple | list) else (entry.string,)
        expected = set().union(*(percent_tokens(i) for i in ids))
        for form, string in enumerate(strings):
            if not string:
                continue  # untranslated: `untranslated` speaks of it
            got = percent_tokens(string)
            if got != expected:
                lost, added = sorted(expected - got), sorted(got - expected)
                faults.append(f"{ids[0]!r} [form {form}]: lost {lost}, added {added}")
    return faults


def unlabelled(
    codes: Mapping[str, Iterable[str]],
    labels: Mapping[str, Mapping[str, str]],
    catalogue: Catalog,
) -> list[str]:
    """The codes with no English label, or whose label has no French."""
    faults: list[str] = []
    for vocabulary, values in codes.items():
        for code in values:
            label = labels.get(vocabulary, {}).get(code)
            if not label:
                faults.append(f"{vocabulary}.{code}: no label in hub/console/labels.py")
            elif not translated(catalogue, label):
                faults.append(f"{vocabulary}.{code}: {label!r} has no French translation")
    return faults


def policy_codes() -> dict[str, tuple[str, ...]]:
    """Every value of the labelled vocabularies of the policy file, and every reason code."""
    policy = load_policy(Settings.model_fields["policy_file"].default)
    codes = {name: tuple(getattr(policy.vocabularies, name)) for name in POLICY_VOCABULARIES}
    codes["reasons"] = tuple(reason.value for reason in Reason)
    # the legal bases beside consent, and how the person was told of a disclosure on one
    codes["legal_bases"] = (CONSENT, *policy.legal_bases)
    codes["told_whom"] = tuple(ToldWhom)
    codes["told_how"] = tuple(ToldHow)
    codes["notification_kinds"] = OBJECT_TYPES
    return codes


def speaks_french(translations: gettext.NullTranslations) -> list[str]:
    """What the compiled catalogue does not say in French."""
    faults: list[str] = []
    if translations.gettext("Sign in") != "Se connecter":
        faults.append(f"'Sign in' is {translations.gettext('Sign in')!r}")
    singular, plural = "%(num)s request waits.", "%(num)s requests wait."
    # French: 0 and 1 take the singular, 2 and more the plural
    if translations.ngettext(singular, plural, 0) != translations.ngettext(singular, plural, 1):
        faults.append("0 does not take the singular")
    if translations.ngettext(singular, plural, 2) in (
        plural,
        translations.ngettext(singular, plural, 1),
    ):
        faults.append("2 does not take a French plural")
    return faults


# --- the catalogue of the console


def test_every_message_of_the_console_has_a_french_translation(french: Catalog) -> None:
    messages = source_messages()
    assert len(messages) > 100, "the extraction found next to nothing: is babel.cfg right?"
    missing = untranslated(messages, french)
    assert not missing, (
        f"{len(missing)} message(s) have no French in {i18n.catalogue_path('fr')} "
        "(update it with pybabel update --no-fuzzy-matching, see this module's docstring):\n"
        + "\n".join(missing)
    )


def test_no_french_translation_loses_or_adds_a_placeholder(french: Catalog) -> None:
    faults = placeholder_faults(french)
    assert not faults, "\n".join(faults)


def test_every_policy_code_has_a_label_in_french(french: Catalog) -> None:
    # a vocabulary added to the policy file must be labelled too
    assert set(Vocabularies.model_fields) <= set(POLICY_VOCABULARIES)
    faults = unlabelled(policy_codes(), LABELS, french)
    assert not faults, "\n".join(faults)


def test_the_console_speaks_french() -> None:
    assert not speaks_french(i18n.translations("fr"))


def test_the_french_catalogue_counts_plurals_the_french_way(french: Catalog) -> None:
    # newer CLDR gives French a third form (« de » after a million); the header keeps two
    assert french.num_plurals == 2
    assert french.plural_expr.replace(" ", "") == "(n>1)"
    assert french.locale is not None and french.locale.language == "fr"


# --- the checks themselves fail when they should


def tiny_catalogue(tmp_path: Path, body: str, plural: str = "(n > 1)") -> Catalog:
    path = tmp_path / "messages.po"
    header = (
        'msgid ""\nmsgstr ""\n"Language: fr\\n"\n'
        f'"Plural-Forms: nplurals=2; plural={plural};\\n"\n'
        '"Content-Type: text/plain; charset=utf-8\\n"\n\n'
    )
    path.write_text(header + body, encoding="utf-8")
    return load_catalogue(path)


def test_untranslated_names_the_missing_empty_fuzzy_and_half_plural(tmp_path: Path) -> None:
    catalogue = tiny_catalogue(
        tmp_path,
        'msgid "Sign in"\nmsgstr "Se connecter"\n\n'
        'msgid "Empty"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "Fuzzy"\nmsgstr "Flou"\n\n'
        'msgid "%(num)s day"\nmsgid_plural "%(num)s days"\n'
        'msgstr[0] "%(num)s jour"\nmsgstr[1] ""\n\n'
        'msgid "%(num)s case"\nmsgid_plural "%(num)s cases"\n'
        'msgstr[0] "%(num)s dossier"\nmsgstr[1] "%(num)s dossiers"\n\n'
        'msgid "%(num)s file"\nmsgstr "%(num)s fichier"\n',
    )
    messages = {
        ("Sign in", None): ("Sign in",),
        ("Missing", None): ("Missing",),
        ("Empty", None): ("Empty",),
        ("Fuzzy", None): ("Fuzzy",),
        ("%(num)s day", None): ("%(num)s day", "%(num)s days"),
        ("%(num)s case", None): ("%(num)s case", "%(num)s cases"),
        ("%(num)s file", None): ("%(num)s file", "%(num)s files"),
    }
    assert untranslated(messages, catalogue) == [
        "%(num)s day",
        "%(num)s file",
        "Empty",
        "Fuzzy",
        "Missing",
    ]


def test_placeholder_faults_names_a_lost_an_added_and_a_stray_percent(tmp_path: Path) -> None:
    catalogue = tiny_catalogue(
        tmp_path,
        'msgid "Hello %(name)s"\nmsgstr "Bonjour %(name)s"\n\n'
        'msgid "Lost %(name)s"\nmsgstr "Perdu"\n\n'
        'msgid "Added"\nmsgstr "Ajouté %(who)s"\n\n'
        'msgid "Renamed %(name)s"\nmsgstr "Renommé %(nom)s"\n\n'
        'msgid "Half"\nmsgstr "50 % fait"\n\n'
        'msgid "%(num)s day"\nmsgid_plural "%(num)s days"\n'
        'msgstr[0] "un jour"\nmsgstr[1] "%(num)s jours"\n',
    )
    faults = placeholder_faults(catalogue)
    assert len(faults) == 5, faults
    assert not any("Hello" in fault for fault in faults)
    assert any(fault.startswith("'%(num)s day' [form 0]: lost ['%(num)s']") for fault in faults)


def test_unlabelled_names_a_code_without_label_or_without_french(tmp_path: Path) -> None:
    catalogue = tiny_catalogue(tmp_path, 'msgid "Health"\nmsgstr "Santé"\n')
    labels = {"data_categories": {"health": "Health", "identity": "Identity"}}
    codes = {"data_categories": ("health", "identity", "household"), "reasons": ("no_consent",)}
    assert unlabelled(codes, labels, catalogue) == [
        "data_categories.identity: 'Identity' has no French translation",
        "data_categories.household: no label in hub/console/labels.py",
        "reasons.no_consent: no label in hub/console/labels.py",
    ]


def test_speaks_french_catches_english_and_a_wrong_plural_rule(tmp_path: Path) -> None:
    assert speaks_french(gettext.NullTranslations())
    body = (
        'msgid "Sign in"\nmsgstr "Se connecter"\n\n'
        'msgid "%(num)s request waits."\nmsgid_plural "%(num)s requests wait."\n'
        'msgstr[0] "%(num)s demande en attente."\nmsgstr[1] "%(num)s demandes en attente."\n'
    )
    assert not speaks_french(compiled(tiny_catalogue(tmp_path, body)))
    # the English rule, where 0 takes the plural
    english_rule = tiny_catalogue(tmp_path, body, plural="(n != 1)")
    assert speaks_french(compiled(english_rule)) == ["0 does not take the singular"]


def compiled(catalogue: Catalog) -> gettext.GNUTranslations:
    mo = BytesIO()
    write_mo(mo, catalogue, use_fuzzy=False)
    mo.seek(0)
    return gettext.GNUTranslations(mo)


@pytest.mark.parametrize("path", [i18n.LOCALE_DIR / "messages.pot", i18n.catalogue_path("fr")])
def test_the_catalogue_files_are_well_formed(path: Path) -> None:
    # Babel reads a message without its msgstr leniently (a warning): merged blocks once left
    # four such in the template
    with path.open("rb") as f:
        read_po(f, locale="fr", abort_invalid=True)

"""The PostgreSQL pass leaves out a test's repeats in the console's other languages."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tests.conftest import _language_repeats


class _Item:
    """What the hook reads of a pytest item (hashable, as items are)."""

    def __init__(self, name: str, params: dict[str, Any]) -> None:
        self.path = Path("tests/console/test_x.py")
        self.originalname = name
        self.name = f"{name}[{'-'.join(map(str, params.values()))}]"
        self.callspec = SimpleNamespace(params=params)


def _item(name: str, **params: Any) -> Any:
    return _Item(name, params)


def test_only_the_repeats_in_another_language_are_left_out() -> None:
    en, fr = _item("test_a", language="en"), _item("test_a", language="fr")
    # a language parametrized together with words of its own, and with a second parameter
    en_words, fr_words = (
        _item("test_b", locale="en-GB", words=0),
        _item("test_b", locale="fr-FR", words=1),
    )
    deny_en, deny_fr = (
        _item("test_c", verdict="deny", language="en"),
        _item("test_c", verdict="deny", language="fr"),
    )
    return_en = _item("test_c", verdict="return", language="en")
    # a test run in one language only, and a test with no language
    french_only, plain = _item("test_d", locale="fr-FR"), _item("test_e", verdict="deny")

    items = [en, fr, en_words, fr_words, deny_en, deny_fr, return_en, french_only, plain]

    assert _language_repeats(items) == {fr, fr_words, deny_fr}

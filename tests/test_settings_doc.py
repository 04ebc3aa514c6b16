"""Every setting is documented in the README, and the README names no setting that is gone."""

from __future__ import annotations

import re

from hub import settings_doc
from hub.settings import Settings

README = settings_doc.README.read_text(encoding="utf-8")


def _section() -> str:
    assert settings_doc.BEGIN in README and settings_doc.END in README
    return README.split(settings_doc.BEGIN, 1)[1].split(settings_doc.END, 1)[0]


def test_the_readme_table_names_every_setting_and_no_other() -> None:
    documented = re.findall(r"^\| `(HUB_[A-Z0-9_]+)` \|", _section(), flags=re.MULTILINE)
    expected = [settings_doc.env_name(name) for name in Settings.model_fields]
    missing = sorted(set(expected) - set(documented))
    stale = sorted(set(documented) - set(expected))
    hint = "run `python -m hub.settings_doc --write`"
    assert not missing, f"settings missing from README.md: {missing}; {hint}"
    assert not stale, f"README.md documents settings that no longer exist: {stale}; {hint}"
    assert len(documented) == len(set(documented))


def test_the_readme_table_is_the_generated_one() -> None:
    assert _section().strip() == settings_doc.table().strip(), (
        "README.md's settings table is out of date: run `python -m hub.settings_doc --write`"
    )


def test_every_setting_has_a_description() -> None:
    assert [n for n, f in Settings.model_fields.items() if not f.description] == []


def test_write_replaces_only_the_table() -> None:
    before = "intro\n" + settings_doc.BEGIN + "\n| old |\n" + settings_doc.END + "\noutro\n"
    after = settings_doc.replace_in(before)
    assert after.startswith("intro\n" + settings_doc.BEGIN + "\n| Variable |")
    assert after.endswith(settings_doc.END + "\noutro\n")
    assert "| old |" not in after
    assert settings_doc.replace_in(after) == after

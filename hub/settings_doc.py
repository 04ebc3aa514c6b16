"""The README's settings table, generated from `Settings.model_fields`.

    python -m hub.settings_doc            # print the table
    python -m hub.settings_doc --write    # replace it in README.md between the markers

A test compares the README with this output, so a setting cannot go undocumented.
"""

from __future__ import annotations

import argparse
import typing
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from hub.settings import DEFAULT_DATA_DIR, REPO_SPECS, Settings

BEGIN = "<!-- settings-table -->"
END = "<!-- /settings-table -->"
README = Path(__file__).resolve().parent.parent / "README.md"


def env_name(field: str) -> str:
    return f"HUB_{field.upper()}"


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    else:
        value = field.default
    if value is None or value is PydanticUndefined or value in ([], ""):
        return "*(empty)*"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Path):
        # machine-specific paths are shown the way the reader's machine would have them
        if value == DEFAULT_DATA_DIR:
            return "`~/.local/share/referral-hub`"
        if value.is_relative_to(REPO_SPECS.parent):
            return f"`{value.relative_to(REPO_SPECS.parent)}` (source tree)"
    return f"`{value}`"


def _choices(field: FieldInfo) -> str:
    if typing.get_origin(field.annotation) is typing.Literal:
        return " One of: " + ", ".join(f"`{c}`" for c in typing.get_args(field.annotation)) + "."
    return ""


def table() -> str:
    rows = ["| Variable | Default | Description |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        text = (field.description or "").replace("|", "\\|").strip() + _choices(field)
        rows.append(f"| `{env_name(name)}` | {_default(field)} | {text} |")
    return "\n".join(rows) + "\n"


def replace_in(readme: str) -> str:
    if BEGIN not in readme:
        raise SystemExit(f"README.md has no {BEGIN} marker")
    head, rest = readme.split(BEGIN, 1)
    tail = rest.split(END, 1)[1] if END in rest else rest
    return f"{head}{BEGIN}\n{table()}{END}{tail}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update README.md in place")
    args = parser.parse_args()
    if args.write:
        README.write_text(replace_in(README.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print(table(), end="")


if __name__ == "__main__":
    main()

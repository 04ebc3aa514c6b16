"""Every file the hub reads at run time ships in its wheel: an install that is not editable
(the Dockerfile's `pip install .`) gets the console's pages, catalogues and the PDF's fonts."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).parents[1]
HUB = ROOT / "hub"


def _patterns() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return list(tomllib.load(f)["tool"]["setuptools"]["package-data"]["hub"])


def _shipped(relative: str, patterns: list[str]) -> bool:
    # setuptools' globs: `*` does not cross a folder
    return any(
        fnmatch(relative, pattern) and relative.count("/") == pattern.count("/")
        for pattern in patterns
    )


def test_every_data_file_of_the_package_is_declared() -> None:
    patterns = _patterns()
    data = [
        path.relative_to(HUB).as_posix()
        for path in HUB.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    ]
    assert data, "the package has data files (templates, catalogues, fonts)"
    missing = [name for name in data if not _shipped(name, patterns)]
    assert not missing, f"not in [tool.setuptools.package-data] of pyproject.toml: {missing}"


def test_a_file_outside_the_patterns_is_caught() -> None:
    patterns = _patterns()
    assert _shipped("console/templates/home.html", patterns)
    assert not _shipped("console/templates/partials/x.html", patterns)
    assert not _shipped("referrals/notes.txt", patterns)

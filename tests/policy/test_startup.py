"""A malformed policy file stops start-up, with a message naming the line."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from hub.app import create_app
from hub.policy.loader import PolicyError
from hub.runtime import Runtime
from hub.settings import REPO_SPECS, Settings
from tests.support.cli import run_hub


def _free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def _malformed(tmp_path: Path) -> tuple[Path, int]:
    text = (REPO_SPECS / "policy.yaml").read_text(encoding="utf-8")
    text = text.replace("    max_age_days: 365", "    max_age_days: a year")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "a year" in row)
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path, line


def test_create_app_refuses_a_malformed_policy(settings: Settings, tmp_path: Path) -> None:
    path, line = _malformed(tmp_path)
    runtime = Runtime(settings.model_copy(update={"policy_file": path}))
    try:
        with pytest.raises(PolicyError, match=f"line {line}: review_triggers.stale_consent"):
            create_app(runtime)
    finally:
        runtime.dispose()


def test_hub_serve_stops_on_a_malformed_policy(settings: Settings, tmp_path: Path) -> None:
    path, line = _malformed(tmp_path)
    # a hub that started anyway would hang here: the timeout turns that into a failure
    result = run_hub(
        settings, "serve", "--port", _free_port(), timeout=60, HUB_POLICY_FILE=str(path)
    )
    assert result.returncode == 2, result.stderr
    assert f"{path}: line {line}: review_triggers.stale_consent.max_age_days" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


PYDANTIC_WORDING = ("Input should", "Value should", "Field required", "Extra inputs")


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        # a list item of the wrong type: its place is the key path and the index
        (
            "    - household\n",
            "    - household\n    - [a, b]\n",
            "vocabularies.data_categories[3]: must be text",
        ),
        (
            "  child_case:\n    enabled: true",
            "  child_case:\n    enabled: 1.5",
            "must be true or false",
        ),
        ("    max_age_days: 365", "    max_age_days: a year", "must be a whole number"),
        ("\nreviews:\n", "\nreview_limits:\n", "review_limits: is not a key of this section"),
    ],
)
def test_hub_says_what_is_wrong_with_a_policy_in_plain_words(
    settings: Settings, tmp_path: Path, old: str, new: str, said: str
) -> None:
    text = (REPO_SPECS / "policy.yaml").read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "policy.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    result = run_hub(
        settings, "serve", "--port", _free_port(), timeout=60, HUB_POLICY_FILE=str(path)
    )
    assert result.returncode == 2, result.stderr
    # the server's JSON log lines, then what is wrong with the policy
    last = result.stderr.splitlines()[-1]
    assert last.startswith(f"{path}: line "), result.stderr
    assert said in last
    assert not any(words in result.stderr for words in PYDANTIC_WORDING), result.stderr
    assert "Traceback" not in result.stderr

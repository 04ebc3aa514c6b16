"""`hub channels set` refuses bad input in plain words, without repeating a secret."""

from __future__ import annotations

from hub.settings import Settings
from tests.support.cli import run_hub


def test_a_short_secret_is_refused_in_characters(settings: Settings) -> None:
    done = run_hub(
        settings,
        "channels", "set", "--org", "any", "--kind", "webhook",
        "--url", "https://example.org/hook", "--secret", "-",
        stdin="short-s3cret\n",
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == "error: secret: must have at least 16 characters\n"
    assert "short-s3cret" not in done.stdout + done.stderr

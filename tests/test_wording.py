"""Validation errors reach people in plain words, never pydantic's, and never with the input."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import pytest
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, ValidationError

from hub.connectors.schemas import ChannelSet
from hub.runtime import Runtime
from hub.wording import plain_message
from tests.support.probe import CANARY, probe_client

# what pydantic says and a person should not have to read
PYDANTIC = ("after validation", "Input should", "Field required", "valid dictionary", "Value error")


class Form(BaseModel):
    model_config = ConfigDict(extra="forbid")
    secret: SecretStr = Field(min_length=16)
    name: str = Field(min_length=3)
    tags: list[str] = Field(min_length=1, max_length=2)
    count: int = Field(ge=1, le=10)
    kind: Literal["inbox", "webhook"]
    at: AwareDatetime
    data: dict[str, int]


def _said(**values: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        Form(**values)
    return {".".join(map(str, e["loc"])): plain_message(e) for e in caught.value.errors()}


def test_each_rule_is_said_as_a_rule_about_the_value() -> None:
    said = _said(
        secret=CANARY[:5],
        name="ab",
        tags=[],
        count=0,
        kind=CANARY,
        at=datetime(2026, 5, 1, 9, 30),  # no zone: what is missing
        data=[CANARY],
        extra=CANARY,
    )
    assert said == {
        "secret": "must have at least 16 characters",
        "name": "must have at least 3 characters",
        "tags": "must have at least 1 item",
        "count": "must be at least 1",
        "kind": "must be 'inbox' or 'webhook'",
        "at": "must say its time zone (Z, or an offset such as +01:00)",
        "data": "must be an object",
        "extra": "is not a field of this request",
    }
    assert _said(tags=["a", "b", "c"], count="many")["tags"] == "must have at most 2 items"
    assert _said()["name"] == "is required"


def test_a_validator_of_the_hubs_own_keeps_its_words() -> None:
    error = {"type": "value_error", "loc": ("url",), "msg": "Value error, the URL has no host"}
    assert plain_message(error) == "the URL has no host"
    assert plain_message({"type": "some_new_type", "msg": "as pydantic says"}) == (
        "as pydantic says"
    )


def test_a_short_channel_secret_asks_for_characters() -> None:
    with pytest.raises(ValidationError) as caught:
        ChannelSet(kind="webhook", url="https://example.org/h", secret="short")
    assert [plain_message(e) for e in caught.value.errors()] == ["must have at least 16 characters"]


def test_the_api_problem_says_it_plainly_and_keeps_its_codes(runtime: Runtime) -> None:
    response = probe_client(runtime).post("/_probe/items/1", json={"count": CANARY})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    errors = {tuple(e["loc"]): (e["type"], e["msg"]) for e in body["errors"]}
    assert errors == {
        ("body", "count"): ("int_parsing", "must be a whole number"),
        ("body", "name"): ("missing", "is required"),
    }
    assert body["detail"] == "count: must be a whole number (and 1 more: see errors)"
    assert CANARY not in response.text
    assert not any(words in response.text for words in PYDANTIC)

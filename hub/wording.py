"""Validation errors said in plain words, for the API's problems and the command line alike.

pydantic's messages speak of its own machinery ("Value should have at least 16 items after
validation", "Input should be a valid dictionary"). A person reads these: each error type
someone meets is said here as a rule about the value. The error's `type` stays as pydantic
names it (the stable part of an API problem's `errors`); an error type not listed keeps
pydantic's message. The rejected value is never repeated: it may be personal data or a secret.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Error = Mapping[str, Any]

_COLLECTIONS = {"List", "Tuple", "Set", "Frozenset", "Dictionary"}


def _count(n: object, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _size(err: Error, bound: str, key: str) -> str:
    ctx = err.get("ctx") or {}
    n = ctx.get(key)
    # a SecretStr or other sized text is "Value" to pydantic: it counts characters
    if ctx.get("field_type") in _COLLECTIONS and not isinstance(err.get("input"), str | bytes):
        return f"must have {bound} {_count(n, 'item', 'items')}"
    return f"must have {bound} {_count(n, 'character', 'characters')}"


def _ctx(key: str, template: str) -> Callable[[Error], str]:
    return lambda err: template.format((err.get("ctx") or {}).get(key))


DATE = "must be a date, as YYYY-MM-DD"
DATETIME = "must be a date and time, as 2026-05-01T09:30:00Z (ISO 8601)"

_SAID: dict[str, Callable[[Error], str]] = {
    "missing": lambda _: "is required",
    "extra_forbidden": lambda _: "is not a field of this request",
    "too_short": lambda err: _size(err, "at least", "min_length"),
    "too_long": lambda err: _size(err, "at most", "max_length"),
    "string_too_short": _ctx("min_length", "must have at least {} characters"),
    "string_too_long": _ctx("max_length", "must have at most {} characters"),
    "string_pattern_mismatch": lambda _: "is not in the expected form",
    "string_type": lambda _: "must be text",
    "string_unicode": lambda _: "must be text",
    "int_type": lambda _: "must be a whole number",
    "int_parsing": lambda _: "must be a whole number",
    "int_from_float": lambda _: "must be a whole number",
    "float_type": lambda _: "must be a number",
    "float_parsing": lambda _: "must be a number",
    "bool_type": lambda _: "must be true or false",
    "bool_parsing": lambda _: "must be true or false",
    "greater_than": _ctx("gt", "must be more than {}"),
    "greater_than_equal": _ctx("ge", "must be at least {}"),
    "less_than": _ctx("lt", "must be less than {}"),
    "less_than_equal": _ctx("le", "must be at most {}"),
    "literal_error": _ctx("expected", "must be {}"),
    "enum": _ctx("expected", "must be {}"),
    "date_type": lambda _: DATE,
    "date_parsing": lambda _: DATE,
    "date_from_datetime_parsing": lambda _: DATE,
    "date_from_datetime_inexact": lambda _: DATE,
    "datetime_type": lambda _: DATETIME,
    "datetime_parsing": lambda _: DATETIME,
    "datetime_from_date_parsing": lambda _: DATETIME,
    "datetime_object_invalid": lambda _: DATETIME,
    "timezone_aware": lambda _: "must say its time zone (Z, or an offset such as +01:00)",
    "timezone_naive": lambda _: "must not carry a time zone",
    "uuid_type": lambda _: "must be a UUID",
    "uuid_parsing": lambda _: "must be a UUID",
    "url_type": lambda _: "must be a URL",
    "url_parsing": lambda _: "must be a full URL, such as https://example.org/path",
    "url_scheme": _ctx("expected_schemes", "must be a URL starting with {}"),
    "url_too_long": _ctx("max_length", "must be a URL of at most {} characters"),
    "dict_type": lambda _: "must be an object",
    "model_type": lambda _: "must be an object",
    "model_attributes_type": lambda _: "must be an object",
    "list_type": lambda _: "must be a list",
    "tuple_type": lambda _: "must be a list",
    "set_type": lambda _: "must be a list",
    "frozen_set_type": lambda _: "must be a list",
    "json_type": lambda _: "must be JSON",
    "union_tag_invalid": _ctx("expected_tags", "must be of a known kind: {}"),
    "union_tag_not_found": _ctx("discriminator", "must say its kind ({})"),
}

# a validator of the hub's own speaks in its own words; pydantic only puts these in front
_PREFIXES = ("Value error, ", "Assertion failed, ")


def plain_message(err: Error) -> str:
    """What is wrong with the value at `err["loc"]`, as a person would say it."""
    said = _SAID.get(str(err.get("type", "")))
    if said is not None:
        return said(err)
    message = str(err.get("msg", ""))
    for prefix in _PREFIXES:
        if message.startswith(prefix):
            return message.removeprefix(prefix)
    return message

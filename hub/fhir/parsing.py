"""Reading a client's FHIR JSON into fhir.resources R4B models: 400 `invalid_resource` naming
the element at fault, never its value (which may be personal data)."""

from __future__ import annotations

from typing import Any, TypeVar

from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from hub.api.problems import Problem

R = TypeVar("R", bound=Resource)


def parse(model: type[R], body: dict[str, Any]) -> R:
    expected = model.get_resource_type()
    if body.get("resourceType") != expected:
        raise Problem(400, "invalid_resource", f"Expected a {expected} resource")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        where = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})[:5]
        raise Problem(
            400,
            "invalid_resource",
            f"Not a valid {expected}",
            "Elements at fault: " + ", ".join(w[:80] for w in where) + ".",
        ) from None

"""FHIR JSON in and out: `application/fhir+json` answers, and what a client may ask for."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fhir.resources.R4B.resource import Resource

from hub.api.problems import Problem

FHIR_JSON = "application/fhir+json"
ACCEPTED = (FHIR_JSON, "application/json", "application/*", "*/*", "json")
BASE = "/fhir/R4"
# the request body's size is limited by the app (`max_body_bytes`); a FHIR body is JSON
JSON_TYPES = (FHIR_JSON, "application/json")


def as_json(resource: Resource) -> dict[str, Any]:
    return resource.model_dump(mode="json", exclude_none=True)  # type: ignore[no-any-return]


def fhir_response(
    resource: Resource | dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = resource if isinstance(resource, dict) else as_json(resource)
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        media_type=FHIR_JSON,
        headers=headers,
    )


def check_accept(request: Request) -> None:
    """406 unless the client takes FHIR JSON (`Accept` or `_format`); XML is not served."""
    wanted = request.query_params.get("_format") or request.headers.get("accept") or "*/*"
    kinds = [part.split(";", 1)[0].strip().lower() for part in wanted.split(",")]
    if not any(kind in ACCEPTED for kind in kinds):
        raise Problem(406, "not_acceptable", "Only FHIR JSON is served", f"Ask for {FHIR_JSON}.")


async def read_body(request: Request) -> dict[str, Any]:
    """The request's JSON object (415 for another media type, 400 when it is not JSON)."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type not in JSON_TYPES:
        raise Problem(
            415, "unsupported_media_type", "Send FHIR JSON", f"Content-Type: {FHIR_JSON}."
        )
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "malformed_json", "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Problem(400, "malformed_json", "The request body is not a JSON object")
    return body

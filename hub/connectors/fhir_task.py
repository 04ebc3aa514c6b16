"""A partner's Task, read and written: what the hub follows of it, and its own closing of a
referral written onto it.

The Task the hub pushed (`hub.connectors.fhir_bundle`) lives on the partner's server; the
partner answers by updating it. `parse_task` reads its status, its `statusReason` (words, and
the codes of a decline reason) and its `Task.output` of type `outcome` (the outcome's codes and
words); the delivery workflow checks the codes against the policy's vocabularies, which
fhir.resources does not know. `task_update` is the partner's Task moved by the hub (cancelled,
failed) with `statusReason` coded in `STATUS_REASON_SYSTEM`: whenever a Task is `rejected`,
`cancelled`, `on-hold` or `failed`, it carries its reason (the SDOH Clinical Care IG's rule).
`task_notice` tells the partner's Task what the hub does not close it for (a consent withdrawn
after the acknowledgement): `businessStatus` and a `note`, its status untouched.

Models come from `fhir.resources.R4B`: the package's default is R5 (DESIGN.md "Known traps").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.task import Task
from pydantic import ValidationError

# why a referral is where it is (`hub.lifecycle.reasons`: consent_withdrawn, undeliverable, ...)
STATUS_REASON_SYSTEM = "urn:referral-hub:status-reason"
# the recipient's coded answers (the policy's `decline_reasons` and `outcomes`)
DECLINE_REASON_SYSTEM = "urn:referral-hub:decline-reason"
OUTCOME_SYSTEM = "urn:referral-hub:outcome"
# Task.output.type of the outcome
TASK_OUTPUT_SYSTEM = "urn:referral-hub:task-output"
OUTCOME_OUTPUT = "outcome"

# R4 TaskStatus: fhir.resources checks types, not value sets, so the codes are checked here
TASK_STATUSES = frozenset(
    {
        "draft",
        "requested",
        "received",
        "accepted",
        "rejected",
        "ready",
        "cancelled",
        "in-progress",
        "on-hold",
        "failed",
        "completed",
        "entered-in-error",
    }
)

# the note the hub writes on a Task whose consent was withdrawn after its acknowledgement (the
# partner's, and the facade's own Task): words about the referral, none about the person
WITHDRAWAL_NOTE = (
    "Consent withdrawn. A consent this referral rests on was withdrawn after the referral was "
    "acknowledged. The hub has not cancelled it: closing it is the recipient's decision. The "
    "hub no longer releases the case's data under that consent."
)

# the statuses whose Task carries a statusReason (the IG's rule)
REASONED_STATUSES = frozenset({"rejected", "cancelled", "on-hold", "failed"})
# a Task in one of these is over on the partner's side: the hub does not write over it
FINAL_TASK_STATUSES = frozenset(
    {"rejected", "cancelled", "failed", "completed", "entered-in-error"}
)

# FHIR's id syntax, less "." and "..": the id goes into the URL the hub reads the Task from
_FHIR_ID = re.compile(r"(?!\.{1,2}$)[A-Za-z0-9\-.]{1,64}")


@dataclass(frozen=True)
class TaskState:
    """The partner's Task as far as the hub follows it."""

    status: str
    reason: str | None
    # the codes of statusReason (system `DECLINE_REASON_SYSTEM` or none), first given first
    reason_codes: tuple[str, ...] = ()
    # the outcome in Task.output: its codes (`OUTCOME_SYSTEM` or none) and its words
    outcome_codes: tuple[str, ...] = ()
    outcome_text: str | None = None


def task_reference_from_response(response_json: dict[str, Any]) -> str | None:
    """`Task/<id>` of the Task a partner created, from its transaction-response Bundle.

    Locations may be relative (`Task/1/_history/1`) or absolute
    (`https://partner/fhir/Task/1/_history/1`). None when the response is no valid Bundle or
    names no Task.
    """
    if not isinstance(response_json, dict) or response_json.get("resourceType") != "Bundle":
        return None
    try:
        bundle = Bundle.model_validate(response_json)
    except ValidationError:
        return None
    for entry in bundle.entry or []:
        location = entry.response.location if entry.response else None
        if location and (task_id := _task_id(location)):
            return f"Task/{task_id}"
    return None


def parse_task(task_json: dict[str, Any]) -> TaskState:
    """The status (and its reason) of a partner's Task; ValueError if it is no valid R4 Task.

    The messages never quote the input: a partner's Task may carry personal data.
    """
    if not isinstance(task_json, dict) or task_json.get("resourceType") != "Task":
        raise ValueError("Not a FHIR Task")
    try:
        task = Task.model_validate(task_json)
    except ValidationError:
        raise ValueError("Invalid FHIR R4 Task") from None
    if task.status not in TASK_STATUSES:
        raise ValueError("Invalid FHIR R4 Task: unknown status")
    outcome_codes, outcome_text = _outcome(task)
    return TaskState(
        status=task.status,
        reason=_reason(task.statusReason),
        reason_codes=_codes(task.statusReason, DECLINE_REASON_SYSTEM),
        outcome_codes=outcome_codes,
        outcome_text=outcome_text,
    )


def task_update(
    task_json: dict[str, Any],
    *,
    status: str,
    reason_code: str | None,
    reason_text: str | None = None,
    at: datetime,
) -> dict[str, Any]:
    """The partner's Task (as it read it) moved to `status` by the hub, with `statusReason`
    coded in `STATUS_REASON_SYSTEM`: the document to PUT back. Everything else the partner
    wrote is kept as it was. ValueError when the input is no valid Task, the status is no R4
    code, or the status needs a reason (`REASONED_STATUSES`) and none is given."""
    parse_task(task_json)
    if status not in TASK_STATUSES:
        raise ValueError("Unknown Task status")
    if status in REASONED_STATUSES and not reason_code:
        raise ValueError("A Task in this status carries its reason")
    updated = json.loads(json.dumps(task_json))
    updated["status"] = status
    updated.pop("statusReason", None)
    if reason_code:
        coding = Coding(system=STATUS_REASON_SYSTEM, code=reason_code, display=reason_text)
        concept = CodeableConcept(coding=[coding], text=reason_text)
        updated["statusReason"] = concept.model_dump(mode="json", exclude_none=True)
    updated["lastModified"] = instant(at)
    try:
        Task.model_validate(updated)
    except ValidationError:
        raise ValueError("Invalid FHIR R4 Task") from None
    return updated


def task_notice(task_json: dict[str, Any], *, code: str, note: str, at: datetime) -> dict[str, Any]:
    """The partner's Task (as it read it) told something the hub does not close it for (a
    consent withdrawn under a referral already acknowledged): its status left as it is,
    `businessStatus` given a coding `code` in `STATUS_REASON_SYSTEM` (beside the partner's
    own codings), `note` appended (words without personal data), `lastModified` set. The
    document to PUT back; ValueError when the input is no valid Task."""
    parse_task(task_json)
    updated = json.loads(json.dumps(task_json))
    business = updated.get("businessStatus")
    business = dict(business) if isinstance(business, dict) else {}
    codings = [c for c in business.get("coding") or [] if isinstance(c, dict)]
    if not has_notice(updated, code):
        codings.append({"system": STATUS_REASON_SYSTEM, "code": code})
    business["coding"] = codings
    business.setdefault("text", note.split(".", 1)[0])  # "Consent withdrawn"
    updated["businessStatus"] = business
    notes = [n for n in updated.get("note") or [] if isinstance(n, dict)]
    if not any(n.get("text") == note for n in notes):
        notes.append({"time": instant(at), "text": note})
    updated["note"] = notes
    updated["lastModified"] = instant(at)
    try:
        Task.model_validate(updated)
    except ValidationError:
        raise ValueError("Invalid FHIR R4 Task") from None
    return updated


def has_notice(task_json: dict[str, Any], code: str) -> bool:
    """The Task's `businessStatus` already carries the hub's `code`."""
    business = task_json.get("businessStatus")
    codings = business.get("coding") if isinstance(business, dict) else None
    return any(
        isinstance(c, dict) and c.get("system") == STATUS_REASON_SYSTEM and c.get("code") == code
        for c in codings or []
    )


def _task_id(location: str) -> str | None:
    segments = urlsplit(location).path.strip("/").split("/")
    for i in range(len(segments) - 2, -1, -1):
        if segments[i] == "Task" and _FHIR_ID.fullmatch(segments[i + 1]):
            return segments[i + 1]
    return None


def _reason(concept: CodeableConcept | None) -> str | None:
    if concept is None:
        return None
    if concept.text:
        return concept.text
    for coding in concept.coding or []:
        if coding.display or coding.code:
            return coding.display or coding.code
    return None


def _codes(concept: CodeableConcept | None, system: str) -> tuple[str, ...]:
    """The codes of `concept` in `system` (or in no system: a partner may leave it out)."""
    if concept is None:
        return ()
    return tuple(
        c.code for c in concept.coding or [] if c.code and (c.system is None or c.system == system)
    )


def _outcome(task: Task) -> tuple[tuple[str, ...], str | None]:
    """The outcome a partner gave in `Task.output`: the output typed `outcome`
    (`TASK_OUTPUT_SYSTEM`), or any whose value is coded in `OUTCOME_SYSTEM`; its codes and
    its words (the concept's text or a string value)."""
    for output in task.output or []:
        typed = any(
            c.system == TASK_OUTPUT_SYSTEM and c.code == OUTCOME_OUTPUT
            for c in output.type.coding or []
        )
        value = output.valueCodeableConcept
        coded = value is not None and any(c.system == OUTCOME_SYSTEM for c in value.coding or [])
        if not (typed or coded):
            continue
        codes = _codes(value, OUTCOME_SYSTEM)
        text = (value.text if value is not None else None) or output.valueString
        return codes, text or None
    return (), None


def instant(moment: datetime) -> str:
    """FHIR instant in UTC; a naive value (as SQLite returns) is taken to be UTC."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat().replace("+00:00", "Z")

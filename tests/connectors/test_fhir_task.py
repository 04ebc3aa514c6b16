"""What the hub reads of a partner's Task (status, reason and its codes, the outcome in its
output) and the Task it writes back when it closes a referral (`hub.connectors.fhir_task`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fhir.resources.R4B.task import Task

from hub.connectors.fhir_task import (
    DECLINE_REASON_SYSTEM,
    OUTCOME_SYSTEM,
    REASONED_STATUSES,
    STATUS_REASON_SYSTEM,
    TASK_OUTPUT_SYSTEM,
    TaskState,
    parse_task,
    task_reference_from_response,
    task_update,
)

SENT_AT = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)


def transaction_response(*locations: str) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [{"response": {"status": "201 Created", "location": loc}} for loc in locations],
    }


@pytest.mark.parametrize(
    ("locations", "expected"),
    [
        (("Organization/1/_history/1", "Task/42/_history/1"), "Task/42"),
        (("Task/abc-9",), "Task/abc-9"),
        (("https://partner.example/fhir/Task/7/_history/3",), "Task/7"),
        (("http://partner.example/base/R4/Task/x.1",), "Task/x.1"),
        (("Patient/1/_history/1", "ServiceRequest/2/_history/1"), None),
        (("Task/../../admin",), None),
    ],
)
def test_task_reference_from_response(locations: tuple[str, ...], expected: str | None) -> None:
    assert task_reference_from_response(transaction_response(*locations)) == expected


@pytest.mark.parametrize(
    "response",
    [
        {"resourceType": "OperationOutcome", "issue": []},
        {"resourceType": "Bundle", "type": "transaction-response", "entry": "not a list"},
        {"resourceType": "Bundle", "type": "transaction-response"},
    ],
)
def test_task_reference_from_unusable_response_is_none(response: dict[str, Any]) -> None:
    assert task_reference_from_response(response) is None


def test_parse_task_reads_status_and_reason() -> None:
    task = {"resourceType": "Task", "status": "accepted", "intent": "order"}
    assert parse_task(task) == TaskState(status="accepted", reason=None)

    rejected = {**task, "status": "rejected", "statusReason": {"text": "No capacity"}}
    assert parse_task(rejected) == TaskState("rejected", "No capacity")

    coded = {
        **task,
        "status": "rejected",
        "statusReason": {"coding": [{"system": "urn:x", "code": "full", "display": "Full"}]},
    }
    assert parse_task(coded) == TaskState("rejected", "Full")
    code_only = {**coded, "statusReason": {"coding": [{"system": "urn:x", "code": "full"}]}}
    assert parse_task(code_only).reason == "full"


def test_parse_task_reads_the_decline_reason_codes() -> None:
    task = {
        "resourceType": "Task",
        "intent": "order",
        "status": "rejected",
        "statusReason": {
            "coding": [
                {"system": "urn:partner:own", "code": "full"},
                {"system": DECLINE_REASON_SYSTEM, "code": "no_capacity", "display": "No room"},
                {"code": "other"},
            ],
            "text": "Full until March",
        },
    }
    state = parse_task(task)
    # another system's codes are not the hub's; a code without a system may be
    assert state.reason_codes == ("no_capacity", "other")
    assert state.reason == "Full until March"


@pytest.mark.parametrize(
    ("output", "codes", "text"),
    [
        (
            {
                "type": {"coding": [{"system": TASK_OUTPUT_SYSTEM, "code": "outcome"}]},
                "valueCodeableConcept": {
                    "coding": [{"system": OUTCOME_SYSTEM, "code": "service_provided"}],
                    "text": "Six sessions held",
                },
            },
            ("service_provided",),
            "Six sessions held",
        ),
        (  # typed otherwise, but coded in the outcome system
            {
                "type": {"text": "result"},
                "valueCodeableConcept": {
                    "coding": [{"system": OUTCOME_SYSTEM, "code": "referred_on"}]
                },
            },
            ("referred_on",),
            None,
        ),
        (  # an outcome in words only
            {
                "type": {"coding": [{"system": TASK_OUTPUT_SYSTEM, "code": "outcome"}]},
                "valueString": "Seen twice",
            },
            (),
            "Seen twice",
        ),
        (  # an output that is no outcome
            {"type": {"text": "report"}, "valueString": "attached"},
            (),
            None,
        ),
    ],
)
def test_parse_task_reads_the_outcome_in_its_output(
    output: dict[str, Any], codes: tuple[str, ...], text: str | None
) -> None:
    task = {"resourceType": "Task", "intent": "order", "status": "completed", "output": [output]}
    state = parse_task(task)
    assert (state.outcome_codes, state.outcome_text) == (codes, text)


PARTNER_TASK = {
    "resourceType": "Task",
    "id": "17",
    "meta": {"versionId": "3"},
    "intent": "order",
    "status": "in-progress",
    "note": [{"text": "the partner's own note"}],
}


@pytest.mark.parametrize("status", sorted(REASONED_STATUSES))
def test_task_update_carries_the_coded_reason(status: str) -> None:
    updated = task_update(
        PARTNER_TASK,
        status=status,
        reason_code="consent_withdrawn",
        reason_text="The beneficiary withdrew consent",
        at=SENT_AT,
    )
    Task.model_validate(updated)
    assert updated["status"] == status
    assert updated["statusReason"] == {
        "coding": [
            {
                "system": STATUS_REASON_SYSTEM,
                "code": "consent_withdrawn",
                "display": "The beneficiary withdrew consent",
            }
        ],
        "text": "The beneficiary withdrew consent",
    }
    assert updated["lastModified"] == "2025-03-04T09:30:00Z"
    # what the partner wrote stays, and its own document is not changed
    assert updated["note"] == PARTNER_TASK["note"] and updated["id"] == "17"
    assert PARTNER_TASK["status"] == "in-progress" and "statusReason" not in PARTNER_TASK


@pytest.mark.parametrize("status", sorted(REASONED_STATUSES))
def test_task_update_refuses_a_reasoned_status_without_reason(status: str) -> None:
    with pytest.raises(ValueError, match="reason"):
        task_update(PARTNER_TASK, status=status, reason_code=None, at=SENT_AT)


def test_task_update_refuses_an_unknown_status_or_an_invalid_task() -> None:
    with pytest.raises(ValueError):
        task_update(PARTNER_TASK, status="done", reason_code="x", at=SENT_AT)
    with pytest.raises(ValueError):
        task_update(
            {**PARTNER_TASK, "for": "Aïcha"}, status="cancelled", reason_code="x", at=SENT_AT
        )


@pytest.mark.parametrize(
    "task",
    [
        {"resourceType": "ServiceRequest", "status": "active", "intent": "order"},
        {"resourceType": "Task", "intent": "order"},  # no status
        {"resourceType": "Task", "status": "done", "intent": "order"},  # not an R4 code
        {"resourceType": "Task", "status": "accepted", "intent": "order", "for": "Aïcha"},
        ["not", "a", "resource"],
    ],
)
def test_parse_task_refuses_what_is_not_a_valid_task(task: Any) -> None:
    with pytest.raises(ValueError) as err:
        parse_task(task)
    assert "Aïcha" not in str(err.value)  # the input is never quoted back

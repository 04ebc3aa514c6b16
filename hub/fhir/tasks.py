"""Tasks: a party's move by updating Task.status (the search is `hub.fhir.listing`).

A move is the same `service.party_move` as `POST /v1/referrals/{id}/<action>`, so the
lifecycle table decides (409 `invalid_transition` for an illegal one) and the other party is
told. Paging is by `meta.lastUpdated` (the indexed `updated_at`), oldest first: a client
polling with `_lastUpdated=gt<last seen>` gets every change once.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.task import Task
from sqlalchemy.orm import Session

from hub.api.problems import Conflict, Problem, Unprocessable
from hub.auth.tokens import Principal
from hub.crypto.keyring import KeyEncryptionKeys
from hub.fhir import codes
from hub.fhir.parsing import parse
from hub.policy.loader import Policy
from hub.referrals import service
from hub.referrals.lifecycle import FHIR_TASK_STATUS
from hub.referrals.models import Referral

# the party's move that takes a referral to each Task status (one move per update)
ACTION_FOR_STATUS = {
    "received": "acknowledge",
    "accepted": "accept",
    "rejected": "decline",
    "in-progress": "start",
    "completed": "complete",
    "cancelled": "cancel",
}


def _said(task: Task) -> tuple[str | None, str | None]:
    """The code and the words of the Task's statusReason."""
    reason = task.statusReason
    if reason is None:
        return None, None
    code = next(
        (c.code for c in reason.coding or () if c.system == codes.DECLINE_REASON_SYSTEM), None
    )
    return code, reason.text


def _outcome(task: Task) -> tuple[str | None, str | None]:
    """The code and the words of the Task's outcome output."""
    for output in task.output or ():
        if not any(
            c.system == codes.OUTPUT_TYPE_SYSTEM and c.code == codes.OUTCOME_OUTPUT
            for c in output.type.coding or ()
        ):
            continue
        concept = output.valueCodeableConcept
        if concept is not None:
            code = next(
                (c.code for c in concept.coding or () if c.system == codes.OUTCOME_SYSTEM), None
            )
            return code, concept.text
        return None, output.valueString
    return None, None


def update(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    referral: Referral,
    principal: Principal,
    body: dict[str, Any],
) -> Referral:
    """Move the referral to the status the updated Task has (resolve and lock it first).

    Only `status` (with `statusReason` for a decline or a cancellation, `output` for a
    completion) is read; the rest of the Task is the hub's and is left as it is. The same
    status is no move (an update sent twice changes nothing)."""
    task = parse(Task, body)
    if task.id != referral.id:
        raise Problem(400, "id_mismatch", "The Task's id must be the id in the URL")
    if task.status not in codes.TASK_STATUSES:
        raise Unprocessable(
            "unknown_value",
            "Not a Task status",
            field="status",
            allowed=sorted(codes.TASK_STATUSES),
        )
    if task.status == FHIR_TASK_STATUS[referral.status]:
        return referral
    action = ACTION_FOR_STATUS.get(task.status)
    if action is None:
        raise Conflict(
            "invalid_transition",
            "A party cannot move a referral to this Task status",
            "Task.status may become received, accepted, rejected, in-progress, completed "
            "(the recipient) or cancelled (the sender), one step at a time.",
        )
    code, text = _outcome(task) if action == "complete" else _said(task)
    service.party_move(
        db=db,
        keyring=keyring,
        referral=referral,
        action=action,
        actor=principal.actor,
        organization_id=principal.organization_id,
        text=text,
        code=code if action in service.ANSWER_CODES else None,
        policy=policy,
    )
    return referral

"""Tasks: the recipient's search of its referrals, and a party's move by updating Task.status.

The search's tenant condition is the referrals' own access rule (`service.visible_to`), in the
query; a move is the same `service.party_move` as `POST /v1/referrals/{id}/<action>`, so the
lifecycle table decides (409 `invalid_transition` for an illegal one) and the other party is
told. Paging is by `meta.lastUpdated` (the indexed `updated_at`), oldest first: a client
polling with `_lastUpdated=gt<last seen>` gets every change once.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fhir.resources.R4B.task import Task
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from hub.api.problems import Conflict, Problem, Unprocessable
from hub.auth.tokens import Principal
from hub.crypto.keyring import KeyEncryptionKeys
from hub.fhir import codes, search
from hub.fhir.parsing import parse
from hub.policy.loader import Policy
from hub.referrals import service
from hub.referrals.lifecycle import FHIR_TASK_STATUS
from hub.referrals.models import Referral

SEARCH_PARAMS = ("owner", "requester", "status", "_lastUpdated", "_id")
# the party's move that takes a referral to each Task status (one move per update)
ACTION_FOR_STATUS = {
    "received": "acknowledge",
    "accepted": "accept",
    "rejected": "decline",
    "in-progress": "start",
    "completed": "complete",
    "cancelled": "cancel",
}
# the hub's statuses behind each Task status
STATUSES_FOR_TASK: dict[str, list[str]] = {}
for _status, _task_status in FHIR_TASK_STATUS.items():
    STATUSES_FOR_TASK.setdefault(_task_status, []).append(_status)

_COMPARE = {
    "ge": lambda col, at: col >= at,
    "gt": lambda col, at: col > at,
    "le": lambda col, at: col <= at,
    "lt": lambda col, at: col < at,
    "eq": lambda col, at: col == at,
}


def find(
    *, db: Session, request: Request, organization_id: str
) -> tuple[list[Referral], str | None]:
    """The caller's referrals (sent, or received once sent) matching the search."""
    search.check_params(request, SEARCH_PARAMS)
    params = request.query_params
    query = select(Referral).where(service.visible_to(organization_id))
    for value in params.getlist("owner"):
        query = query.where(
            Referral.to_organization_id == search.reference_id(value, "Organization", "owner")
        )
    for value in params.getlist("requester"):
        query = query.where(
            Referral.from_organization_id == search.reference_id(value, "Organization", "requester")
        )
    for value in params.getlist("_id"):
        query = query.where(Referral.id.in_(value.split(",")))
    for value in params.getlist("status"):
        wanted = value.split(",")
        if any(s not in STATUSES_FOR_TASK for s in wanted):
            raise Unprocessable(
                "unknown_value",
                "Not a Task status the hub uses",
                field="status",
                allowed=sorted(STATUSES_FOR_TASK),
            )
        query = query.where(
            Referral.status.in_([hub for s in wanted for hub in STATUSES_FOR_TASK[s]])
        )
    for prefix, at in search.date_bounds(params.getlist("_lastUpdated"), "_lastUpdated"):
        # naive UTC in the database on SQLite: compared as the same instant
        query = query.where(_COMPARE[prefix](Referral.updated_at, at))
    after = search.cursor(request)
    if after is not None:
        at, row_id = after
        query = query.where(
            or_(Referral.updated_at > at, and_(Referral.updated_at == at, Referral.id > row_id))
        )
    limit = search.count(request)
    rows = list(db.scalars(query.order_by(Referral.updated_at, Referral.id).limit(limit + 1)))
    last = rows[limit - 1] if len(rows) > limit else None
    return rows[:limit], search.next_cursor(last.updated_at, last.id) if last else None


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

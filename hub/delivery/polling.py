"""Reading back the Tasks pushed to partners' FHIR servers, and moving the referrals.

A partner on the `fhir` channel answers by updating the Task the hub created on its server;
the scheduler reads each open one (oldest read first) and makes the recipient's moves that
bring the referral to the Task's status (`hub.delivery.fhir_status`: received →
acknowledged, accepted, rejected → declined, in-progress, completed), with the partner's coded
answer where it gave one the policy knows (`answer`: a rejected Task's statusReason code as the
decline's `reason_code`, a completed Task's outcome in `Task.output` as its `outcome_code`).
Each Task is read outside any transaction and applied in a short one of its own, so one slow
partner delays nobody's writes; a partner that cannot be read is tried again at the next pass.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import select

from hub.clock import utcnow
from hub.connectors import channels, fhir
from hub.connectors.fhir_task import TaskState
from hub.connectors.http import DeliveryFailed, OutboundClient
from hub.connectors.schemas import ChannelKind
from hub.db.session import transaction
from hub.delivery import fhir_status, service
from hub.delivery.models import Delivery
from hub.delivery.schemas import DeliveryStatus
from hub.policy.loader import Policy
from hub.referrals import service as referrals
from hub.referrals.lifecycle import FINAL
from hub.referrals.models import Referral

if TYPE_CHECKING:
    from hub.services import Services

log = logging.getLogger("hub.connectors")

POLL_BATCH = 200
ACTOR = "connector:fhir"
# the lifecycle asks for words with these moves; the partner's statusReason when it gave one
DEFAULT_TEXT = {
    "decline": "Rejected on the partner's FHIR server",
    "complete": "Completed on the partner's FHIR server",
}
# where a partner's Task carries the code of each answer
CODES_FROM: dict[str, Callable[[TaskState], tuple[str, ...]]] = {
    "decline": lambda state: state.reason_codes,
    "complete": lambda state: state.outcome_codes,
}


def due(runtime: Services, limit: int = POLL_BATCH) -> list[tuple[str, str, str]]:
    """(delivery id, recipient organisation, Task reference) of the open FHIR deliveries."""
    with transaction(runtime.sessions) as db:
        rows = db.execute(
            select(Delivery.id, Delivery.recipient_organization_id, Delivery.remote_ref)
            .join(Referral, Referral.id == Delivery.referral_id)
            .where(
                Delivery.channel == ChannelKind.fhir.value,
                Delivery.status == DeliveryStatus.delivered.value,
                Delivery.remote_ref.is_not(None),
                Referral.status.not_in(sorted(FINAL)),
            )
            .order_by(Delivery.polled_at.asc().nulls_first(), Delivery.id)
            .limit(limit)
        ).all()
    return [(row[0], row[1], str(row[2])) for row in rows]


def apply(runtime: Services, delivery_id: str, state: TaskState) -> list[str]:
    """Make the moves the partner's Task status implies; returns the actions made."""
    with transaction(runtime.sessions) as db:
        delivery = service.locked(db, delivery_id)
        if delivery is None:
            return []
        delivery.remote_status = state.status[:32]
        delivery.polled_at = utcnow()
        referral = db.scalar(
            select(Referral).where(Referral.id == delivery.referral_id).with_for_update()
        )
        if referral is None:
            return []
        actions = fhir_status.actions_to_reach(referral.status, state.status)
        for action in actions:
            code, text = answer(runtime.policy, action, state)
            if code is None and action in CODES_FROM and CODES_FROM[action](state):
                log.warning(
                    "a partner's Task gave a code outside the policy's vocabulary",
                    extra={"delivery_id": delivery_id, "code": "unknown_value"},
                )
            referrals.party_move(
                db=db,
                keyring=runtime.keyring,
                referral=referral,
                action=action,
                actor=ACTOR,
                organization_id=referral.to_organization_id,
                text=text,
                code=code,
                policy=runtime.policy,
            )
        return actions


def answer(policy: Policy, action: str, state: TaskState) -> tuple[str | None, str | None]:
    """The recipient's coded answer and its words, for a decline or a completion read from
    its Task (nothing for the other moves).

    The code is the first the partner gave that the policy's vocabulary knows (`decline_reasons`
    from `statusReason`, `outcomes` from `Task.output`); a code it does not know is left out
    and the answer keeps its words only, as `/v1` would refuse it. Words: the outcome's text,
    else the statusReason's (unless that is only the code), else `DEFAULT_TEXT` when there is
    no code to stand for them.
    """
    if action not in CODES_FROM:
        return None, None
    vocabulary = referrals.ANSWER_CODES[action][0]
    known = set(getattr(policy.vocabularies, vocabulary))
    code = next((c for c in CODES_FROM[action](state) if c in known), None)
    words = state.outcome_text if action == "complete" else None
    if not words and state.reason and state.reason not in CODES_FROM[action](state):
        words = state.reason
    if not words and code is None:
        words = DEFAULT_TEXT[action]
    return code, words


def poll_due(runtime: Services, limit: int = POLL_BATCH) -> int:
    """One pass over the open FHIR deliveries; returns how many referrals moved."""
    moved = 0
    rows = due(runtime, limit)
    if not rows:
        return 0
    with OutboundClient.from_settings(runtime.settings) as client:
        for delivery_id, organization_id, remote_ref in rows:
            with transaction(runtime.sessions) as db:
                channel = channels.open_channel(
                    db=db, keyring=runtime.keyring, organization_id=organization_id
                )
            if channel.kind is not ChannelKind.fhir or channel.url is None:
                continue  # the partner left FHIR: its Tasks are no longer read
            try:
                state = fhir.read_task(channel, remote_ref, client)
            except (DeliveryFailed, ValueError) as exc:
                code = exc.code if isinstance(exc, DeliveryFailed) else "invalid_task"
                log.warning(
                    "could not read a partner's Task",
                    extra={"delivery_id": delivery_id, "code": code},
                )
                continue
            if apply(runtime, delivery_id, state):
                moved += 1
    return moved

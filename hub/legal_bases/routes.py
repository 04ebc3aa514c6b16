"""`/v1/person-notices`: what the office owes the people whose data left on a legal basis other
than consent. The owning office's only: another organisation's notice is 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from hub.access.deps import Principal, require_scope
from hub.api.deps import DbSession
from hub.api.idempotency import Answer, IdempotencyKey, idempotent
from hub.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from hub.legal_bases import notices
from hub.legal_bases.models import PersonNotice
from hub.legal_bases.schemas import PersonNoticePage, PersonNoticeRead, Told

router = APIRouter(prefix="/v1/person-notices", tags=["legal bases"])

Reader = Annotated[Principal, Depends(require_scope("cases:read"))]
Writer = Annotated[Principal, Depends(require_scope("cases:write"))]


def _to_read(notice_id: str, principal: Reader, db: DbSession) -> PersonNotice:
    return notices.get(db=db, notice_id=notice_id, organization_id=principal.organization_id)


def _to_write(notice_id: str, principal: Writer, db: DbSession) -> PersonNotice:
    return notices.get(db=db, notice_id=notice_id, organization_id=principal.organization_id)


NoticeToRead = Annotated[PersonNotice, Depends(_to_read)]
NoticeToWrite = Annotated[PersonNotice, Depends(_to_write)]


@router.get("", response_model=PersonNoticePage)
def list_notices(
    principal: Reader,
    db: DbSession,
    status: notices.Status | None = None,
    case_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> PersonNoticePage:
    """The office's notices, newest first: `status=owed` for the people still to be told."""
    items, cursor_next = notices.get_page(
        db=db,
        organization_id=principal.organization_id,
        status=status,
        case_id=case_id,
        cursor=cursor,
        limit=limit,
    )
    return PersonNoticePage(items=items, next=cursor_next)


@router.get("/{notice_id}", response_model=PersonNoticeRead)
def read_notice(principal: Reader, notice: NoticeToRead) -> PersonNoticeRead:
    return notices.read(notice)


@router.post("/{notice_id}/told", response_model=PersonNoticeRead)
@idempotent
def record_told(
    principal: Writer,
    notice: NoticeToWrite,
    body: Told,
    db: DbSession,
    idem: IdempotencyKey,
) -> Answer:
    """Record that the person (or their caregiver) was told of the disclosure: the reminders
    stop. Once only (409 `already_told`)."""
    notices.record_told(db=db, notice=notice, told=body, actor=principal.actor)
    return Answer(200, notices.read(notice))

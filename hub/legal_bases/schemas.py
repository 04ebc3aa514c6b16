"""The news owed to a person after a disclosure on a legal basis: ids, codes and times."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict


class ToldWhom(StrEnum):
    subject = "subject"
    caregiver = "caregiver"


class ToldHow(StrEnum):
    in_person = "in_person"
    phone = "phone"
    message = "message"
    other = "other"


class Told(BaseModel):
    """Who was told of the disclosure, how, and when (now when not given)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"told_whom": "caregiver", "told_how": "in_person"}]},
    )

    told_whom: ToldWhom
    told_how: ToldHow
    told_at: AwareDatetime | None = None


class PersonNoticeRead(BaseModel):
    id: str
    case_id: str
    # the request whose disclosure it is owed for: a referral or a case transfer (one is null)
    referral_id: str | None
    transfer_id: str | None
    recipient_organization_id: str
    legal_basis: str
    # who asked for the disclosure
    requested_by: str
    disclosed_at: datetime
    # owed | told
    status: str
    # the next reminder while the news is owed
    remind_at: datetime | None
    reminders: int
    told_at: datetime | None
    told_whom: str | None
    told_how: str | None
    recorded_by: str | None
    recorded_at: datetime | None


class PersonNoticePage(BaseModel):
    items: list[PersonNoticeRead]
    next: str | None

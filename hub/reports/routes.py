"""GET /v1/reports/referrals: counts and times of the caller's referrals and those of the
offices below it, without personal data; small cells shown as "<5"."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from hub.access.deps import Principal, require_scope
from hub.api.deps import CurrentRuntime, DbSession
from hub.clock import utcnow
from hub.reports import service
from hub.reports.schemas import ReferralReport

router = APIRouter(prefix="/v1/reports", tags=["reports"])

Reporter = Annotated[Principal, Depends(require_scope("reports:read"))]


@router.get("/referrals", response_model=ReferralReport, response_model_by_alias=True)
def referral_report(
    principal: Reporter,
    db: DbSession,
    runtime: CurrentRuntime,
    start: Annotated[
        date | None,
        Query(alias="from", description="first day (YYYY-MM-DD); by default the month's first"),
    ] = None,
    end: Annotated[
        date | None, Query(alias="to", description="last day, included; by default today")
    ] = None,
    group_by: Annotated[
        str | None,
        Query(
            max_length=200,
            description="comma-separated: month, service_type, partner, sender, status, "
            "urgency, sex, age_band, area",
        ),
    ] = None,
) -> ReferralReport:
    """Referrals made in the period by the caller's organisation or an office below it, or
    sent to one of them: counts by the `group_by` dimensions, hours from sending to
    acknowledgement, acceptance and completion (median, 90th percentile), how they ended
    (status and reason code), and their reviews. Computed from codes and times only; a count
    under the policy's threshold is `"<5"`, and one more cell of its line is hidden so that a
    total cannot give it away."""
    today = utcnow().date()
    return service.report(
        db=db,
        policy=runtime.policy,
        organization_id=principal.organization_id,
        start=start or today.replace(day=1),
        end=end or today,
        group_by=service.parse_group_by(group_by),
    )

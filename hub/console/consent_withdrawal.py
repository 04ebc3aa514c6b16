"""Withdrawing a consent at the console: first what it will do, then the confirmation.

The page before confirming is `hub.consent.withdrawal.preview` — the referrals and transfers
the withdrawal cancels and the recipients told, by the rules the withdrawal's listeners follow
(`GET /v1/consents/{id}/withdrawal-preview` answers the same). Confirming is
`hub.consent.service.withdraw`, the function `POST /v1/consents/{id}/withdraw` calls, with how
the person withdrew and, if they gave one, their reason (a person owes none).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.cases import service as cases
from hub.consent import service as consents
from hub.consent import withdrawal
from hub.consent.models import Consent
from hub.consent.schemas import WithdrawalCreate
from hub.console.errors import ConsoleRoute
from hub.console.labels import N_
from hub.console.pages import CheckedForm, organization_names, page, text_field
from hub.console.people import CurrentPerson
from hub.referrals.models import Referral

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

SCOPE = "consents:write"
METHODS = ("written", "verbal", "thumbprint", "electronic")
REASON_MAX = 2000
CHOOSE_METHOD = N_("Choose how the person withdrew their consent.")
REASON_TOO_LONG = N_("The reason is too long (2,000 characters at most).")


def _get(db: DbSession, person: CurrentPerson, consent_id: str) -> Consent:
    return consents.get(
        db=db, consent_id=consent_id[:32], organization_id=person.principal.organization_id
    )


def _check_page(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    consent: Consent,
    *,
    method: str = "",
    reason: str = "",
    errors: list[tuple[str, str]] | None = None,
) -> Response:
    preview = withdrawal.preview(db=db, consent=consent)
    referrals = preview.of_kind("referral")
    # the service each referral is for, in the words of the page (the rule gives ids and states)
    services = {
        r.id: r.service_type
        for r in db.scalars(select(Referral).where(Referral.id.in_([e.id for e in referrals])))
    }
    named = [e.to_organization_id for e in preview.effects]
    return page(
        request,
        person,
        "consent_withdraw.html",
        db=db,
        status_code=400 if errors else 200,
        consent=consent,
        reference=cases.reference(db=db, case_id=consent.case_id),
        referrals=referrals,
        transfers=preview.of_kind("transfer"),
        recipients_told=preview.recipients_told,
        services=services,
        names=organization_names(db, named),
        methods=METHODS,
        method=method,
        reason=reason,
        reason_max=REASON_MAX,
        errors=errors or [],
        error_for={anchor.split("-", 1)[0]: message for anchor, message in errors or []},
    )


@router.get("/console/consents/{consent_id}/withdraw")
def check_withdrawal(
    consent_id: str, request: Request, person: CurrentPerson, db: DbSession
) -> Response:
    """What the withdrawal will do, and the form that confirms it (nothing is changed yet)."""
    person.require(SCOPE)
    return _check_page(request, person, db, _get(db, person, consent_id))


@router.post("/console/consents/{consent_id}/withdraw")
def withdraw(
    consent_id: str,
    request: Request,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    person.require(SCOPE)
    consent = _get(db, person, consent_id)
    method = text_field(form, "method", max_length=16)
    reason = text_field(form, "reason", max_length=REASON_MAX + 1)
    errors: list[tuple[str, str]] = []
    if method not in METHODS:
        errors.append(("method-written", person.gettext(CHOOSE_METHOD)))
    if len(reason) > REASON_MAX:
        errors.append(("reason", person.gettext(REASON_TOO_LONG)))
    if errors:
        return _check_page(
            request, person, db, consent, method=method, reason=reason, errors=errors
        )
    consents.withdraw(
        db=db,
        keyring=runtime.keyring,
        actor=person.actor,
        consent=consent,
        data=WithdrawalCreate(method=method, reason=reason or None),  # type: ignore[arg-type]
    )
    # after a redirect, reloading the consent's page withdraws nothing again
    return RedirectResponse(f"/console/consents/{consent.id}?withdrawn=1", status_code=303)

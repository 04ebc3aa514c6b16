"""The "Refer" flow's choice of a service of the directory (`hub.console.refer`): the services
a referral may name, whether the one chosen is the recipient's, and the page that says why the
directory refuses it (full, or not taking the person) and asks the reason to refer all the same.

The rules are the directory's (`hub.service_directory.service`: `find` as GET /v1/services
answers, `check_referral` when the referral is made); this module shows and asks.
"""

from __future__ import annotations

from typing import Protocol

from fastapi import Request
from starlette.responses import Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.problems import NotFound, Problem
from hub.cases.models import Case
from hub.console.labels import N_
from hub.console.pages import page
from hub.console.people import CurrentPerson
from hub.service_directory import service as directory
from hub.service_directory.schemas import ServiceRead

NOT_THEIR_SERVICE = N_(
    "This service is not offered by the organisation you chose. Choose the organisation that "
    "offers it, or no particular service."
)
WRITE_WHY = N_("Write why the person should still be referred to this service.")
OVERRIDE_MAX = 1000
# the directory's answers that a stated reason lets through (`directory.check_referral`)
SERVICE_REFUSALS = ("service_full", "service_not_eligible")
SERVICE_LIMIT = 100


class Chosen(Protocol):
    """What the flow's pages have chosen so far (`refer_choice.Choice`)."""

    service_type: str
    service_id: str
    recipient: str
    override_reason: str
    override_asked: bool


def error_for(errors: list[tuple[str, str]] | None) -> dict[str, str]:
    """The message by field, for the message beside it (`recipient-<id>` → `recipient`); the
    summary at the top links to the first choice of each field."""
    return {anchor.split("-", 1)[0]: message for anchor, message in errors or []}


def services(
    db: DbSession, runtime: CurrentRuntime, person: CurrentPerson, service_type: str
) -> list[ServiceRead]:
    """The directory's services of this type (as GET /v1/services?type=), the office's own
    left out: the ones a referral may name."""
    found, _ = directory.find(
        db=db,
        policy=runtime.policy,
        wanted=directory.ServiceFilter(service_type=service_type),
        cursor=None,
        limit=SERVICE_LIMIT,
    )
    own = person.principal.organization_id
    return [s for s in found if s.organization_id != own]


def service_errors(
    person: CurrentPerson, db: DbSession, runtime: CurrentRuntime, choice: Chosen
) -> list[tuple[str, str]]:
    """The chosen service (optional) must be one of the list; with no recipient chosen, its
    organisation becomes the recipient, and another recipient is an error beside it."""
    errors: list[tuple[str, str]] = []
    if choice.service_id:
        named = {s.id: s for s in services(db, runtime, person, choice.service_type)}
        chosen = named.get(choice.service_id)
        if chosen is None:
            raise NotFound()  # only services of the list are offered: a forged form
        if not choice.recipient:
            # the service names its organisation
            choice.recipient = chosen.organization_id
        elif chosen.organization_id != choice.recipient:
            errors.append((f"service-{chosen.id}", person.gettext(NOT_THEIR_SERVICE)))
    return errors


def chosen_service(db: DbSession, choice: Chosen) -> ServiceRead | None:
    """The service the referral names, as the directory shows it (None: no particular one)."""
    if not choice.service_id:
        return None
    return directory.read(db=db, service=directory.get(db=db, service_id=choice.service_id))


def override_page(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    case: Case,
    choice: Chosen,
    problem: Problem,
) -> Response:
    """The directory's refusal (`service_full`, `service_not_eligible`) in plain words, and the
    reason the case worker may give to refer all the same (recorded on the referral)."""
    errors: list[tuple[str, str]] = []
    if choice.override_asked and not choice.override_reason:
        errors.append(("override_reason", person.gettext(WRITE_WHY)))
    found = chosen_service(db, choice)
    return page(
        request,
        person,
        "refer_override.html",
        db=db,
        status_code=422,
        case_id=case.id,
        reference=case.external_ref,
        choice=choice,
        service=found,
        code=problem.code,
        reasons=list(problem.extra.get("reasons", [])),
        errors=errors,
        error_for=error_for(errors),
        override_max=OVERRIDE_MAX,
    )

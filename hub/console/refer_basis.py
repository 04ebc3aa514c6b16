"""The "Refer" flow's choice to send without the person's consent, on a legal basis of the
policy (`legal_bases:`): the page that asks which basis and why, and the words of the
referrals service's refusals on its form.

The rules are the referrals service's (`sending.check_basis`, through `dry_run.dry_run` and
`sending.create`, as `POST /v1/referrals` with `legal_basis`): who may invoke a basis, that a
justification is written, what the gate releases on it. The list of bases offered is the
policy's for the person's role (`invoked_by`), so nobody is shown a choice the service would
refuse; the service still decides. This module shows and asks.
"""

from __future__ import annotations

from typing import Protocol

from fastapi import Request
from starlette.responses import Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.problems import Problem
from hub.cases.models import Case
from hub.console.labels import N_
from hub.console.pages import page
from hub.console.people import CurrentPerson
from hub.console.refer_service import error_for
from hub.policy.loader import Policy

# as `ReferralCreate.basis_justification`
JUSTIFICATION_MAX = 4000
CHOOSE_BASIS = N_("Choose the legal basis.")
WRITE_JUSTIFICATION = N_("Write why the legal basis applies: the consent officers decide on it.")
JUSTIFICATION_TOO_LONG = N_("The justification is too long (4,000 characters at most).")
NOT_YOURS = N_("Your role may not invoke this legal basis. Ask a consent officer.")
WITHHELD_BY_BASIS = N_("The legal basis does not allow it")
# the service's answers to a basis it refuses, by the field they are about
REFUSALS = {
    "basis_justification_required": ("basis_justification", WRITE_JUSTIFICATION),
    "legal_basis_not_allowed": ("legal_basis", NOT_YOURS),
    "person_required": ("legal_basis", NOT_YOURS),
    "unknown_value": ("legal_basis", CHOOSE_BASIS),
}


class Chosen(Protocol):
    """What the flow has chosen so far (`refer_choice.Choice`), with the basis."""

    service_type: str
    recipient: str
    categories: list[str]
    legal_basis: str
    basis_justification: str
    basis_asked: bool


def bases_for(policy: Policy, role: str) -> list[str]:
    """The policy's bases a person of `role` may invoke (its `invoked_by`)."""
    return [code for code, rule in policy.legal_bases.items() if role in rule.invoked_by]


def categories_of(policy: Policy, legal_basis: str) -> list[str]:
    """The most a legal basis may ever release (none chosen: nothing to say)."""
    rule = policy.legal_bases.get(legal_basis)
    return list(rule.categories) if rule is not None else []


def refused(problem: Problem, choice: Chosen) -> bool:
    """Whether the service refused the basis itself (shown on the basis's form)."""
    if not choice.basis_asked or problem.code not in REFUSALS:
        return False
    # an unknown value elsewhere (a purpose, a category) is not the basis's
    return problem.code != "unknown_value" or problem.extra.get("field") == "legal_basis"


def form_errors(person: CurrentPerson, choice: Chosen) -> list[tuple[str, str]]:
    """What the form lacks before the service is asked: a basis chosen, a justification that
    fits (the service asks for one too, and says so in its own words)."""
    errors: list[tuple[str, str]] = []
    if not choice.basis_asked:
        return errors
    if not choice.legal_basis:
        errors.append(("legal_basis", person.gettext(CHOOSE_BASIS)))
    if len(choice.basis_justification) > JUSTIFICATION_MAX:
        errors.append(("basis_justification", person.gettext(JUSTIFICATION_TOO_LONG)))
    return errors


def basis_page(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
    case: Case,
    choice: Chosen,
    *,
    errors: list[tuple[str, str]] | None = None,
    problem: Problem | None = None,
) -> Response:
    """Which basis and why, with what it means: two officers, the basis's data only, and the
    news owed to the person."""
    errors = list(errors or [])
    status = 400 if errors else 200
    if problem is not None:
        field, message = REFUSALS[problem.code]
        errors.append((field, person.gettext(message)))
        status = 403 if problem.status == 403 else 400
    policy = runtime.policy
    return page(
        request,
        person,
        "refer_basis.html",
        db=db,
        status_code=status,
        case_id=case.id,
        reference=case.external_ref,
        choice=choice,
        bases=bases_for(policy, person.user.role),
        categories={code: list(rule.categories) for code, rule in policy.legal_bases.items()},
        errors=errors,
        error_for=error_for(errors),
        justification_max=JUSTIFICATION_MAX,
    )

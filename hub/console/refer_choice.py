"""The "Refer" flow's choice so far (`hub.console.refer`): the referral as the pages have chosen
it, posted along from page to page (`_refer_choice.html`), what it asks of the referrals service,
and the errors of its recipient and data before the gate is asked.
"""

from __future__ import annotations

import hashlib
import json

from starlette.datastructures import FormData

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.problems import NotFound
from hub.cases import service as cases
from hub.cases.models import Case
from hub.console import refer_basis
from hub.console import refer_service as directory_choice
from hub.console.labels import N_
from hub.console.pages import text_field
from hub.console.people import CurrentPerson
from hub.console.refer_service import OVERRIDE_MAX
from hub.organizations import service as organizations
from hub.organizations.models import Organization
from hub.referrals.schemas import NOTE_MAX, ReferralCreate

CHOOSE_RECIPIENT = N_("Choose an organisation that offers this service.")
CHOOSE_DATA = N_("Choose at least one kind of data to share.")


def offering(db: DbSession, person: CurrentPerson, service_type: str) -> list[Organization]:
    """The directory's organisations offering the service, the office itself left out."""
    own = person.principal.organization_id
    return [o for o in organizations.get_all(db=db) if service_type in o.services and o.id != own]


class Choice:
    """The referral as chosen on the pages so far (posted along from page to page)."""

    def __init__(self, form: FormData) -> None:
        self.service_type = text_field(form, "service_type", max_length=64)
        self.recipient = text_field(form, "to_organization_id", max_length=64)
        self.categories = sorted({c for c in form.getlist("categories") if isinstance(c, str)})
        self.urgency = text_field(form, "urgency", max_length=16)
        self.note = text_field(form, "note", max_length=NOTE_MAX + 1)
        # a service of the directory (optional), and why despite its rules when it is full or
        # does not take the person
        self.service_id = text_field(form, "service_id", max_length=64)
        self.override_reason = text_field(form, "override_reason", max_length=OVERRIDE_MAX)
        self.override_asked = "override_reason" in form
        # on a legal basis instead of consent (`refer_basis`), with the requester's reasons
        self.legal_basis = text_field(form, "legal_basis", max_length=40)
        self.basis_justification = text_field(
            form, "basis_justification", max_length=refer_basis.JUSTIFICATION_MAX + 1
        )
        self.basis_asked = "legal_basis" in form

    def digest(self) -> str:
        """What identifies the referral asked for: a send key replays only for the same one."""
        fields = [
            self.service_type,
            self.recipient,
            self.categories,
            self.urgency,
            self.note,
            self.service_id,
            self.override_reason,
            self.legal_basis,
            self.basis_justification,
        ]
        return hashlib.sha256(json.dumps(fields).encode()).hexdigest()

    def request(self, case: Case, *, dry_run: bool) -> ReferralCreate:
        return ReferralCreate(
            case_id=case.id,
            to_organization_id=self.recipient,
            service_type=self.service_type,
            purpose=self.service_type,
            urgency=self.urgency or "normal",
            categories=self.categories,
            note=self.note or None,
            service_id=self.service_id or None,
            override_reason=self.override_reason or None,
            legal_basis=self.legal_basis or None,
            basis_justification=self.basis_justification or None,
            dry_run=dry_run,
        )


def choice_errors(
    person: CurrentPerson, db: DbSession, runtime: CurrentRuntime, case: Case, choice: Choice
) -> list[tuple[str, str]]:
    if choice.service_type not in runtime.policy.vocabularies.service_types:
        # only a forged form gets here: the service was chosen on the page before
        raise NotFound()
    errors = directory_choice.service_errors(person, db, runtime, choice)
    offered = offering(db, person, choice.service_type)
    if choice.recipient not in {o.id for o in offered}:
        first = offered[0].id if offered else ""
        errors.append((f"recipient-{first}", person.gettext(CHOOSE_RECIPIENT)))
    held = cases.categories(db=db, case=case)
    if not choice.categories or not set(choice.categories) <= set(held):
        first = held[0] if held else ""
        errors.append((f"category-{first}", person.gettext(CHOOSE_DATA)))
    return errors

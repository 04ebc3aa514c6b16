"""Registering a case at the console: the form (the subject, then one section per data
category of the policy), an error summary linking to each field in error, "check your
answers", then `hub.cases.service.create` — the function `POST /v1/cases` calls, with the same
body (`CaseCreate`), so a case registered here is the API's case.

The API takes any JSON object per category; the form asks for a few plain fields in each
(`FIELDS`). A category left empty is not stored. Everything typed travels in POST bodies only:
no name in an address, a title or the browser's history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.problems import Conflict, Unprocessable
from hub.cases import ages
from hub.cases import service as cases
from hub.cases.schemas import CaseCreate, Subject
from hub.clock import utcnow
from hub.console.errors import ConsoleRoute
from hub.console.labels import N_
from hub.console.pages import CheckedForm, page, text_field
from hub.console.people import CurrentPerson
from hub.policy.loader import Policy

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

SCOPE = "cases:write"
SEXES = ("female", "male", "other", "unknown")
SHORT, LONG = 200, 4000
NOTES = ("notes", N_("Notes"), LONG)
# the fields the form asks for in each data category: (key, label, longest)
FIELDS: dict[str, tuple[tuple[str, str, int], ...]] = {
    "identity": (
        ("given_name", N_("Given name"), SHORT),
        ("family_name", N_("Family name"), SHORT),
        ("nationality", N_("Nationality"), SHORT),
    ),
    "contact": (("phone", N_("Phone number"), SHORT), ("address", N_("Address"), SHORT)),
    "household": (("members", N_("Household members"), LONG),),
    "legal_status": (("status", N_("Status"), SHORT), NOTES),
    "migration_history": (("country_of_origin", N_("Country of origin"), SHORT), NOTES),
    "documents": (
        ("document_type", N_("Type of document"), SHORT),
        ("document_number", N_("Document number"), SHORT),
    ),
}
ENTER_REFERENCE = N_("Enter the case's reference.")
REFERENCE_TAKEN = N_("A case of your office already has this reference.")
ENTER_BIRTH_DATE = N_("Enter the date of birth, for example 2010-03-14.")
BIRTH_IN_FUTURE = N_("The date of birth must be in the past.")
ENTER_BIRTH_OR_AGE = N_(
    "Enter the date of birth (or only its year, or year and month), or the age the person says "
    "they are."
)
BIRTH_OR_AGE = N_("Enter the date of birth or the estimated age, not both.")
ENTER_AGE = N_("Enter the age in whole years, for example 15.")
# what `hub.cases.ages.check` refuses, as the form says it: (the field, the message)
REFUSED = {
    "birth_date_missing": ("birth_date", ENTER_BIRTH_OR_AGE),
    "birth_date_and_estimated_age": ("birth_date", BIRTH_OR_AGE),
    "birth_date_precision_mismatch": ("birth_date", ENTER_BIRTH_DATE),
    "birth_date_invalid": ("birth_date", ENTER_BIRTH_DATE),
    "birth_date_in_future": ("birth_date", BIRTH_IN_FUTURE),
    "estimated_age_out_of_range": ("estimated_age", ENTER_AGE),
}
# how precise a birth date is, by how it is written: 2010, 2010-05, 2010-03-14
PRECISIONS = {4: "year", 7: "month", 10: "day"}
CHOOSE_SEX = N_("Choose the person's sex.")
TOO_LONG = N_("This answer is too long.")


def fields_of(category: str) -> tuple[tuple[str, str, int], ...]:
    return FIELDS.get(category, (NOTES,))


def sections_of(policy: Policy, data: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The case's categories in the policy's order, each with its fields' labels and values
    (a value stored under a key the form does not know is shown under that key)."""
    out = []
    for category in policy.vocabularies.data_categories:
        if category not in data:
            continue
        known = {key: label for key, label, _ in fields_of(category)}
        # the form's order first, then what the form does not ask for (made through the API)
        order = {key: i for i, key in enumerate(known)}
        held = sorted(data[category].items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
        rows = [
            (known.get(key), key, value if isinstance(value, str) else _plain(value))
            for key, value in held
        ]
        out.append({"category": category, "rows": rows})
    return out


def _plain(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    return "" if value is None else str(value)


class _Answers:
    """What the form holds, read from a posted form (the form's, or the check page's)."""

    def __init__(self, form: FormData, categories: list[str]) -> None:
        self.external_ref = text_field(form, "external_ref", max_length=101)
        self.birth_date = text_field(form, "birth_date", max_length=10)
        self.estimated_age = text_field(form, "estimated_age", max_length=3)
        self.sex = text_field(form, "sex", max_length=16)
        self.data: dict[str, dict[str, str]] = {}
        self.too_long: list[str] = []
        for category in categories:
            for key, _, longest in fields_of(category):
                name = f"{category}.{key}"
                value = text_field(form, name, max_length=longest + 1)
                if len(value) > longest:
                    self.too_long.append(name)
                if value:
                    self.data.setdefault(category, {})[key] = value

    def subject(self) -> dict[str, Any]:
        """The API's subject for these answers: a date's precision read from how it is written;
        an age as stated today."""
        given: dict[str, Any] = {"sex": self.sex}
        if self.birth_date:
            given["birth_date"] = self.birth_date
            precision = PRECISIONS.get(len(self.birth_date), "day")
            if precision != "day":
                given["birth_date_precision"] = precision
        if self.estimated_age:
            given["estimated_age"] = int(self.estimated_age) if self.estimated_age.isdigit() else -1
        return given

    def born(self) -> Subject | None:
        """The subject as the case will record it (the check page shows the estimate)."""
        try:
            subject = Subject.model_validate(self.subject())
            ages.check(subject, utcnow().date())
        except (ValidationError, Unprocessable):
            return None
        return ages.settled(subject, utcnow().date())

    def value(self, category: str, key: str) -> str:
        return self.data.get(category, {}).get(key, "")

    def errors(
        self, person: CurrentPerson, db: DbSession, *, check_taken: bool = True
    ) -> list[tuple[str, str]]:
        gettext = person.gettext
        errors: list[tuple[str, str]] = []
        if not self.external_ref:
            errors.append(("external_ref", gettext(ENTER_REFERENCE)))
        elif len(self.external_ref) > 100:
            errors.append(("external_ref", gettext(TOO_LONG)))
        elif check_taken and cases.find_by_reference(
            db=db, organization_id=person.principal.organization_id, reference=self.external_ref
        ):
            errors.append(("external_ref", gettext(REFERENCE_TAKEN)))
        errors.extend(self._birth_errors(gettext))
        if self.sex not in SEXES:
            errors.append(("sex-female", gettext(CHOOSE_SEX)))
        errors.extend((name.replace(".", "-"), gettext(TOO_LONG)) for name in self.too_long)
        return errors

    def _birth_errors(self, gettext: Callable[[str], str]) -> list[tuple[str, str]]:
        """The one check of a birth date or an estimate (`hub.cases.ages.check`), in words."""
        given = self.subject()
        given["sex"] = "unknown"  # the sex has its own message
        try:
            ages.check(Subject.model_validate(given), utcnow().date())
        except ValidationError:
            return [("birth_date", gettext(ENTER_BIRTH_DATE))]
        except Unprocessable as problem:
            field, message = REFUSED.get(problem.code, ("birth_date", ENTER_BIRTH_DATE))
            return [(field, gettext(message))]
        return []

    def body(self) -> CaseCreate:
        """The API's body for the same case."""
        return CaseCreate.model_validate(
            {
                "external_ref": self.external_ref,
                "subject": self.subject(),
                "data": self.data,
            }
        )


def _categories(policy: Policy) -> list[str]:
    return list(policy.vocabularies.data_categories)


def _form_page(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    policy: Policy,
    answers: _Answers | None,
    errors: list[tuple[str, str]] | None = None,
) -> Response:
    return page(
        request,
        person,
        "case_new.html",
        db=db,
        status_code=400 if errors else 200,
        categories=_categories(policy),
        fields_of=fields_of,
        answers=answers,
        sexes=SEXES,
        errors=errors or [],
        # the message beside each field: `sex-female` is the sex's first radio
        error_for={_field(anchor): message for anchor, message in errors or []},
    )


def _field(anchor: str) -> str:
    return "sex" if anchor.startswith("sex-") else anchor


@router.get("/console/cases/new")
def new_case(
    request: Request, person: CurrentPerson, db: DbSession, runtime: CurrentRuntime
) -> Response:
    person.require(SCOPE)
    return _form_page(request, person, db, runtime.policy, None)


@router.post("/console/cases/new")
def check_answers(
    request: Request,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    """The form's answers: back to the form with the errors, or "check your answers"."""
    person.require(SCOPE)
    answers = _Answers(form, _categories(runtime.policy))
    errors = answers.errors(person, db)
    if errors or form.get("change") is not None:
        return _form_page(request, person, db, runtime.policy, answers, errors)
    return page(
        request,
        person,
        "case_check.html",
        db=db,
        answers=answers,
        categories=[c for c in _categories(runtime.policy) if c in answers.data],
        fields_of=fields_of,
        all_fields=[
            (f"{c}.{key}", answers.value(c, key))
            for c in _categories(runtime.policy)
            for key, _, _ in fields_of(c)
            if answers.value(c, key)
        ],
    )


@router.post("/console/cases")
def register(
    request: Request,
    person: CurrentPerson,
    form: CheckedForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    """The check page's "Register the case" (or "Change", back to the form)."""
    person.require(SCOPE)
    answers = _Answers(form, _categories(runtime.policy))
    errors = answers.errors(person, db)
    if errors or form.get("change") is not None:
        return _form_page(request, person, db, runtime.policy, answers, errors)
    try:
        body = answers.body()
        case = cases.create(
            db=db,
            keyring=runtime.keyring,
            policy=runtime.policy,
            actor=person.actor,
            owner_organization_id=person.principal.organization_id,
            external_ref=body.external_ref,
            subject=body.subject,
            data=body.data,
        )
    except (ValidationError, Conflict, Unprocessable):
        # only a forged form or a race with another registration of the same reference
        errors = answers.errors(person, db) or [("external_ref", person.gettext(REFERENCE_TAKEN))]
        return _form_page(request, person, db, runtime.policy, answers, errors)
    # after a redirect, reloading the case's page registers nothing again
    return RedirectResponse(f"/console/cases/{case.id}?registered=1", status_code=303)

"""Recording a consent at the console: every field of the consent record, in sections (who gave
it, how, what it allows, to whom, never to whom, for how long, the signed form), then
`hub.consent.service.record` with the API's own body (`ConsentCreate`), so a consent recorded
here is the API's consent, refused for the same reasons. The scanned form (or a photo taken with
the phone's camera) goes with it, checked and stored by `hub.consent.evidence`, as
`PUT /v1/consents/{id}/evidence` does.

"Record a new version" is the same form filled with the current version's answers; the new
record supersedes it. The form's mechanics (a choice made, a real date) are checked here; every
rule of the record is the service's, its refusals shown beside the field they concern.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.responses import RedirectResponse, Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.problems import NotFound, Problem, Unprocessable
from hub.cases import service as cases
from hub.cases.models import Case
from hub.clock import utcnow
from hub.consent import evidence
from hub.consent import service as consents
from hub.consent.schemas import ConsentCreate, ConsentRead
from hub.console.consent_upload import UploadForm, evidence_error
from hub.console.errors import ConsoleRoute
from hub.console.labels import N_
from hub.console.pages import organization_names, page, text_field
from hub.console.people import CurrentPerson
from hub.organizations import service as organizations
from hub.policy.loader import Policy

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

SCOPE = "consents:write"
METHODS = ("written", "verbal", "thumbprint", "electronic")
GIVERS = ("subject", "caregiver")
ASSENTS = ("yes", "no", "not_asked")
# the languages offered first (West and Central Africa, and the hub's own); any other by its code
LANGUAGES = ("fr", "en", "ar", "ha", "dje", "ff", "bm", "wo", "ln", "sw", "pt", "es", "ti", "so")
OTHER = "other"
NAME_MAX, RELATIONSHIP_MAX = 200, 100

CHOOSE_GIVER = N_("Choose who gave the consent.")
ENTER_CAREGIVER_NAME = N_("Enter the caregiver's name.")
ENTER_RELATIONSHIP = N_("Enter the caregiver's relationship to the child, for example mother.")
NO_CAREGIVER_FOR_SUBJECT = N_(
    "The person gave the consent themselves: leave the caregiver's name and relationship empty, "
    "or choose a caregiver."
)
CHOOSE_METHOD = N_("Choose how the consent was given.")
CHOOSE_LANGUAGE = N_("Choose the language the consent was explained in, or write its code.")
CHOOSE_PURPOSE = N_("Choose at least one purpose.")
CHOOSE_CATEGORY = N_("Choose at least one kind of data.")
CHOOSE_RECIPIENTS = N_("Choose at least one kind of organisation or one organisation.")
ENTER_DATE = N_("Enter a real date, for example 2026-11-28.")
END_AFTER_START = N_("The end date must be after the start date.")
NOT_IN_FUTURE = N_("The date the person consented cannot be in the future.")
TOO_LONG = N_("This answer is too long.")
ENTER_DATA_LIFE = N_("Enter a whole number from 1, or leave it empty.")
CHOOSE_DATA_LIFE_UNIT = N_("Choose days, months or years.")
DATA_LIFE_TOO_LONG = N_(
    "The policy allows a shorter time for one of these purposes: enter a shorter one."
)
DATA_LIFE_UNITS = ("day", "month", "year")


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _chosen(form: FormData, name: str) -> list[str]:
    return list(dict.fromkeys(v for v in form.getlist(name) if isinstance(v, str) and v))


class Answers:
    """What the form holds: posted, or the answers of a version being replaced."""

    def __init__(self, form: FormData | None = None) -> None:
        form = form or FormData()
        self.given_by = text_field(form, "given_by", max_length=16)
        self.caregiver_name = text_field(form, "caregiver_name", max_length=NAME_MAX + 1)
        self.caregiver_relationship = text_field(
            form, "caregiver_relationship", max_length=RELATIONSHIP_MAX + 1
        )
        self.child_assent = text_field(form, "child_assent", max_length=16)
        self.method = text_field(form, "method", max_length=16)
        self.witness = text_field(form, "witness", max_length=NAME_MAX + 1)
        self.language = text_field(form, "language", max_length=16)
        self.language_other = text_field(form, "language_other", max_length=17)
        self.interpreter = text_field(form, "interpreter", max_length=NAME_MAX + 1)
        self.purposes = _chosen(form, "purposes")
        self.categories = _chosen(form, "categories")
        self.recipient_kinds = _chosen(form, "recipient_kinds")
        self.recipient_organizations = _chosen(form, "recipient_organizations")
        self.excluded_kinds = _chosen(form, "excluded_kinds")
        self.excluded_organizations = _chosen(form, "excluded_organizations")
        self.given_on = text_field(form, "given_on", max_length=10)
        self.valid_from = text_field(form, "valid_from", max_length=10)
        self.valid_until = text_field(form, "valid_until", max_length=10)
        self.supersedes = text_field(form, "supersedes", max_length=32)
        self.data_life_value = text_field(form, "data_life_value", max_length=6)
        self.data_life_unit = text_field(form, "data_life_unit", max_length=8) or "month"

    @classmethod
    def fresh(cls) -> Answers:
        answers = cls()
        today = utcnow().date().isoformat()
        answers.given_on = answers.valid_from = today
        return answers

    @classmethod
    def of(cls, consent: ConsentRead) -> Answers:
        """The answers of a recorded version, for its next version."""
        answers = cls()
        answers.given_by = consent.given_by
        if consent.caregiver is not None:
            answers.caregiver_name = consent.caregiver.name
            answers.caregiver_relationship = consent.caregiver.relationship
        answers.child_assent = {True: "yes", False: "no", None: "not_asked"}[consent.child_assent]
        answers.method = consent.method
        answers.witness = consent.witness or ""
        if consent.language in LANGUAGES:
            answers.language = consent.language
        else:
            answers.language, answers.language_other = OTHER, consent.language
        answers.interpreter = consent.interpreter or ""
        answers.purposes = list(consent.purposes)
        answers.categories = list(consent.categories)
        answers.recipient_kinds = list(consent.recipients.kinds)
        answers.recipient_organizations = list(consent.recipients.organizations)
        answers.excluded_kinds = list(consent.exclusions.kinds)
        answers.excluded_organizations = list(consent.exclusions.organizations)
        answers.given_on = utcnow().date().isoformat()
        answers.valid_from = consent.valid_from.date().isoformat()
        answers.valid_until = consent.valid_until.date().isoformat() if consent.valid_until else ""
        answers.supersedes = consent.id
        if consent.data_life is not None:
            answers.data_life_value = str(consent.data_life.value)
            answers.data_life_unit = consent.data_life.unit
        return answers

    @property
    def language_code(self) -> str:
        return self.language_other if self.language == OTHER else self.language

    def errors(self, person: CurrentPerson, policy: Policy) -> list[tuple[str, str]]:
        """The form's own mechanics: a choice made where one is needed, real dates."""
        gettext = person.gettext
        vocab = policy.vocabularies
        errors: list[tuple[str, str]] = []
        if self.given_by not in GIVERS:
            errors.append(("given_by-subject", gettext(CHOOSE_GIVER)))
        for name, longest in (
            ("caregiver_name", NAME_MAX),
            ("caregiver_relationship", RELATIONSHIP_MAX),
            ("witness", NAME_MAX),
            ("interpreter", NAME_MAX),
        ):
            if len(getattr(self, name)) > longest:
                errors.append((name, gettext(TOO_LONG)))
        if self.method not in METHODS:
            errors.append(("method-written", gettext(CHOOSE_METHOD)))
        if not self.language_code or len(self.language_code) > 16:
            errors.append(("language", gettext(CHOOSE_LANGUAGE)))
        if not self.purposes:
            errors.append((f"purposes-{vocab.purposes[0]}", gettext(CHOOSE_PURPOSE)))
        if not self.categories:
            errors.append((f"categories-{vocab.data_categories[0]}", gettext(CHOOSE_CATEGORY)))
        for name in ("given_on", "valid_from"):
            if _day(getattr(self, name)) is None:
                errors.append((name, gettext(ENTER_DATE)))
        if self.valid_until and _day(self.valid_until) is None:
            errors.append(("valid_until", gettext(ENTER_DATE)))
        if self.data_life_value and (
            not self.data_life_value.isdigit() or int(self.data_life_value) < 1
        ):
            errors.append(("data_life_value", gettext(ENTER_DATA_LIFE)))
        if self.data_life_unit not in DATA_LIFE_UNITS:
            errors.append(("data_life_unit", gettext(CHOOSE_DATA_LIFE_UNIT)))
        return errors

    def body(self) -> ConsentCreate:
        """The API's body for the same consent (raises ValidationError as the API would)."""
        given_on, valid_from = _day(self.given_on), _day(self.valid_from)
        valid_until = _day(self.valid_until) if self.valid_until else None
        assert given_on is not None and valid_from is not None  # errors() came first
        caregiver = None
        if self.caregiver_name or self.caregiver_relationship:
            caregiver = {"name": self.caregiver_name, "relationship": self.caregiver_relationship}
        body: dict[str, Any] = {
            "given_by": self.given_by,
            "caregiver": caregiver,
            "child_assent": {"yes": True, "no": False}.get(self.child_assent),
            "method": self.method,
            "witness": self.witness or None,
            "language": self.language_code,
            "interpreter": self.interpreter or None,
            "purposes": self.purposes,
            "recipients": {
                "organizations": self.recipient_organizations,
                "kinds": self.recipient_kinds,
            },
            "categories": self.categories,
            "exclusions": {
                "organizations": self.excluded_organizations,
                "kinds": self.excluded_kinds,
            },
            "valid_from": _midnight(valid_from),
            "valid_until": _midnight(valid_until) if valid_until else None,
            # the day the person consented; today's is now (a midnight would be hours ago)
            "given_at": utcnow() if given_on == utcnow().date() else _midnight(given_on),
            "supersedes": self.supersedes or None,
            "data_life": (
                {"unit": self.data_life_unit, "value": int(self.data_life_value)}
                if self.data_life_value
                else None
            ),
        }
        return ConsentCreate.model_validate(body)


# where the API's refusals of a field are shown, and in which words
_BY_LOCATION: dict[tuple[str, ...], tuple[str, str]] = {
    ("caregiver", "name"): ("caregiver_name", ENTER_CAREGIVER_NAME),
    ("caregiver", "relationship"): ("caregiver_relationship", ENTER_RELATIONSHIP),
    ("language",): ("language", CHOOSE_LANGUAGE),
    ("witness",): ("witness", TOO_LONG),
    ("interpreter",): ("interpreter", TOO_LONG),
    ("data_life",): ("data_life_value", DATA_LIFE_TOO_LONG),
}


def _invalid(person: CurrentPerson, error: ValidationError) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for item in error.errors():
        location = tuple(str(part) for part in item["loc"])
        anchor, message = _BY_LOCATION.get(location[:2], _BY_LOCATION.get(location[:1], ("", "")))
        if not anchor:
            # any other field is one the form fills from its own choices: only a forged form
            raise Unprocessable("validation_error", "The form is not valid")
        out.append((anchor, person.gettext(message)))
    return list(dict.fromkeys(out))


def _refused(person: CurrentPerson, policy: Policy, problem: Unprocessable) -> tuple[str, str]:
    """The service's refusal of a record, beside the field it concerns."""
    field = problem.extra.get("field")
    by_code = {
        "caregiver_missing": ("caregiver_name", ENTER_CAREGIVER_NAME),
        "caregiver_unexpected": ("caregiver_name", NO_CAREGIVER_FOR_SUBJECT),
        "data_life_too_long": ("data_life_value", DATA_LIFE_TOO_LONG),
        "recipients_missing": (
            f"recipient_kinds-{policy.vocabularies.organization_kinds[0]}",
            CHOOSE_RECIPIENTS,
        ),
    }
    if problem.code in by_code:
        anchor, message = by_code[problem.code]
    elif problem.code == "invalid_dates":
        anchor, message = (
            ("given_on", NOT_IN_FUTURE) if field == "given_at" else ("valid_until", END_AFTER_START)
        )
    else:
        raise problem  # a vocabulary, an organisation or a version no form offers: forged
    return anchor, person.gettext(message)


def form_page(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    policy: Policy,
    case: Case,
    answers: Answers,
    errors: list[tuple[str, str]] | None = None,
) -> Response:
    own = person.principal.organization_id
    others = [o for o in organizations.get_all(db=db) if o.id != own]
    return page(
        request,
        person,
        "consent_new.html",
        db=db,
        status_code=400 if errors else 200,
        case=case,
        answers=answers,
        vocab=policy.vocabularies,
        organizations=others,
        names=organization_names(db, [o.id for o in others]),
        kinds={o.id: o.kind for o in others},
        givers=GIVERS,
        assents=ASSENTS,
        methods=METHODS,
        languages=LANGUAGES,
        other=OTHER,
        accept=",".join(sorted(evidence.EVIDENCE_TYPES)),
        max_megabytes=evidence.EVIDENCE_MAX_BYTES // (1024 * 1024),
        errors=errors or [],
        # the message beside each field: `purposes-shelter` is the purposes' first box
        error_for={anchor.split("-", 1)[0]: message for anchor, message in errors or []},
    )


def _case(db: DbSession, person: CurrentPerson, case_id: str) -> Case:
    case = cases.get(db=db, case_id=case_id, organization_id=person.principal.organization_id)
    if case.erased_at is not None:
        raise cases.CaseErased()
    return case


@router.get("/console/cases/{case_id}/consents/new")
def new_consent(
    case_id: str, request: Request, person: CurrentPerson, db: DbSession, runtime: CurrentRuntime
) -> Response:
    """The form; `?supersedes=<consent id>` fills it with that version's answers."""
    person.require(SCOPE)
    case = _case(db, person, case_id)
    answers = Answers.fresh()
    replaced = request.query_params.get("supersedes")
    if replaced:
        consent = consents.get(
            db=db, consent_id=replaced[:32], organization_id=person.principal.organization_id
        )
        if consent.case_id != case.id:
            raise NotFound("consent")
        answers = Answers.of(consents.read(db=db, keyring=runtime.keyring, consents=[consent])[0])
    return form_page(request, person, db, runtime.policy, case, answers)


@router.post("/console/cases/{case_id}/consents")
def record(
    case_id: str,
    request: Request,
    person: CurrentPerson,
    form: UploadForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    """Records the consent (and its scanned form, if one is attached), or shows the form again
    with what to correct; nothing is stored unless all of it is right."""
    person.require(SCOPE)
    case = _case(db, person, case_id)
    answers = Answers(form)
    errors = answers.errors(person, runtime.policy)
    upload = form.get("evidence")
    scanned: tuple[str, bytes] | None = None
    if isinstance(upload, UploadFile) and upload.filename:
        content = upload.file.read(evidence.EVIDENCE_MAX_BYTES + 1)
        try:
            scanned = (evidence.check(upload.content_type, content), content)
        except Problem as problem:
            errors.append(("evidence", evidence_error(person, problem)))
    body = None
    if not errors:
        try:
            body = answers.body()
        except ValidationError as invalid:
            errors = _invalid(person, invalid)
    if body is None or errors:
        return form_page(request, person, db, runtime.policy, case, answers, errors)
    try:
        consent = consents.record(
            db=db,
            keyring=runtime.keyring,
            policy=runtime.policy,
            actor=person.actor,
            case=case,
            data=body,
        )
    except Unprocessable as problem:
        errors = [_refused(person, runtime.policy, problem)]
        return form_page(request, person, db, runtime.policy, case, answers, errors)
    if scanned is not None:
        evidence.put_evidence(
            db=db,
            keyring=runtime.keyring,
            actor=person.actor,
            consent=consent,
            content_type=scanned[0],
            content=scanned[1],
        )
    # after a redirect, reloading the consent's page records nothing again
    return RedirectResponse(f"/console/consents/{consent.id}?recorded=1", status_code=303)

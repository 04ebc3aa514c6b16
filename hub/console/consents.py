"""A consent at the console: the record in plain words, the versions of its series with what
each one changed, and its scanned form (attach, view, download).

The consent is `hub.consent.service.get` for the person's organisation (another office's
consent is 404), read by `service.read`, as `GET /v1/consents/{id}` does; the scanned form is
stored and read by `hub.consent.evidence`, as the API's evidence routes do, each read audited.
Withdrawing is `hub.console.consent_withdrawal`.
"""

from __future__ import annotations

import itertools
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from hub.api.deps import CurrentRuntime, DbSession
from hub.api.problems import NotFound, Problem
from hub.cases import service as cases
from hub.consent import evidence
from hub.consent import service as consents
from hub.consent.models import Consent
from hub.consent.schemas import ConsentRead
from hub.console.consent_upload import UploadForm, evidence_error
from hub.console.errors import ConsoleRoute
from hub.console.labels import N_
from hub.console.pages import organization_names, page
from hub.console.people import CurrentPerson
from hub.users import directory as people

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

SCOPE = "consents:read"
WRITE = "consents:write"
CHOOSE_FILE = N_("Choose the scanned form, or take a photo of it.")
# what a new version may change, in the words of the consent's page
CHANGES: tuple[tuple[str, str], ...] = (
    ("given_by", N_("Who gave it")),
    ("caregiver", N_("Caregiver")),
    ("child_assent", N_("Child's assent")),
    ("method", N_("How it was given")),
    ("witness", N_("Witness")),
    ("language", N_("Language")),
    ("interpreter", N_("Interpreter")),
    ("purposes", N_("Purposes")),
    ("categories", N_("Data covered")),
    ("recipients", N_("Who may receive the data")),
    ("exclusions", N_("Never to")),
    ("valid_from", N_("Valid from")),
    ("valid_until", N_("Valid until")),
)


def _get(db: DbSession, person: CurrentPerson, consent_id: str) -> Consent:
    return consents.get(
        db=db, consent_id=consent_id[:32], organization_id=person.principal.organization_id
    )


def series_of(
    db: DbSession, runtime: CurrentRuntime, organization_id: str, consent: Consent
) -> list[ConsentRead]:
    """Every version of the consent's series, oldest first."""
    held, _ = consents.list_for_case(
        db=db,
        organization_id=organization_id,
        case_id=consent.case_id,
        cursor=None,
        limit=200,
    )
    versions = [c for c in held if c.series_id == consent.series_id]
    versions.sort(key=lambda c: c.version)
    return consents.read(db=db, keyring=runtime.keyring, consents=versions)


def changes(versions: list[ConsentRead]) -> dict[str, list[str]]:
    """Each version's changes from the one before it (field labels, untranslated)."""
    out: dict[str, list[str]] = {}
    for before, after in itertools.pairwise(versions):
        out[after.id] = [
            text for field, text in CHANGES if getattr(before, field) != getattr(after, field)
        ]
    return out


def consent_page(
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
    consent: Consent,
    *,
    errors: list[tuple[str, str]] | None = None,
    **flags: Any,
) -> Response:
    versions = series_of(db, runtime, person.principal.organization_id, consent)
    shown = next(v for v in versions if v.id == consent.id)
    named = [
        *shown.recipients.organizations,
        *shown.exclusions.organizations,
    ]
    return page(
        request,
        person,
        "consent.html",
        db=db,
        status_code=400 if errors else 200,
        consent=shown,
        versions=versions,
        current=versions[-1],
        changes=changes(versions),
        reference=cases.reference(db=db, case_id=consent.case_id),
        names=organization_names(db, named),
        recorder=people.describe(db=db, actor=shown.recorded_by),
        withdrawer=(
            people.describe(db=db, actor=shown.withdrawal.recorded_by) if shown.withdrawal else None
        ),
        accept=",".join(sorted(evidence.EVIDENCE_TYPES)),
        max_megabytes=evidence.EVIDENCE_MAX_BYTES // (1024 * 1024),
        errors=errors or [],
        error_for=dict(errors or []),
        **flags,
    )


@router.get("/console/consents/{consent_id}")
def consent_view(
    consent_id: str,
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    person.require(SCOPE)
    consent = _get(db, person, consent_id)
    params = request.query_params
    return consent_page(
        request,
        person,
        db,
        runtime,
        consent,
        recorded=params.get("recorded") == "1",
        withdrawn_now=params.get("withdrawn") == "1",
        attached=params.get("attached") == "1",
    )


@router.post("/console/consents/{consent_id}/evidence")
def attach(
    consent_id: str,
    request: Request,
    person: CurrentPerson,
    form: UploadForm,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    """Attach the scanned form to a version that has none (`PUT /v1/consents/{id}/evidence`)."""
    person.require(WRITE)
    consent = _get(db, person, consent_id)
    upload = form.get("evidence")
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors = [("evidence", person.gettext(CHOOSE_FILE))]
        return consent_page(request, person, db, runtime, consent, errors=errors)
    try:
        evidence.put_evidence(
            db=db,
            keyring=runtime.keyring,
            actor=person.actor,
            consent=consent,
            content_type=upload.content_type,
            content=upload.file.read(evidence.EVIDENCE_MAX_BYTES + 1),
        )
    except Problem as problem:
        errors = [("evidence", evidence_error(person, problem))]
        return consent_page(request, person, db, runtime, consent, errors=errors)
    return RedirectResponse(f"/console/consents/{consent.id}?attached=1", status_code=303)


@router.get("/console/consents/{consent_id}/evidence")
def evidence_view(
    consent_id: str,
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    """The scanned form shown inline, framed by a page that says what it is."""
    person.require(SCOPE)
    consent = _get(db, person, consent_id)
    shown = consents.read(db=db, keyring=runtime.keyring, consents=[consent])[0]
    if shown.evidence is None:
        raise NotFound("evidence")
    return page(
        request,
        person,
        "consent_evidence.html",
        db=db,
        consent=shown,
        reference=cases.reference(db=db, case_id=consent.case_id),
        src=f"/console/consents/{consent.id}/evidence/file",
        download=f"/console/consents/{consent.id}/evidence/file?download=1",
    )


@router.get("/console/consents/{consent_id}/evidence/file")
def evidence_file(
    consent_id: str,
    request: Request,
    person: CurrentPerson,
    db: DbSession,
    runtime: CurrentRuntime,
) -> Response:
    """The file itself (inline for the frame, or `?download=1`); each read is audited."""
    person.require(SCOPE)
    consent = _get(db, person, consent_id)
    stored, content = evidence.get_evidence(
        db=db, keyring=runtime.keyring, actor=person.actor, consent=consent
    )
    download = request.query_params.get("download") == "1"
    headers = {"Content-Disposition": "attachment" if download else "inline"}
    if not download:
        headers["X-Hub-Frameable"] = "1"
    return Response(content, media_type=stored.content_type, headers=headers)

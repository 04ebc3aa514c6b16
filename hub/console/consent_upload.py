"""Forms that carry a consent's scanned form (a file, or a photo from the phone's camera).

The hub refuses request bodies over `HUB_MAX_BODY_BYTES` (1 MB by default); a photo is larger.
These forms' paths are left out of that limit (`UPLOAD_PATHS`, as the API's evidence route
is) and hold their own: the evidence's limit (`hub.consent.evidence.EVIDENCE_MAX_BYTES`) and
room for the form's other fields, read from the declared length before the body is read (the
server never reads past a declared length). The file is then checked by the same function as
the API's uploads (`evidence.check`), and its refusals told in words.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from hub.api.problems import Problem
from hub.consent import evidence
from hub.console.labels import N_
from hub.console.pages import checked_form
from hub.console.people import CurrentPerson, Person

# the record form (with its file) and the consent page's "attach the scanned form"
UPLOAD_PATHS = (r"^/console/cases/[^/]+/consents$", r"^/console/consents/[^/]+/evidence$")
FIELDS_ROOM = 64 * 1024
UPLOAD_MAX_BYTES = evidence.EVIDENCE_MAX_BYTES + FIELDS_ROOM

WRONG_TYPE = N_("The file must be a PDF, or a photo or scan in JPEG, PNG or TIFF.")
TOO_LARGE = N_(
    "The file is larger than %(megabytes)s MB. Take the photo again at a lower resolution."
)
NOT_WHAT_IT_SAYS = N_("The file is damaged or is not what its name says. Choose another file.")
ALREADY_ATTACHED = N_(
    "This version already has its scanned form. To change it, record a new version."
)


async def upload_form(request: Request, person: CurrentPerson) -> FormData:
    """The posted form, within the limit and with the session's CSRF token."""
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > UPLOAD_MAX_BYTES:
        raise evidence.EvidenceTooLarge()
    return await checked_form(request, person)


UploadForm = Annotated[FormData, Depends(upload_form)]


def evidence_error(person: Person, problem: Problem) -> str:
    """The words for a refused file (any other problem is raised again)."""
    messages = {
        "unsupported_media_type": WRONG_TYPE,
        "evidence_too_large": TOO_LARGE,
        "evidence_type_mismatch": NOT_WHAT_IT_SAYS,
        "evidence_exists": ALREADY_ATTACHED,
    }
    if problem.code not in messages:
        raise problem
    megabytes = evidence.EVIDENCE_MAX_BYTES // (1024 * 1024)
    return person.gettext(messages[problem.code]) % {"megabytes": megabytes}

"""What the administrators' pages share: who may open them, and a service's refusal shown on
the form that caused it.

Only the hub operator's people hold the `admin` scope (`hub.users.roles`, the scopes' own
rule), the scope the API's administration routes declare; every page here asks for it first,
so anyone else gets the console's 403 page. The rules themselves are the services' (the same
functions the API calls): a refusal (`Problem`) comes back here as a message beside the field
it names, and whatever the service had written is rolled back to the savepoint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.orm import Session

from hub.api.problems import Problem
from hub.console.labels import N_
from hub.console.people import Person

ADMIN = "admin"
T = TypeVar("T")
FormErrors = list[tuple[str, str]]

# the services' refusals an administrator can meet, in words they can act on
MESSAGES: dict[str, str] = {
    "name_taken": N_("An organisation with this name exists already."),
    "unknown_value": N_("Choose a value from the list."),
    "invalid_parent": N_("Only an IOM office can sit under another IOM office."),
    "invalid_agreement": N_(
        "An agreement is between two different organisations, neither of them the hub's operator."
    ),
    "email_taken": N_("A person with this e-mail address exists already."),
    "weak_password": N_("The password needs at least 12 characters."),
    "invalid_email": N_("Enter an e-mail address, like name@example.org."),
    "invalid_role": N_("The hub operator's people are administrators and nothing else."),
    "invalid_scope": N_("Choose at least one permission."),
    "scope_not_allowed": N_(
        "Only the hub operator's clients administer the hub, and they do nothing else."
    ),
    "invalid_channel": N_("The channel's settings do not fit its kind."),
    "unsafe_url": N_("The hub may not connect to this address (https, a public host)."),
    "agreement_revoked": N_("This agreement is revoked already."),
    "not_dead": N_("This delivery is no longer waiting to be redelivered."),
    "invalid_transition": N_("This cannot be done in the request's present state."),
    "not_found": N_("There is nothing here, or it is not yours to see."),
}
INVALID = N_("Check this value.")


def require_admin(person: Person) -> None:
    """The console's 403 page unless the person holds the hub's `admin` scope."""
    person.require(ADMIN)


def problem_errors(
    person: Person,
    problem: Problem,
    default_field: str,
    by_code: dict[str, str] | None = None,
) -> FormErrors:
    """The refusal's message beside its field: the one `by_code` gives for its code, else the
    one the problem names, else `default_field`."""
    field = (by_code or {}).get(problem.code) or problem.extra.get("field")
    message = MESSAGES.get(problem.code, INVALID)
    return [(field if isinstance(field, str) else default_field, person.gettext(message))]


def validation_errors(
    person: Person,
    error: ValidationError,
    fields: dict[str, str],
    messages: dict[str, str] | None = None,
) -> FormErrors:
    """A request shape's refusal, each error beside the field it concerns (`fields` maps the
    shape's field names to the form's ids; `messages` gives a field id its own message)."""
    errors: FormErrors = []
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else ""
        field_id = fields.get(name, next(iter(fields.values())))
        if all(field_id != seen for seen, _ in errors):
            message = (messages or {}).get(field_id, INVALID)
            errors.append((field_id, person.gettext(message)))
    return errors


def attempt(
    db: Session,
    person: Person,
    default_field: str,
    call: Callable[[], T],
    by_code: dict[str, str] | None = None,
) -> tuple[T | None, FormErrors]:
    """Run the service call in a savepoint; its refusal becomes the form's errors."""
    try:
        with db.begin_nested():
            return call(), []
    except Problem as problem:
        return None, problem_errors(person, problem, default_field, by_code)

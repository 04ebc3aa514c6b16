"""Who may call a FHIR interaction: the same OAuth tokens as `/v1`, with SMART system scopes.

Each interaction needs its SMART v2 permission on its resource (`system/Task.u` to update a
Task); v1 and v2 scopes both grant it (`system/Task.write`, `system/Task.cruds`,
`system/*.read` for reads and searches: `hub.auth.scopes.satisfies`). A missing scope is
403 `insufficient_scope`, as in `/v1`, answered as an OperationOutcome.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends

from hub.access.deps import Principal, require_scope
from hub.api.problems import Problem
from hub.auth.scopes import fhir_scope

# FHIR interactions and the SMART v2 permission each needs
READ = "r"
SEARCH = "s"
CREATE = "c"
UPDATE = "u"


def caller(resource: str, interaction: str) -> Callable[..., Principal]:
    """The dependency giving the Principal allowed `interaction` on `resource`."""
    return require_scope(fhir_scope(resource, interaction))


# the dependencies, one per (resource, interaction) the facade serves
TaskReader = Annotated[Principal, Depends(caller("Task", READ))]
TaskSearcher = Annotated[Principal, Depends(caller("Task", SEARCH))]
TaskCreator = Annotated[Principal, Depends(caller("Task", CREATE))]
TaskUpdater = Annotated[Principal, Depends(caller("Task", UPDATE))]
ServiceRequestReader = Annotated[Principal, Depends(caller("ServiceRequest", READ))]
ServiceRequestSearcher = Annotated[Principal, Depends(caller("ServiceRequest", SEARCH))]
ServiceRequestCreator = Annotated[Principal, Depends(caller("ServiceRequest", CREATE))]
PatientReader = Annotated[Principal, Depends(caller("Patient", READ))]
ConsentReader = Annotated[Principal, Depends(caller("Consent", READ))]
OrganizationReader = Annotated[Principal, Depends(caller("Organization", READ))]
OrganizationSearcher = Annotated[Principal, Depends(caller("Organization", SEARCH))]
ServiceReader = Annotated[Principal, Depends(caller("HealthcareService", READ))]
ServiceSearcher = Annotated[Principal, Depends(caller("HealthcareService", SEARCH))]


def demand(principal: Principal, resource: str, interaction: str) -> None:
    """The same check inside a route that needs a second scope (a transaction's entries)."""
    scope = fhir_scope(resource, interaction)
    if not principal.has_scope(scope):
        raise Problem(
            403,
            "insufficient_scope",
            "The access token lacks the scope this request needs",
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
            scope=scope,
        )

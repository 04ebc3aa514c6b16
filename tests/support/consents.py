"""The body of a consent as a case worker records it (POST /v1/cases/{id}/consents), built in
one place for every test world: each world names what its consent covers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hub.clock import utcnow


def consent_body(**fields: Any) -> dict[str, Any]:
    """A written consent of the subject, in French, for psychosocial support by NGOs, covering
    identity, contact and psychosocial data, in force since yesterday (on the hub's clock) and
    without end; `fields` replace any of these or add others (`exclusions`, `valid_until`...)."""
    body: dict[str, Any] = {
        "given_by": "subject",
        "method": "written",
        "language": "fr",
        "purposes": ["psychosocial_support"],
        "recipients": {"organizations": [], "kinds": ["ngo"]},
        "categories": ["identity", "contact", "psychosocial"],
        "valid_from": (utcnow() - timedelta(days=1)).isoformat(),
    }
    body.update(fields)
    return body

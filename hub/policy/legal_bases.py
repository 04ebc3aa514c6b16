"""Legal bases beside consent (the policy's `legal_bases:`).

Consent is the hub's ordinary basis for a disclosure. Some disclosures cannot wait for it or
do not rest on it: a person's life is at risk (vital interest), a child's best-interests
determination requires it, the law obliges it. The policy lists each such basis with who may
invoke it, the categories it may ever release, the purposes it serves, how soon consent
officers decide it (two must approve it, neither the requester nor the maker), and how often the
office is reminded to tell the person (or their caregiver) once it is safe.

A basis never opens more than it lists, never skips the data sharing agreement, and never
overrides a consent that excludes the recipient: the gate (`hub.consent.gate`) applies it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.policy.data_life import Period

# the basis every disclosure without another one rests on; never a key of `legal_bases:`
CONSENT = "consent"
# the people who may invoke a basis (the roles of `hub.users.roles`, named here so that the
# policy does not depend on the people's package)
Invoker = Literal["case_worker", "consent_officer"]
Urgency = Literal["emergency", "high", "normal"]


class InformPerson(BaseModel):
    """The office owes the person (or their caregiver) the news of a disclosure made without
    their consent, once it is safe: it is reminded `first_after_days` after the disclosure and
    again every `remind_every_days` until it records that they were told (or why not yet)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    first_after_days: int = Field(default=7, ge=0, le=365)
    remind_every_days: int = Field(default=14, ge=1, le=365)

    @property
    def first_after(self) -> timedelta:
        return timedelta(days=self.first_after_days)

    @property
    def remind_every(self) -> timedelta:
        return timedelta(days=self.remind_every_days)


class LegalBasisRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # who may invoke it when making a request (a person: never a machine client on its own)
    invoked_by: tuple[Invoker, ...] = Field(min_length=1)
    # the most it may release: categories of the vocabulary
    categories: tuple[str, ...] = Field(min_length=1)
    # the purposes it serves (none listed: any purpose)
    purposes: tuple[str, ...] = ()
    # the officers' time limit is that of this urgency (policy `reviews:`) whatever the
    # request's own: an emergency basis is decided within the emergency window, and escalates
    review_urgency: Urgency | None = None
    inform_person: InformPerson = Field(default_factory=InformPerson)
    # how long a recipient may keep what it receives on this basis (none: no limit)
    data_life: Period | None = None

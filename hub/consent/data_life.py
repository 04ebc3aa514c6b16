"""Data life of a consent: how long a recipient may keep what it receives under it.

Contract: `data_life: {"unit": "day" | "month" | "year", "value": N}` on
`POST /v1/cases/{id}/consents`, a period counted from each disclosure (like the Account
Aggregator's `DataLife`), never an absolute date: one consent covers disclosures made months
apart, and each recipient gets the same time to use what it received. The policy's
`data_life:` (`hub.policy.data_life`) may cap it per purpose (422 `data_life_too_long`) and give
a default for a consent that sets none. What `resolve` settles is stored on the version (a later
change of policy does not rewrite what the person agreed to).

`erase_by` is the date a disclosure's recipient must have erased what it received: the
disclosure's time plus the shortest period of the consents it relied on (consents without one
set no limit; none at all: no date). Every delivery carries it (`docs/consent.md`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.api.problems import Unprocessable
from hub.clock import utcnow
from hub.consent.models import Consent
from hub.db.session import transaction_scoped
from hub.policy.data_life import DataLifeRules, Period

_REMEMBERED_INFO = "hub.consent.data_life.remembered"


def resolve(
    rules: DataLifeRules, purposes: Sequence[str], given: Period | None, now: datetime | None = None
) -> Period | None:
    """The period a new consent keeps: the one given, checked against the maxima of its
    purposes, else the shortest default of its purposes (None: no limit)."""
    at = now or utcnow()
    if given is not None:
        for purpose in purposes:
            maximum = rules.limits(purpose).maximum
            if maximum is not None and given.after(at) > maximum.after(at):
                raise Unprocessable(
                    "data_life_too_long",
                    "The data life is longer than the policy allows",
                    f"For purpose {purpose!r} a recipient may keep data at most {maximum.words()}.",
                    field="data_life",
                    purpose=purpose,
                    maximum=maximum.model_dump(),
                )
        return given
    defaults = [d for d in (rules.limits(p).default for p in purposes) if d is not None]
    return min(defaults, key=lambda d: d.after(at)) if defaults else None


class HasDataLife(Protocol):
    """What the data life is read from: a `Consent`, or the consent gate's columns of one
    (`hub.consent.gate.GateConsent`)."""

    @property
    def id(self) -> str: ...

    @property
    def data_life_unit(self) -> str | None: ...

    @property
    def data_life_value(self) -> int | None: ...


def period_of(consent: HasDataLife) -> Period | None:
    if consent.data_life_unit is None or consent.data_life_value is None:
        return None
    return Period(unit=consent.data_life_unit, value=consent.data_life_value)  # type: ignore[arg-type]


def erase_by_for(periods: Sequence[Period | None], at: datetime) -> datetime | None:
    ends = [p.after(at) for p in periods if p is not None]
    return min(ends) if ends else None


def remember(db: Session, consents: Iterable[HasDataLife]) -> None:
    """The data life of consents the gate has just read, kept for this transaction: the
    disclosure that follows the gate's answer dates its erasure without reading them again."""
    _remembered(db).update({c.id: period_of(c) for c in consents})


def _remembered(db: Session) -> dict[str, Period | None]:
    """This transaction's periods by consent id; a new transaction starts empty (a consent may
    have a new version since)."""
    return transaction_scoped(db, _REMEMBERED_INFO)


def erase_by(*, db: Session, consent_ids: Sequence[str], at: datetime) -> datetime | None:
    """The date by which a disclosure made at `at` under these consents must be erased."""
    if not consent_ids:
        return None
    known = _remembered(db)
    periods = [known[cid] for cid in consent_ids if cid in known]
    missing = [cid for cid in consent_ids if cid not in known]
    if missing:
        rows = db.execute(
            select(Consent.data_life_unit, Consent.data_life_value).where(Consent.id.in_(missing))
        )
        periods += [Period(unit=u, value=v) for u, v in rows if u is not None and v]  # type: ignore[arg-type]
    return erase_by_for(periods, at)

"""The beneficiary's statement: who received what about them, when, for which purpose and under
which consent (or which legal basis, when it did not rest on consent), from the accounting of
disclosures.

Three things, each in one place:

- `assemble` reads the accounting of a case into a `Statement`: plain data in no language
  (organisation names, codes, times), one `Entry` per disclosure, oldest first.
- `in_words` turns it into a `StatementText`, every string ready to show in one language. The
  words are the console's (its gettext catalogue and its labels for the policy's codes, which
  this layer may not import), so the console registers its writer with `writes_words` as the
  hub starts (`hub.wiring`); the API's PDF and the console's page both go through here, and
  read the same sentences.
- `hub.disclosures.statement_pdf.render` lays a `StatementText` out as a PDF.

The statement names no data value, only data categories: what was withheld from every
recipient is nowhere in it, and what was sent is named, not shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.cases.models import Case
from hub.clock import utcnow
from hub.consent.models import Consent, ConsentWithdrawal, GateDecision
from hub.disclosures.models import Disclosure
from hub.organizations import service as organizations
from hub.policy.legal_bases import CONSENT

LANGUAGES = ("en", "fr")
# a transfer's gate decision names its purpose; one made without a decision still is a transfer
TRANSFER_PURPOSE = "case_transfer"


@dataclass(frozen=True)
class ConsentUsed:
    """A consent a disclosure rested on, as the person would recognise it."""

    given_by: str  # subject | caregiver
    method: str  # written | verbal | thumbprint | electronic
    given_at: datetime
    version: int
    withdrawn_at: datetime | None  # withdrawn since (the disclosure was made before)


@dataclass(frozen=True)
class Entry:
    at: datetime
    recipient: str  # the organisation's name
    recipient_kind: str | None
    purpose: str | None  # a purpose code of the policy; None if nothing recorded it
    request: str  # referral | transfer
    channel: str  # inbox | webhook | fhir | transfer
    categories: tuple[str, ...]
    consents: tuple[ConsentUsed, ...]
    # data life: by when the recipient must erase it, and when it said it had
    erase_by: datetime | None = None
    erased_at: datetime | None = None
    # `consent`, or the legal basis of the policy the disclosure rested on instead
    legal_basis: str = CONSENT


@dataclass(frozen=True)
class Statement:
    reference: str  # the case's reference (never the person's name)
    holder: str  # the organisation that holds the case and gives the statement
    made_at: datetime
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class StatementText:
    """A statement in words: what the page and the PDF print, in one language."""

    language: str
    title: str
    lead: tuple[str, ...]  # paragraphs before the table
    facts: tuple[tuple[str, str], ...]  # (term, value): the case, who holds it, when made
    headings: tuple[str, ...]  # the table's columns
    rows: tuple[tuple[tuple[str, ...], ...], ...]  # row → cell → lines
    empty: str  # said instead of the table when nothing was disclosed
    closing: tuple[str, ...]  # what the person can do, and how this was made
    page_of: str  # a PDF page's footer, with `{page}` and `{pages}` to fill in


def _consents(db: Session, ids: list[str], case_id: str) -> tuple[ConsentUsed, ...]:
    used = []
    for consent_id in ids:
        consent = db.get(Consent, consent_id)
        if consent is None or consent.case_id != case_id:
            continue
        withdrawal = db.get(ConsentWithdrawal, consent.series_id)
        used.append(
            ConsentUsed(
                given_by=consent.given_by,
                method=consent.method,
                given_at=consent.given_at,
                version=consent.version,
                withdrawn_at=withdrawal.withdrawn_at if withdrawal else None,
            )
        )
    return tuple(sorted(used, key=lambda c: (c.given_at, c.version)))


def _purpose(db: Session, row: Disclosure) -> str | None:
    decision = db.get(GateDecision, row.decision_id) if row.decision_id else None
    if decision is not None:
        return decision.purpose
    return TRANSFER_PURPOSE if row.transfer_id else None


def assemble(*, db: Session, case: Case, at: datetime | None = None) -> Statement:
    """The statement of a case, every disclosure oldest first. Resolve the case for its owner
    first (`hub.cases.service.get`): that is the access check."""
    rows = db.scalars(
        select(Disclosure)
        .where(Disclosure.case_id == case.id)
        .order_by(Disclosure.at, Disclosure.id)
    )
    names: dict[str, tuple[str, str | None]] = {}

    def organisation(organization_id: str) -> tuple[str, str | None]:
        if organization_id not in names:
            found = organizations.get(db=db, organization_id=organization_id)
            names[organization_id] = (found.name, found.kind) if found else (organization_id, None)
        return names[organization_id]

    entries = []
    for row in rows:
        name, kind = organisation(row.recipient_organization_id)
        entries.append(
            Entry(
                at=row.at,
                recipient=name,
                recipient_kind=kind,
                purpose=_purpose(db, row),
                request="transfer" if row.transfer_id else "referral",
                channel=row.channel,
                categories=tuple(sorted(row.categories)),
                consents=_consents(db, list(row.consent_ids), case.id),
                erase_by=row.erase_by,
                erased_at=row.erasure_confirmed_at,
                legal_basis=row.legal_basis,
            )
        )
    return Statement(
        reference=case.external_ref,
        holder=organisation(case.owner_organization_id)[0],
        made_at=at or utcnow(),
        entries=tuple(entries),
    )


Writer = Callable[[Statement, str], StatementText]
_writer: list[Writer] = []


def writes_words(writer: Writer) -> Writer:
    """Register what puts a statement into words (the console's, once, as the hub starts)."""
    _writer[:] = [writer]
    return writer


def in_words(statement: Statement, language: str) -> StatementText:
    """The statement in `language` (one of `LANGUAGES`)."""
    if language not in LANGUAGES:
        raise ValueError(f"no statement in {language!r}")
    if not _writer:
        raise RuntimeError("no statement writer installed: see hub.wiring")
    return _writer[0](statement, language)

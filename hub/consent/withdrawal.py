"""What withdrawing a consent would do, told before it is done.

A withdrawal (`service.withdraw`) only records itself and queues `consent.withdrawn`; the
domains that rest on consent act on it through their listeners (`hub.consent.tasks`):
referrals are cancelled and their recipients told (`hub.referrals.cascade`), waiting transfers
cancelled (`hub.transfers.sending`). Consent imports neither, so each of those domains also
hands its rule here, from the same `install()`: `on_preview(fn)`, `fn(db=, series_id=,
case_id=) -> list[Effect]`, computed by the very function its listener acts on, so the preview
and the withdrawal cannot disagree.

`preview` asks them all; it changes nothing and locks nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from hub.consent.models import Consent, ConsentWithdrawal
from hub.consent.schemas import WithdrawalEffectRead, WithdrawalPreviewRead
from hub.consent.service import ConsentWithdrawn


@dataclass(frozen=True)
class Effect:
    """What the withdrawal does to one request resting on the consent."""

    kind: str  # "referral" | "transfer"
    id: str
    to_organization_id: str
    status: str  # its status now
    cancelled: bool  # the withdrawal cancels it
    recipient_told: bool  # its recipient is sent a withdrawal notice (it had the data)


@dataclass(frozen=True)
class Preview:
    consent_id: str
    series_id: str
    case_id: str
    effects: list[Effect]

    def of_kind(self, kind: str) -> list[Effect]:
        return [e for e in self.effects if e.kind == kind]

    @property
    def recipients_told(self) -> list[str]:
        """The organisations told of the withdrawal, each once, in the order met."""
        return list(dict.fromkeys(e.to_organization_id for e in self.effects if e.recipient_told))


Previewer = Callable[..., list[Effect]]
PREVIEWERS: list[Previewer] = []


def on_preview(previewer: Previewer) -> Previewer:
    if previewer not in PREVIEWERS:
        PREVIEWERS.append(previewer)
    return previewer


def preview(*, db: Session, consent: Consent) -> Preview:
    """What withdrawing `consent`'s series would do now (the consent resolved by `service.get`,
    for the caller's organisation). A series already withdrawn is 409 `consent_withdrawn`,
    as withdrawing it again would be."""
    if db.get(ConsentWithdrawal, consent.series_id) is not None:
        raise ConsentWithdrawn()
    effects: list[Effect] = []
    for previewer in PREVIEWERS:
        effects.extend(previewer(db=db, series_id=consent.series_id, case_id=consent.case_id))
    return Preview(
        consent_id=consent.id,
        series_id=consent.series_id,
        case_id=consent.case_id,
        effects=effects,
    )


def read(preview: Preview) -> WithdrawalPreviewRead:
    """The preview as the API answers it (`GET /v1/consents/{id}/withdrawal-preview`)."""

    def effects(kind: str) -> list[WithdrawalEffectRead]:
        return [
            WithdrawalEffectRead(
                id=e.id,
                to_organization_id=e.to_organization_id,
                status=e.status,
                cancelled=e.cancelled,
                recipient_told=e.recipient_told,
            )
            for e in preview.of_kind(kind)
        ]

    return WithdrawalPreviewRead(
        consent_id=preview.consent_id,
        series_id=preview.series_id,
        referrals=effects("referral"),
        transfers=effects("transfer"),
        recipients_told=preview.recipients_told,
    )

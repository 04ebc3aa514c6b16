"""Delivery channels: set by an administrator, read by the delivery of each referral.

An organisation without a channel row receives through its inbox. URLs are checked when they
are set (https, no credentials, no private addresses unless allowed) and again at every
connection (`hub.connectors.http`), so a DNS answer that changes later does not get through.
Secrets are sealed with a data key of the channel's own: setting another channel shreds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.orm import Session

from hub.api.problems import Unprocessable
from hub.audit.service import record as audit
from hub.clock import utcnow
from hub.connectors import signing
from hub.connectors.addresses import UnsafeDestination, check_url
from hub.connectors.models import DeliveryChannel
from hub.connectors.schemas import ChannelKind, ChannelRead, ChannelSet
from hub.crypto import envelope
from hub.crypto import service as data_keys
from hub.crypto.keyring import KeyEncryptionKeys
from hub.db.lookups import Lookups
from hub.settings import Settings

TABLE = "delivery_channels"
SECRET_FIELD = "secret"  # noqa: S105 (a field name bound into the ciphertext)


@dataclass(frozen=True)
class Channel:
    """A channel ready to use (the secret opened): what a connector is given."""

    organization_id: str
    kind: ChannelKind
    url: str | None = None
    secret: bytes | None = None
    encryption_jwk: dict[str, Any] | None = None


INBOX = ChannelKind.inbox

# the kind of each organisation's channel, as a delivery row records it (`kind_of`); the push
# opens the channel itself afresh (`open_channel`)
_kinds: Lookups[str, str] = Lookups()


def _owner(organization_id: str) -> str:
    return f"channel:{organization_id}"


def _invalid(detail: str, **extra: Any) -> Unprocessable:
    return Unprocessable("invalid_channel", "Invalid delivery channel", detail, **extra)


def _check(settings: Settings, data: ChannelSet) -> None:
    if data.kind is ChannelKind.inbox:
        if data.url or data.secret or data.encryption_jwk:
            raise _invalid("An inbox channel takes no url, secret or encryption key")
        return
    if not data.url:
        raise _invalid(f"A {data.kind} channel needs a url", field="url")
    if data.encryption_jwk is not None:
        if data.kind is not ChannelKind.webhook:
            raise _invalid("Only a webhook channel encrypts to a key", field="encryption_jwk")
        try:
            signing.encryption_key(data.encryption_jwk)
        except signing.InvalidEncryptionKey as exc:
            raise _invalid(str(exc), field="encryption_jwk") from None
    try:
        check_url(
            data.url,
            require_https=settings.connector_require_https,
            allowed_hosts=settings.connector_allowed_hosts,
        )
    except UnsafeDestination as exc:
        raise Unprocessable(
            "unsafe_url", "The url is not one the hub may connect to", str(exc), reason=exc.code
        ) from None


def set_channel(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    settings: Settings,
    organization_id: str,
    data: ChannelSet,
    actor: str,
) -> DeliveryChannel:
    """Set the organisation's channel. The caller has checked that the organisation exists
    (connectors know no organisation: `hub.organizations.service.get_or_raise`)."""
    _check(settings, data)
    # the previous secret is destroyed whatever replaces it
    data_keys.shred(db=db, owner=_owner(organization_id))
    sealed = None
    if data.secret is not None:
        key = data_keys.data_key(db=db, keyring=keyring, owner=_owner(organization_id), create=True)
        sealed = envelope.encrypt(
            key,
            data.secret.get_secret_value().encode(),
            table=TABLE,
            row=organization_id,
            field=SECRET_FIELD,
        )
    _kinds.drop(organization_id)
    row = db.get(DeliveryChannel, organization_id, with_for_update=True)
    if row is None:
        row = DeliveryChannel(organization_id=organization_id)
        db.add(row)
    row.kind = data.kind.value
    row.url = data.url
    row.secret_ciphertext = sealed
    row.encryption_jwk = dict(data.encryption_jwk) if data.encryption_jwk else None
    row.updated_by = actor
    row.updated_at = utcnow()
    db.flush()
    audit(
        db,
        actor=actor,
        action="channel.set",
        object_type="organization",
        object_id=organization_id,
        details={
            "kind": row.kind,
            "url": logged_url(row.url),
            "has_secret": sealed is not None,
            "encrypted": row.encryption_jwk is not None,
        },
    )
    return row


def kind_of(db: Session, organization_id: str) -> str:
    """The kind of the organisation's channel (inbox without one), from the lookup cache when
    this process has read it lately."""

    def load() -> str:
        row = db.get(DeliveryChannel, organization_id)
        return row.kind if row is not None else INBOX.value

    return _kinds.get(organization_id, load) or INBOX.value


def logged_url(url: str | None) -> str | None:
    """The url as the append-only audit log keeps it: scheme, host, port and path. A query
    string, a fragment or user info may hold a partner's token, which no log may keep for ever
    (the channel row keeps the whole url, and it can be replaced)."""
    if url is None:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    port = f":{parts.port}" if parts.port is not None else ""
    return urlunsplit((parts.scheme, f"{host}{port}", parts.path, "", ""))


def read(organization_id: str, row: DeliveryChannel | None) -> ChannelRead:
    if row is None:
        return ChannelRead(
            organization_id=organization_id,
            kind=ChannelKind.inbox,
            url=None,
            signing=None,
            has_secret=False,
            encryption=None,
            updated_at=None,
            updated_by=None,
        )
    kind = ChannelKind(row.kind)
    encryption = None
    if row.encryption_jwk:
        encryption = {"alg": signing.JWE_ALG, "enc": signing.JWE_ENC}
        if row.encryption_jwk.get("kid"):
            encryption["kid"] = str(row.encryption_jwk["kid"])
    signed_by = None
    if kind is ChannelKind.webhook:
        signed_by = "hmac" if row.secret_ciphertext else "jws"
    return ChannelRead(
        organization_id=organization_id,
        kind=kind,
        url=row.url,
        signing=signed_by,
        has_secret=row.secret_ciphertext is not None,
        encryption=encryption,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def get_read(*, db: Session, organization_id: str) -> ChannelRead:
    """The organisation's channel; the caller has checked that the organisation exists."""
    return read(organization_id, db.get(DeliveryChannel, organization_id))


def open_channel(*, db: Session, keyring: KeyEncryptionKeys, organization_id: str) -> Channel:
    """The channel a delivery uses now, its secret opened (inbox when none is set)."""
    row = db.get(DeliveryChannel, organization_id)
    if row is None:
        return Channel(organization_id=organization_id, kind=INBOX)
    secret = None
    if row.secret_ciphertext is not None:
        key = data_keys.data_key(db=db, keyring=keyring, owner=_owner(organization_id))
        secret = envelope.decrypt(
            key, row.secret_ciphertext, table=TABLE, row=organization_id, field=SECRET_FIELD
        )
    return Channel(
        organization_id=organization_id,
        kind=ChannelKind(row.kind),
        url=row.url,
        secret=secret,
        encryption_jwk=dict(row.encryption_jwk) if row.encryption_jwk else None,
    )

"""The key registry: one wrapped data key per case."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.clock import utcnow
from hub.db.base import Base


class DataKey(Base):
    """A case's AES-256 data key, wrapped by a key-encryption key version.

    Deleting the row erases every ciphertext made with the key (crypto-shredding), which is
    why it is keyed by owner and not referenced by a cascading foreign key.
    """

    __tablename__ = "data_keys"

    owner: Mapped[str] = mapped_column(String(64), primary_key=True)
    kek_version: Mapped[int] = mapped_column(index=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rewrapped_at: Mapped[datetime | None]


class ShreddedKey(Base):
    """A data key shredded, and the KEK version it was wrapped under at that moment.

    Until that version (and every older one) is destroyed by `hub keys retire`, a copy of the
    wrapped key made before the shredding (a backup, a WAL, a dead row version) still opens
    with the keyring: the erasure is final once `final_at` is set. Owner ids only.
    """

    __tablename__ = "shredded_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    kek_version: Mapped[int]
    shredded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # when the last KEK version that could open a copy of it was retired
    final_at: Mapped[datetime | None] = mapped_column(index=True)

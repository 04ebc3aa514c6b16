"""delivery channels and deliveries

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 19:58:36.295697
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_channels",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("encryption_jwk", sa.JSON(), nullable=True),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_delivery_channels_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_delivery_channels")),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("referral_id", sa.String(length=32), nullable=True),
        sa.Column("transfer_id", sa.String(length=32), nullable=True),
        sa.Column("sender_organization_id", sa.String(length=32), nullable=False),
        sa.Column("recipient_organization_id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("last_attempt_at", hub.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", hub.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dead_at", hub.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("remote_ref", sa.String(length=200), nullable=True),
        sa.Column("remote_status", sa.String(length=32), nullable=True),
        sa.Column("polled_at", hub.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(referral_id IS NULL) <> (transfer_id IS NULL)",
            name=op.f("ck_deliveries_one_referral_or_transfer"),
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_deliveries_referral_id_referrals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
            name=op.f("fk_deliveries_transfer_id_transfers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deliveries_referral_id"), ["referral_id"], unique=False
        )
        batch_op.create_index(
            "ix_deliveries_sender_status", ["sender_organization_id", "status"], unique=False
        )
        batch_op.create_index("ix_deliveries_status_channel", ["status", "channel"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_deliveries_transfer_id"), ["transfer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_transfer_id"))
        batch_op.drop_index("ix_deliveries_status_channel")
        batch_op.drop_index("ix_deliveries_sender_status")
        batch_op.drop_index(batch_op.f("ix_deliveries_referral_id"))

    op.drop_table("deliveries")
    op.drop_table("delivery_channels")

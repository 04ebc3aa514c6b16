"""referral sent_at and withdrawal notices

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 17:10:21.890774
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "referral_withdrawal_notices",
        sa.Column("referral_id", sa.String(length=32), nullable=False),
        sa.Column("series_id", sa.String(length=32), nullable=False),
        sa.Column("consent_id", sa.String(length=32), nullable=False),
        sa.Column("recipient_organization_id", sa.String(length=32), nullable=False),
        sa.Column("queued_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("notified_at", hub.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_referral_withdrawal_notices_referral_id_referrals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "referral_id", "series_id", name=op.f("pk_referral_withdrawal_notices")
        ),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sent_at", hub.db.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_column("sent_at")

    op.drop_table("referral_withdrawal_notices")

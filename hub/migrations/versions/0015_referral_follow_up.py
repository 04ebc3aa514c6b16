"""a referral's follow-up past its acknowledgement: the move owed next, its deadline, markers

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 06:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db.base

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

MARKERS = ("due_at", "due_reminded_at", "due_overdue_since", "due_escalated_at")


def upgrade() -> None:
    with op.batch_alter_table("referrals") as batch:
        batch.add_column(sa.Column("due_move", sa.String(length=16), nullable=True))
        for name in MARKERS:
            batch.add_column(sa.Column(name, hub.db.base.UTCDateTime(timezone=True), nullable=True))
        batch.create_index("ix_referrals_due", ["due_move", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("referrals") as batch:
        batch.drop_index("ix_referrals_due")
        for name in reversed(MARKERS):
            batch.drop_column(name)
        batch.drop_column("due_move")

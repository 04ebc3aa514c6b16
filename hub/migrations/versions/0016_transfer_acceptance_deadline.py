"""a transfer offer's acceptance deadline and its markers

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 06:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db.base

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

COLUMNS = ("accept_by", "reminded_at", "overdue_since", "escalated_at")


def upgrade() -> None:
    with op.batch_alter_table("transfers") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, hub.db.base.UTCDateTime(timezone=True), nullable=True))
        batch.create_index("ix_transfers_status_accept_due", ["status", "accept_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("transfers") as batch:
        batch.drop_index("ix_transfers_status_accept_due")
        for name in reversed(COLUMNS):
            batch.drop_column(name)

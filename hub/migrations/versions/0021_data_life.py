"""data life: how long a recipient may keep what it receives under a consent, the erase-by
date of each disclosure, its reminder and overdue markers, and the recipient's confirmation

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-29 09:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db.base

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

TIMES = ("erase_by", "erase_reminded_at", "erase_overdue_since", "erasure_confirmed_at")


def upgrade() -> None:
    with op.batch_alter_table("consents") as batch:
        batch.add_column(sa.Column("data_life_unit", sa.String(8), nullable=True))
        batch.add_column(sa.Column("data_life_value", sa.Integer(), nullable=True))
    with op.batch_alter_table("disclosures") as batch:
        for name in TIMES:
            batch.add_column(sa.Column(name, hub.db.base.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("erasure_confirmed_by", sa.String(200), nullable=True))
        batch.create_index("ix_disclosures_erase_by", ["erase_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("disclosures") as batch:
        batch.drop_index("ix_disclosures_erase_by")
        batch.drop_column("erasure_confirmed_by")
        for name in reversed(TIMES):
            batch.drop_column(name)
    with op.batch_alter_table("consents") as batch:
        batch.drop_column("data_life_value")
        batch.drop_column("data_life_unit")

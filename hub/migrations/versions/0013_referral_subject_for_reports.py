"""referrals keep the subject's sex and age band at referral time, for reports without
personal data; an index by creation time for monthly reports

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 06:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("referrals") as batch_op:
        batch_op.add_column(sa.Column("subject_sex", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("subject_age_band", sa.String(length=16), nullable=True))
        batch_op.create_index("ix_referrals_created_at", ["created_at"])


def downgrade() -> None:
    with op.batch_alter_table("referrals") as batch_op:
        batch_op.drop_index("ix_referrals_created_at")
        batch_op.drop_column("subject_age_band")
        batch_op.drop_column("subject_sex")

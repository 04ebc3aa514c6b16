"""the recipient's coded answers on a referral: the decline reason and the outcome

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 06:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("referrals") as batch:
        batch.add_column(sa.Column("decline_reason_code", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("outcome_code", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("referrals") as batch:
        batch.drop_column("outcome_code")
        batch.drop_column("decline_reason_code")

"""audit: each checkpoint names the digest of the one before it

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00.000000

Checkpoints signed before this revision keep a NULL `prev_digest` and their v1 signatures;
the first one signed after it links to the last of them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.drop_column("prev_digest")

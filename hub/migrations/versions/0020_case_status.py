"""a case's own life: open or closed, and the code of why it was closed

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-29 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        # every case registered so far is open
        batch.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="open")
        )
        batch.add_column(sa.Column("status_reason", sa.String(length=40), nullable=True))
        batch.create_index(
            "ix_cases_owner_organization_id_status", ["owner_organization_id", "status"]
        )


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_owner_organization_id_status")
        batch.drop_column("status_reason")
        batch.drop_column("status")

"""transfer requests: an office or a partner asks the owner for a case; the lifecycle events'
statuses widened for `answered_with_transfer`

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-29 09:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db.base

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = hub.db.base.UTCDateTime(timezone=True)
    op.create_table(
        "transfer_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("requester_organization_id", sa.String(length=32), nullable=False),
        sa.Column("owner_organization_id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=True),
        sa.Column("named_by", sa.String(length=16), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("asked_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("words_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_reason", sa.String(length=64), nullable=True),
        sa.Column("refusal_code", sa.String(length=64), nullable=True),
        sa.Column("transfer_id", sa.String(length=32), nullable=True),
        sa.Column("answer_by", utc, nullable=False),
        sa.Column("reminded_at", utc, nullable=True),
        sa.Column("overdue_since", utc, nullable=True),
        sa.Column("escalated_at", utc, nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.ForeignKeyConstraint(
            ["requester_organization_id"],
            ["organizations.id"],
            name=op.f("fk_transfer_requests_requester_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["owner_organization_id"],
            ["organizations.id"],
            name=op.f("fk_transfer_requests_owner_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_transfer_requests_case_id_cases"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
            name=op.f("fk_transfer_requests_transfer_id_transfers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_requests")),
    )
    with op.batch_alter_table("transfer_requests") as batch:
        batch.create_index(batch.f("ix_transfer_requests_case_id"), ["case_id"], unique=False)
        batch.create_index(
            "ix_transfer_requests_requester", ["requester_organization_id", "created_at"]
        )
        batch.create_index("ix_transfer_requests_owner", ["owner_organization_id", "created_at"])
        batch.create_index("ix_transfer_requests_due", ["status", "urgency", "answer_by"])
    # `answered_with_transfer` is longer than the 16 characters the statuses had
    with op.batch_alter_table("lifecycle_events") as batch:
        for name in ("from_status", "to_status"):
            batch.alter_column(
                name,
                existing_type=sa.String(length=16),
                type_=sa.String(length=32),
                existing_nullable=name == "from_status",
            )


def downgrade() -> None:
    with op.batch_alter_table("lifecycle_events") as batch:
        for name in ("from_status", "to_status"):
            batch.alter_column(
                name,
                existing_type=sa.String(length=32),
                type_=sa.String(length=16),
                existing_nullable=name == "from_status",
            )
    op.drop_table("transfer_requests")

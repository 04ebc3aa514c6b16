"""referrals by the time they last changed, per party: the FHIR facade's `_lastUpdated` search

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29 09:10:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_referrals_sender_updated", "referrals", ["from_organization_id", "updated_at"]
    )
    op.create_index(
        "ix_referrals_recipient_updated", "referrals", ["to_organization_id", "updated_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_referrals_recipient_updated", table_name="referrals")
    op.drop_index("ix_referrals_sender_updated", table_name="referrals")

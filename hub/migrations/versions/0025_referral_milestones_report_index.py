"""the times a referral was first acknowledged, accepted and completed, kept on its row (filled
in from its events), and the reports' index on the day made, covering on PostgreSQL

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-29 09:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db.base

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

MILESTONES = {
    "acknowledged_at": "acknowledged",
    "accepted_at": "accepted",
    "completed_at": "completed",
}
# what `ix_referrals_report` holds beside `created_at` on PostgreSQL (`hub.referrals.models`)
REPORTED = [
    "from_organization_id",
    "to_organization_id",
    "sent_at",
    "service_type",
    "service_id",
    "status",
    "status_reason",
    "urgency",
    "subject_sex",
    "subject_age_band",
    "decline_reason_code",
    "outcome_code",
    *MILESTONES,
]


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("referrals") as batch:
        batch.drop_index("ix_referrals_created_at")
        for column in MILESTONES:
            batch.add_column(
                sa.Column(column, hub.db.base.UTCDateTime(timezone=True), nullable=True)
            )
    # each time is the referral's first event of that status (as reports computed it so far);
    # the statements are made of this module's constants only
    if bind.dialect.name == "postgresql":
        firsts = ", ".join(
            f"min(at) FILTER (WHERE to_status = '{status}') AS {column}"
            for column, status in MILESTONES.items()
        )
        op.execute(
            f"UPDATE referrals SET {', '.join(f'{c} = e.{c}' for c in MILESTONES)} "  # noqa: S608
            f"FROM (SELECT object_id, {firsts} FROM lifecycle_events "
            "WHERE object_type = 'referral' "
            "AND to_status IN ('acknowledged', 'accepted', 'completed') "
            "GROUP BY object_id) AS e WHERE referrals.id = e.object_id"
        )
        op.create_index(
            "ix_referrals_report", "referrals", ["created_at"], postgresql_include=REPORTED
        )
    else:
        for column, status in MILESTONES.items():
            op.execute(
                f"UPDATE referrals SET {column} = (SELECT min(e.at) FROM lifecycle_events e "  # noqa: S608
                "WHERE e.object_type = 'referral' AND e.object_id = referrals.id "
                f"AND e.to_status = '{status}')"
            )
        op.create_index("ix_referrals_report", "referrals", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_referrals_report", table_name="referrals")
    with op.batch_alter_table("referrals") as batch:
        for column in reversed(MILESTONES):
            batch.drop_column(column)
        batch.create_index("ix_referrals_created_at", ["created_at"])

"""legal bases beside consent: the basis on gate decisions, referrals, reviews and disclosures,
the reviews' first approval, and the news owed to the person (`person_notices`)

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-29 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db.base

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def _basis() -> sa.Column:
    return sa.Column("legal_basis", sa.String(length=40), server_default="consent", nullable=False)


def upgrade() -> None:
    utc = hub.db.base.UTCDateTime(timezone=True)
    for table in ("gate_decisions", "referrals", "reviews", "disclosures"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(_basis())
    with op.batch_alter_table("referrals") as batch:
        batch.add_column(sa.Column("basis_justification_ciphertext", sa.LargeBinary()))
    with op.batch_alter_table("reviews") as batch:
        batch.add_column(
            sa.Column("officers_required", sa.Integer(), server_default="1", nullable=False)
        )
        batch.add_column(sa.Column("basis_justification_ciphertext", sa.LargeBinary()))
        batch.add_column(sa.Column("first_approved_by", sa.String(length=200)))
        batch.add_column(sa.Column("first_approved_at", utc))
        batch.add_column(sa.Column("first_justification_ciphertext", sa.LargeBinary()))
    op.create_table(
        "person_notices",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("referral_id", sa.String(length=32), nullable=False),
        sa.Column("recipient_organization_id", sa.String(length=32), nullable=False),
        sa.Column("legal_basis", sa.String(length=40), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("disclosed_at", utc, nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("remind_at", utc, nullable=True),
        sa.Column("reminders", sa.Integer(), server_default="0", nullable=False),
        sa.Column("told_at", utc, nullable=True),
        sa.Column("told_whom", sa.String(length=16), nullable=True),
        sa.Column("told_how", sa.String(length=16), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=True),
        sa.Column("recorded_at", utc, nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_person_notices_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_person_notices_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_notices")),
        sa.UniqueConstraint("referral_id", name="uq_person_notices_referral"),
    )
    op.create_index("ix_person_notices_owed", "person_notices", ["told_at", "remind_at"])
    op.create_index("ix_person_notices_case", "person_notices", ["case_id", "created_at"])
    op.create_index(
        op.f("ix_person_notices_organization_id"), "person_notices", ["organization_id"]
    )


def downgrade() -> None:
    # plain DROP COLUMNs (SQLite has them since 3.35), not batch copies: a batch would drop and
    # re-create `gate_decisions` and `referrals`, which other tables' rows refer to
    op.drop_table("person_notices")
    for column in (
        "first_justification_ciphertext",
        "first_approved_at",
        "first_approved_by",
        "basis_justification_ciphertext",
        "officers_required",
    ):
        op.drop_column("reviews", column)
    op.drop_column("referrals", "basis_justification_ciphertext")
    for table in ("disclosures", "reviews", "referrals", "gate_decisions"):
        op.drop_column(table, "legal_basis")

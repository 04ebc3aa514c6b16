"""console: people's sessions and second factor, review time limits

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 16:26:30.052331
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_recovery_codes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.Text(), nullable=False),
        sa.Column("created_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", hub.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_recovery_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_recovery_codes")),
    )
    with op.batch_alter_table("user_recovery_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_user_recovery_codes_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "user_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("second_factor_at", hub.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", hub.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
    )
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_sessions_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("urgency", sa.String(length=16), server_default="normal", nullable=False)
        )
        batch_op.add_column(sa.Column("age_band", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("made_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("note_ciphertext", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column("due_at", hub.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("reminded_at", hub.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("overdue_since", hub.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("escalated_at", hub.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("escalated_to_organization_id", sa.String(length=32), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_reviews_due_at"), ["due_at"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_reviews_escalated_to_organization_id_organizations"),
            "organizations",
            ["escalated_to_organization_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("totp_ciphertext", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column("totp_enabled_at", hub.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("failed_signins", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("locked_until", hub.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_signin_at", hub.db.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("last_signin_at")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_signins")
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_enabled_at")
        batch_op.drop_column("totp_ciphertext")
        batch_op.drop_column("language")

    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_reviews_escalated_to_organization_id_organizations"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_reviews_due_at"))
        batch_op.drop_column("escalated_to_organization_id")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("overdue_since")
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("due_at")
        batch_op.drop_column("note_ciphertext")
        batch_op.drop_column("made_by")
        batch_op.drop_column("age_band")
        batch_op.drop_column("urgency")

    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_sessions_user_id"))

    op.drop_table("user_sessions")
    with op.batch_alter_table("user_recovery_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_recovery_codes_user_id"))

    op.drop_table("user_recovery_codes")

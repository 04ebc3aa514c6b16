"""the identifiers a sender gave its FHIR request: the facade's conditional creates

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-29 09:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fhir_sender_identifiers",
        sa.Column("referral_id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("system", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_fhir_sender_identifiers_referral_id_referrals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "referral_id",
            "resource_type",
            "system",
            "value",
            name=op.f("pk_fhir_sender_identifiers"),
        ),
    )
    op.create_index(
        "ix_fhir_sender_identifiers_lookup",
        "fhir_sender_identifiers",
        ["organization_id", "resource_type", "system", "value"],
    )


def downgrade() -> None:
    op.drop_index("ix_fhir_sender_identifiers_lookup", table_name="fhir_sender_identifiers")
    op.drop_table("fhir_sender_identifiers")

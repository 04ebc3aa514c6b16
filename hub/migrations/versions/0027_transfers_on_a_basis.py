"""case transfers on a legal basis: the basis and the requester's sealed justification on
transfers, and the news owed to the person for a transfer as for a referral (`person_notices`
names exactly one of a referral or a transfer)

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-29 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "transfers",
        sa.Column("legal_basis", sa.String(length=40), server_default="consent", nullable=False),
    )
    op.add_column("transfers", sa.Column("basis_justification_ciphertext", sa.LargeBinary()))
    # a copy of `person_notices` on SQLite (nothing refers to it), ALTERs on PostgreSQL
    with op.batch_alter_table("person_notices") as batch:
        batch.alter_column("referral_id", existing_type=sa.String(length=32), nullable=True)
        batch.add_column(sa.Column("transfer_id", sa.String(length=32), nullable=True))
        batch.create_unique_constraint("uq_person_notices_transfer", ["transfer_id"])
        batch.create_check_constraint(
            op.f("ck_person_notices_one_referral_or_transfer"),
            "(referral_id IS NULL) <> (transfer_id IS NULL)",
        )


def downgrade() -> None:
    # the notices of transfers have no place in the older table: they go with it
    op.execute("DELETE FROM person_notices WHERE transfer_id IS NOT NULL")
    with op.batch_alter_table("person_notices") as batch:
        batch.drop_constraint(op.f("ck_person_notices_one_referral_or_transfer"), type_="check")
        batch.drop_constraint("uq_person_notices_transfer", type_="unique")
        batch.drop_column("transfer_id")
        batch.alter_column("referral_id", existing_type=sa.String(length=32), nullable=False)
    # plain DROP COLUMNs, not a batch copy of `transfers`, which other tables' rows refer to
    op.drop_column("transfers", "basis_justification_ciphertext")
    op.drop_column("transfers", "legal_basis")

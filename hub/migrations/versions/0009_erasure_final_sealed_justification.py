"""erasure: the ledger of shredded data keys, and the review's justification sealed

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 12:00:00.000000

A justification written before this revision stays in the clear `justification` column (the
migration holds no key to seal it with) and is still read from there; new ones are sealed in
`justification_ciphertext` with the case's data key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shredded_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("shredded_at", hub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("final_at", hub.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shredded_keys")),
    )
    with op.batch_alter_table("shredded_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shredded_keys_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_shredded_keys_final_at"), ["final_at"], unique=False)
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("justification_ciphertext", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_column("justification_ciphertext")
    with op.batch_alter_table("shredded_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shredded_keys_final_at"))
        batch_op.drop_index(batch_op.f("ix_shredded_keys_owner"))
    op.drop_table("shredded_keys")

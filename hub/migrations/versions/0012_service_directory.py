"""the service directory: organisations' services and the areas where each is offered; a
referral names the service it is for, and the directory's rules its sender overrode

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 06:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hub.db.base import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "services",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("service_type", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("focal_point", sa.String(length=200), nullable=True),
        sa.Column("hours", sa.String(length=200), nullable=True),
        sa.Column("age_min", sa.Integer(), nullable=True),
        sa.Column("age_max", sa.Integer(), nullable=True),
        sa.Column("sexes", sa.JSON(), nullable=False),
        sa.Column("legal_statuses", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("sexes_key", sa.String(length=100), nullable=False),
        sa.Column("languages_key", sa.String(length=400), nullable=False),
        sa.Column("capacity", sa.String(length=16), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("last_verified_on", sa.Date(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_services_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
    )
    op.create_index(
        op.f("ix_services_organization_id"), "services", ["organization_id"], unique=False
    )
    op.create_index(
        "ix_services_type_created", "services", ["service_type", "created_at", "id"], unique=False
    )
    op.create_table(
        "service_areas",
        sa.Column("service_id", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_service_areas_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("service_id", "path", name=op.f("pk_service_areas")),
    )
    op.create_index("ix_service_areas_code", "service_areas", ["code"], unique=False)
    op.create_index(
        "ix_service_areas_path",
        "service_areas",
        ["path"],
        unique=False,
        postgresql_ops={"path": "varchar_pattern_ops"},
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("service_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("service_override", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("override_reason_ciphertext", sa.LargeBinary(), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_referrals_service_id"), ["service_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referrals_service_id"))
        batch_op.drop_column("override_reason_ciphertext")
        batch_op.drop_column("service_override")
        batch_op.drop_column("service_id")
    op.drop_index("ix_service_areas_path", table_name="service_areas")
    op.drop_index("ix_service_areas_code", table_name="service_areas")
    op.drop_table("service_areas")
    op.drop_index("ix_services_type_created", table_name="services")
    op.drop_index(op.f("ix_services_organization_id"), table_name="services")
    op.drop_table("services")

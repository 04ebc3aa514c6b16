"""the directory's search at a million services: newest first without a type, areas' services
read from the path index alone

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29 09:10:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # `GET /v1/services` without a type walks the directory newest first (bench/services.py)
    op.create_index("ix_services_created", "services", ["created_at", "id"], unique=False)
    # a small area's services are listed from the index alone (no visit of the table's rows)
    op.drop_index("ix_service_areas_path", table_name="service_areas")
    op.create_index(
        "ix_service_areas_path",
        "service_areas",
        ["path", "service_id"],
        unique=False,
        postgresql_ops={"path": "varchar_pattern_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_service_areas_path", table_name="service_areas")
    op.create_index(
        "ix_service_areas_path",
        "service_areas",
        ["path"],
        unique=False,
        postgresql_ops={"path": "varchar_pattern_ops"},
    )
    op.drop_index("ix_services_created", table_name="services")

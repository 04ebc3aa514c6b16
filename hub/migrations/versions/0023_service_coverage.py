"""every area each service is found under, with its type and creation date: the directory's
search by area newest first from one index, whatever the area's size

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-29 09:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hub.db.base import UTCDateTime

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_coverage",
        sa.Column("service_id", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("service_type", sa.String(length=40), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_service_coverage_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("service_id", "path", name=op.f("pk_service_coverage")),
    )
    # the existing services: each area path cut at every slash (`NE/`, `NE/NE-AG/`, ...)
    bind = op.get_bind()
    position = "strpos(rest, '/')" if bind.dialect.name == "postgresql" else "instr(rest, '/')"
    op.execute(
        """
        WITH RECURSIVE cut(service_id, path, rest) AS (
            SELECT service_id, CAST('' AS TEXT), CAST(path AS TEXT) FROM service_areas
            UNION ALL
            SELECT service_id, path || substr(rest, 1, POSITION), substr(rest, POSITION + 1)
            FROM cut WHERE POSITION > 0
        )
        INSERT INTO service_coverage (service_id, path, service_type, created_at)
        SELECT DISTINCT cut.service_id, cut.path, s.service_type, s.created_at
        FROM cut JOIN services s ON s.id = cut.service_id
        WHERE cut.path <> ''
        """.replace("POSITION", position)
    )
    # built after the backfill: faster than keeping them up to date row by row
    op.create_index(
        "ix_service_coverage_newest",
        "service_coverage",
        ["path", "created_at", "service_id"],
        unique=False,
    )
    op.create_index(
        "ix_service_coverage_type",
        "service_coverage",
        ["path", "service_type", "created_at", "service_id"],
        unique=False,
    )
    if bind.dialect.name == "postgresql":
        op.execute("ANALYZE service_coverage")


def downgrade() -> None:
    op.drop_index("ix_service_coverage_type", table_name="service_coverage")
    op.drop_index("ix_service_coverage_newest", table_name="service_coverage")
    op.drop_table("service_coverage")

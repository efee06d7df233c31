"""performance_estimates: estimated performance per window beside the realised value (the back-test)

One row per (model version, window length, window start, metric): the estimate made before
the window's labels arrived (value, 95 % interval, whether its assumptions held) and, once
the labels are in, the realised value, so `steadyml monitor` can show how far off the
estimates were and how often their intervals held the truth.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "performance_estimates",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(200), nullable=False, index=True),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("window", sa.String(40), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metric", sa.String(100), nullable=False),
        sa.Column("estimated", sa.Float(), nullable=False),
        sa.Column("lower", sa.Float(), nullable=True),
        sa.Column("upper", sa.Float(), nullable=True),
        sa.Column("method", sa.String(200), nullable=True),
        sa.Column("reliable", sa.Boolean(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("estimated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("realised", sa.Float(), nullable=True),
        sa.Column("labelled", sa.Integer(), nullable=True),
        sa.Column("realised_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint(
            "project",
            "model_version",
            "window",
            "window_start",
            "metric",
            name="uq_performance_estimate",
        ),
    )


def downgrade() -> None:
    op.drop_table("performance_estimates")

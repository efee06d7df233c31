"""monitor_windows: each monitor run's per-window measurements, stored for the dashboard

One row per measured window: its length (``1d``), start and end, the model version and the
time basis it was measured for, its rows, when it was measured, the window's block of the
monitor result (``measures``), the numbers alert rules read from it (``summary``, small, so
charts over a year of windows do not load every block) and what the run compared it with
(``context``: training metrics, the success metric, the drift settings). Measuring the same
window again replaces its row: a unique index on (project, length, window_start, model_version,
time_basis), whose leading columns also serve the listing by length and time; a second index
on (project, window_start) serves the listing of every length.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitor_windows",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("length", sa.String(20), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("time_basis", sa.String(200), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("measures", sa.JSON(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
    )
    op.create_index(
        "uq_monitor_window",
        "monitor_windows",
        ["project", "length", "window_start", "model_version", "time_basis"],
        unique=True,
    )
    op.create_index("ix_monitor_windows_start", "monitor_windows", ["project", "window_start"])


def downgrade() -> None:
    op.drop_index("ix_monitor_windows_start", table_name="monitor_windows")
    op.drop_index("uq_monitor_window", table_name="monitor_windows")
    op.drop_table("monitor_windows")

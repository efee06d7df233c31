"""monitor_windows: each monitor run's per-window measurements, stored for the dashboard

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by the work on issue 15 (stored windows)


def downgrade() -> None:
    pass

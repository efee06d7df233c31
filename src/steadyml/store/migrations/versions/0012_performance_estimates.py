"""performance_estimates: estimated performance per window beside the realised value (the back-test)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by the work on issue 16 (estimates)


def downgrade() -> None:
    pass

"""launch_checklist: attestations of the launch checklist (`steadyml checklist attest`)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by the work on issue 14 (checklist)


def downgrade() -> None:
    pass

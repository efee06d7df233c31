"""launch_checklist: attestations of the launch checklist (`steadyml checklist attest`)

One row per attestation: a person says a launch item (a test of "The ML Test Score" or one
of the course's launch items) was done by hand, with a note; it counts half a point until
it expires. The gate's overrides are deployment events (their ``override`` column), not rows
here.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checklist_attestations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(200), nullable=False, index=True),
        sa.Column("item", sa.String(40), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("checklist_attestations")

"""prediction_files also holds API log chunks: their Parquet bytes inline, their last time

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("prediction_files") as batch:
        batch.add_column(
            sa.Column("inline", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("data", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("at_last", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_prediction_files_at_last", ["at_last"])


def downgrade() -> None:
    with op.batch_alter_table("prediction_files") as batch:
        batch.drop_index("ix_prediction_files_at_last")
        batch.drop_column("at_last")
        batch.drop_column("data")
        batch.drop_column("inline")

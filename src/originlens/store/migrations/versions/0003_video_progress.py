"""video progress: frames analysed so far and frames to analyse

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 10:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("analyses") as batch:
        batch.add_column(sa.Column("frames_done", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("frames_total", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("analyses") as batch:
        batch.drop_column("frames_total")
        batch.drop_column("frames_done")

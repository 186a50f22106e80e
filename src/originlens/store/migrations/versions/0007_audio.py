"""audio: a recording's duration, seconds of speech and waveform envelope

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("analyses") as batch:
        batch.add_column(sa.Column("duration_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("speech_seconds", sa.Float(), nullable=True))
        batch.add_column(sa.Column("waveform", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("analyses") as batch:
        batch.drop_column("waveform")
        batch.drop_column("speech_seconds")
        batch.drop_column("duration_s")

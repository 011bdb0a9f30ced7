"""Rank groups of the boards: the board's submissions scored together, their paired-bootstrap rank groups.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("rankings",
                    sa.Column("cube", sa.String(length=64), nullable=False),
                    sa.Column("board", sa.String(length=8), nullable=False),
                    sa.Column("key", sa.String(length=64), nullable=False),
                    sa.Column("groups", sa.Text(), nullable=False),
                    sa.Column("computed_at", sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint("cube", "board"))


def downgrade() -> None:
    op.drop_table("rankings")

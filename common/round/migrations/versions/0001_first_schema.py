"""The first schema: teams, organiser tokens, submissions with their files and events, web sessions, login
failures and the round's state.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("teams",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("name", sa.String(length=64), nullable=False),
                    sa.Column("token_hash", sa.String(length=64), nullable=False),
                    sa.Column("created_at", sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint("id"), sa.UniqueConstraint("name"), sa.UniqueConstraint("token_hash"))
    op.create_table("organiser_tokens",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("token_hash", sa.String(length=64), nullable=False),
                    sa.Column("created_at", sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint("id"), sa.UniqueConstraint("token_hash"))
    op.create_table("round_state",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("closed_at", sa.DateTime(), nullable=True),
                    sa.PrimaryKeyConstraint("id"))
    op.create_table("login_failures",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("client", sa.String(length=64), nullable=False),
                    sa.Column("at", sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint("id"))
    op.create_index("ix_login_failures_client", "login_failures", ["client"])
    op.create_table("sessions",
                    sa.Column("id_hash", sa.String(length=64), nullable=False),
                    sa.Column("team_id", sa.Integer(), nullable=True),
                    sa.Column("organiser", sa.Boolean(), nullable=False),
                    sa.Column("csrf", sa.String(length=64), nullable=False),
                    sa.Column("expires_at", sa.DateTime(), nullable=False),
                    sa.ForeignKeyConstraint(["team_id"], ["teams.id"]), sa.PrimaryKeyConstraint("id_hash"))
    op.create_table("submissions",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("public_id", sa.String(length=32), nullable=False),
                    sa.Column("team_id", sa.Integer(), nullable=False),
                    sa.Column("cube", sa.String(length=64), nullable=False),
                    sa.Column("division", sa.String(length=8), nullable=False),
                    sa.Column("content_sha256", sa.String(length=64), nullable=False),
                    sa.Column("file_count", sa.Integer(), nullable=False),
                    sa.Column("total_bytes", sa.BigInteger(), nullable=False),
                    sa.Column("image", sa.Text(), nullable=True),
                    sa.Column("image_archive_sha256", sa.String(length=64), nullable=True),
                    sa.Column("image_digest", sa.Text(), nullable=True),
                    sa.Column("state", sa.String(length=16), nullable=False),
                    sa.Column("reason", sa.Text(), nullable=True),
                    sa.Column("submitted_at", sa.DateTime(), nullable=False),
                    sa.Column("started_at", sa.DateTime(), nullable=True),
                    sa.Column("finished_at", sa.DateTime(), nullable=True),
                    sa.Column("attempt", sa.Integer(), nullable=False),
                    sa.Column("lost", sa.Integer(), nullable=False),
                    sa.Column("lease_owner", sa.String(length=128), nullable=True),
                    sa.Column("lease_expires_at", sa.DateTime(), nullable=True),
                    sa.Column("score", sa.Float(), nullable=True),
                    sa.Column("score_private", sa.Float(), nullable=True),
                    sa.Column("result", sa.Text(), nullable=True),
                    sa.Column("final", sa.Boolean(), nullable=False),
                    sa.Column("disqualified", sa.Boolean(), nullable=False),
                    sa.ForeignKeyConstraint(["team_id"], ["teams.id"]), sa.PrimaryKeyConstraint("id"),
                    sa.UniqueConstraint("public_id"))
    op.create_index("ix_submissions_team_id", "submissions", ["team_id"])
    op.create_index("ix_submissions_state", "submissions", ["state"])
    op.create_index("ix_submissions_queue", "submissions", ["state", "lease_expires_at"])
    op.create_index("ix_submissions_team_cube_time", "submissions", ["team_id", "cube", "submitted_at"])
    op.create_table("submission_files",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("submission_id", sa.Integer(), nullable=False),
                    sa.Column("name", sa.Text(), nullable=False),
                    sa.Column("sha256", sa.String(length=64), nullable=False),
                    sa.Column("size", sa.BigInteger(), nullable=False),
                    sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"]), sa.PrimaryKeyConstraint("id"))
    op.create_index("ix_submission_files_submission_id", "submission_files", ["submission_id"])
    op.create_table("events",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("submission_id", sa.Integer(), nullable=False),
                    sa.Column("at", sa.DateTime(), nullable=False),
                    sa.Column("state", sa.String(length=16), nullable=False),
                    sa.Column("attempt", sa.Integer(), nullable=False),
                    sa.Column("note", sa.Text(), nullable=True),
                    sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"]), sa.PrimaryKeyConstraint("id"))
    op.create_index("ix_events_submission_id", "events", ["submission_id"])


def downgrade() -> None:
    for table in ("events", "submission_files", "submissions", "sessions", "login_failures", "round_state",
                  "organiser_tokens", "teams"):
        op.drop_table(table)

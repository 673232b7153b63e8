"""Login attempts across scans (lockout budget) and security facts in the history.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``login_attempts`` and the ``scan_hosts.security`` column."""
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_key", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("protocol", sa.String(length=16), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.Boolean(), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index(op.f("ix_login_attempts_device_key"), "login_attempts", ["device_key"])
    op.create_index(op.f("ix_login_attempts_address"), "login_attempts", ["address"])
    op.create_index(op.f("ix_login_attempts_at"), "login_attempts", ["at"])
    with op.batch_alter_table("scan_hosts") as batch:
        batch.add_column(sa.Column("security", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    with op.batch_alter_table("scan_hosts") as batch:
        batch.drop_column("security")
    op.drop_table("login_attempts")

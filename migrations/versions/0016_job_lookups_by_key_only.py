"""A job is looked up by its id through the primary key only, whatever the planner's statistics say (issue #16).

The queue's statements are prepared once per connection, and Postgres may settle on a generic plan while the
table is nearly empty (a fresh queue, or right after a burst was cleaned up). Two other indexes could then
serve a lookup by id, and both read every entry they hold once the table has grown:

- `(created_at, job_id)`: `job_id = ANY(...)` is an index condition on its second column, so the claim's
  update scanned the whole index to find the ten rows it had just locked (measured: 15-19 ms per claim
  instead of 0.8 ms, 1,400 buffers, in the worker connections that had cached this plan; a third of the
  benchmark's rounds);
- the lease index (`WHERE status = 'RUNNING'`): a finish, heartbeat or progress says `status = 'RUNNING'`,
  which implies the predicate, so a full scan of every running version (dead ones included) was a candidate.

So the listing index keeps `created_at` only (newest-first pages add the id as an incremental sort of equal
times), and the lease index holds the rows whose lease can expire, `status = 'RUNNING' AND lease_expires_at
IS NOT NULL`, which only a question about `lease_expires_at` implies. Running jobs always carry a lease, so it
holds the same rows as before. Down restores both indexes as revision 0014 left them.

Revision ID: 0016_job_lookups_by_key_only
Revises: 0015_param_values
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_job_lookups_by_key_only"
down_revision: str | Sequence[str] | None = "0015_param_values"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "stage1_jobs"
LEASE = "ix_stage1_jobs_lease"
LISTED = "ix_stage1_jobs_created_at"
LISTED_BEFORE = "ix_stage1_jobs_created_at_job_id"
RUNNING = sa.text("status = 'RUNNING'")
LEASED = sa.text("status = 'RUNNING' AND lease_expires_at IS NOT NULL")


def upgrade() -> None:
    op.drop_index(LEASE, TABLE)
    op.create_index(LEASE, TABLE, ["lease_expires_at"], postgresql_where=LEASED, sqlite_where=LEASED)
    op.drop_index(LISTED_BEFORE, TABLE)
    op.create_index(LISTED, TABLE, ["created_at"])


def downgrade() -> None:
    op.drop_index(LISTED, TABLE)
    op.create_index(LISTED_BEFORE, TABLE, ["created_at", "job_id"])
    op.drop_index(LEASE, TABLE)
    op.create_index(LEASE, TABLE, ["lease_expires_at"], postgresql_where=RUNNING, sqlite_where=RUNNING)

"""outbox secrets apart from the text (no confirmation code kept in clear); request fingerprints for idempotency keys

- `outbox.secret`: a confirmation code is kept here, encrypted, until its message is sent (notify/tasks.py), and the
  body holds only a mark where it goes. The bodies of the code messages already in the table are blanked: those
  sent or given up on keep a note of what they were; one still waiting is withdrawn (its code would otherwise stay
  in the table once sent) — the visit is then confirmed by the person's card or by staff.
- `request_hash` on cases and service orders, written under an Idempotency-Key: a digest of the request, so that a
  key used again with another request is refused (422) instead of answering with the first record. (Donations and
  redemptions compare the stored record itself.)

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

CODE_MESSAGES = "channel = 'sms' AND ref LIKE 'care-visit/%'"
BLANKED = "【家园】志愿者探访确认码短信（内容已清除）"
HASHED = ('cases', 'service_orders')


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secret', sa.String(length=200), nullable=True))
    for table in HASHED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('request_hash', sa.String(length=64), nullable=True))
    blanked = sa.bindparam('blanked', BLANKED)
    op.execute(sa.text(f"UPDATE outbox SET status = 'failed', last_error = 'withdrawn: it held a code in clear' "
                       f"WHERE {CODE_MESSAGES} AND status IN ('pending', 'sending')"))
    op.execute(sa.text(f"UPDATE outbox SET body = :blanked WHERE {CODE_MESSAGES}").bindparams(blanked))


def downgrade() -> None:
    for table in reversed(HASHED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('request_hash')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('secret')

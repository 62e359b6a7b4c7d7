"""The refund kind pledge_reduced: a buyer pledging fewer units while the campaign is open gets back what was
paid for the units dropped.

Revision ID: e4b1c7d9a215
Revises: c5a8e3f2d104
Create Date: 2026-12-03 12:10:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e4b1c7d9a215'
down_revision = 'c5a8e3f2d104'
branch_labels = None
depends_on = None

REFUND_KINDS = ('cancellation', 'no_reason_return', 'quality_claim', 'harvest_shortfall', 'other')
NEW_REFUND_KINDS = ('cancellation', 'no_reason_return', 'quality_claim', 'harvest_shortfall', 'pledge_reduced',
                    'other')


def _refund_kinds(kinds):
    # batch: SQLite cannot change a CHECK constraint in place (the table is copied); PostgreSQL alters it.
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_refund_refund_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_refund_refund_kind'),
                                         f"kind IN ({', '.join(repr(kind) for kind in kinds)})")


def upgrade():
    _refund_kinds(NEW_REFUND_KINDS)


def downgrade():
    op.execute("UPDATE refund SET kind = 'other' WHERE kind = 'pledge_reduced'")
    _refund_kinds(REFUND_KINDS)

"""Supplier member roles and the county step of vetting.

Member roles: owner, manager, staff. Members from before the split could approve refunds and adjust stock, so
every existing staff member becomes a manager (owners stay owners).
County step: county_reviewer (a user appointed for one district) and the supplier status "recommended".
Applications pending at upgrade stay pending: they now wait for their county's recommendation.

Revision ID: 3c1e8a9d5f20
Revises: b0c749820bba
Create Date: 2026-12-02 12:45:00.000000

"""
from alembic import op
import sqlalchemy as sa
import shop.database  # noqa: F401  (column types used by the models)


# revision identifiers, used by Alembic.
revision = '3c1e8a9d5f20'
down_revision = 'b0c749820bba'
branch_labels = None
depends_on = None

ROLE_CHECK = 'ck_supplier_member_supplier_member_role'
STATUS_CHECK = 'ck_supplier_supplier_status'
STATUSES = ('pending', 'approved', 'rejected', 'suspended')


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _role_check(batch_op, roles):
    batch_op.create_check_constraint(op.f(ROLE_CHECK), _in('role', roles))


def _status_check(statuses):
    # SQLite copies the supplier table here: migrations/env.py turns foreign-key enforcement off while migrating,
    # so the copy neither cascades to nor refuses the rows that reference suppliers.
    with op.batch_alter_table('supplier', schema=None) as batch_op:
        batch_op.drop_constraint(op.f(STATUS_CHECK), type_='check')
        batch_op.create_check_constraint(op.f(STATUS_CHECK), _in('status', statuses))


def upgrade():
    # batch: SQLite cannot change a CHECK constraint in place (the table is copied); PostgreSQL alters it.
    with op.batch_alter_table('supplier_member', schema=None) as batch_op:
        batch_op.drop_constraint(op.f(ROLE_CHECK), type_='check')
        _role_check(batch_op, ('owner', 'manager', 'staff'))
    op.execute("UPDATE supplier_member SET role = 'manager' WHERE role = 'staff'")

    _status_check(('pending', 'recommended') + STATUSES[1:])
    op.create_table('county_reviewer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('appointed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appointed_by_id'], ['user.id'], name=op.f('fk_county_reviewer_appointed_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['district_code'], ['region.code'], name=op.f('fk_county_reviewer_district_code_region')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_county_reviewer_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_county_reviewer')),
    sa.UniqueConstraint('user_id', name=op.f('uq_county_reviewer_user_id'))
    )
    with op.batch_alter_table('county_reviewer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_county_reviewer_district_code'), ['district_code'], unique=False)


def downgrade():
    with op.batch_alter_table('county_reviewer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_county_reviewer_district_code'))
    op.drop_table('county_reviewer')
    # Without the county step a recommended applicant is waiting for the platform again: pending.
    op.execute("UPDATE supplier SET status = 'pending' WHERE status = 'recommended'")
    _status_check(STATUSES)

    # Managers were staff before the split; staff added since stay staff.
    op.execute("UPDATE supplier_member SET role = 'staff' WHERE role = 'manager'")
    with op.batch_alter_table('supplier_member', schema=None) as batch_op:
        batch_op.drop_constraint(op.f(ROLE_CHECK), type_='check')
        _role_check(batch_op, ('owner', 'staff'))

"""Supplier member roles: owner, manager, staff. Members from before the split could approve refunds and adjust
stock, so every existing staff member becomes a manager (owners stay owners).

Revision ID: 3c1e8a9d5f20
Revises: b0c749820bba
Create Date: 2026-12-02 12:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3c1e8a9d5f20'
down_revision = 'b0c749820bba'
branch_labels = None
depends_on = None

ROLE_CHECK = 'ck_supplier_member_supplier_member_role'


def _role_check(batch_op, roles):
    values = ", ".join(f"'{role}'" for role in roles)
    batch_op.create_check_constraint(op.f(ROLE_CHECK), f"role IN ({values})")


def upgrade():
    # batch: SQLite cannot change a CHECK constraint in place (the table is copied); PostgreSQL alters it.
    with op.batch_alter_table('supplier_member', schema=None) as batch_op:
        batch_op.drop_constraint(op.f(ROLE_CHECK), type_='check')
        _role_check(batch_op, ('owner', 'manager', 'staff'))
    op.execute("UPDATE supplier_member SET role = 'manager' WHERE role = 'staff'")


def downgrade():
    # Managers were staff before the split; staff added since stay staff.
    op.execute("UPDATE supplier_member SET role = 'staff' WHERE role = 'manager'")
    with op.batch_alter_table('supplier_member', schema=None) as batch_op:
        batch_op.drop_constraint(op.f(ROLE_CHECK), type_='check')
        _role_check(batch_op, ('owner', 'staff'))

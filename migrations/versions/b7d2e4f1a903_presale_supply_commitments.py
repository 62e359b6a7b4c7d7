"""Pre-sale supply commitments: what cooperatives of the lead supplier's district promise for a campaign, per
grade, and what they delivered. No existing table changes.

Revision ID: b7d2e4f1a903
Revises: 61a63ded88e6
Create Date: 2026-12-02 20:50:00.000000

"""
from alembic import op
import sqlalchemy as sa
import shop.database  # noqa: F401  (column types used by the models)


# revision identifiers, used by Alembic.
revision = 'b7d2e4f1a903'
down_revision = '61a63ded88e6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('supply_commitment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('grade', sa.String(length=20), server_default='', nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('delivered_quantity', sa.Integer(), server_default='0', nullable=False),
    sa.Column('note', sa.String(length=255), nullable=False),
    sa.Column('committed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('delivered_quantity >= 0', name=op.f('ck_supply_commitment_delivered_not_negative')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_supply_commitment_quantity_positive')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_supply_commitment_campaign_id_campaign'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['committed_by_id'], ['user.id'], name=op.f('fk_supply_commitment_committed_by_id_user')),
    sa.ForeignKeyConstraint(['supplier_id'], ['supplier.id'], name=op.f('fk_supply_commitment_supplier_id_supplier')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supply_commitment')),
    sa.UniqueConstraint('campaign_id', 'supplier_id', 'grade', name=op.f('uq_supply_commitment_campaign_id_supplier_id_grade'))
    )
    with op.batch_alter_table('supply_commitment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supply_commitment_supplier_id'), ['supplier_id'], unique=False)


def downgrade():
    with op.batch_alter_table('supply_commitment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supply_commitment_supplier_id'))

    op.drop_table('supply_commitment')

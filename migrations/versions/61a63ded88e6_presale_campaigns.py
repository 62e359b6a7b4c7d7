"""Pre-sale campaigns (以销定产): campaigns of one SKU with their own capacity counter, their history, and
pledges (one presale order each, holding capacity while active). No existing table changes.

Revision ID: 61a63ded88e6
Revises: 305e1c986afc
Create Date: 2026-12-02 17:42:05.260751

"""
from alembic import op
import sqlalchemy as sa
import shop.database  # noqa: F401  (column types used by the models)


# revision identifiers, used by Alembic.
revision = '61a63ded88e6'
down_revision = '305e1c986afc'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('campaign',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('story', sa.Text(), nullable=False),
    sa.Column('opens_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closes_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ships_from', sa.Date(), nullable=False),
    sa.Column('ships_until', sa.Date(), nullable=False),
    sa.Column('unit_price_fen', sa.Integer(), nullable=False),
    sa.Column('deposit_per_unit_fen', sa.Integer(), nullable=False),
    sa.Column('minimum_quantity', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('per_buyer_limit', sa.Integer(), nullable=True),
    sa.Column('allocation_policy', sa.Enum('pro_rata', 'first_come', 'institutions_first', name='allocation_policy', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('default_promise', sa.Enum('double_deposit', 'refund_in_full', name='campaign_default_promise', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('pledged_quantity', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'open', 'closed', 'succeeded', 'failed', 'allocated', 'fulfilling', 'completed', 'cancelled', 'suspended', name='campaign_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('suspended_from', sa.String(length=32), nullable=True),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('closes_at > opens_at', name=op.f('ck_campaign_window_ordered')),
    sa.CheckConstraint('deposit_per_unit_fen >= 0 AND deposit_per_unit_fen * 5 <= unit_price_fen', name=op.f('ck_campaign_deposit_at_most_a_fifth')),
    sa.CheckConstraint('minimum_quantity >= 1 AND minimum_quantity <= capacity', name=op.f('ck_campaign_minimum_within_capacity')),
    sa.CheckConstraint('per_buyer_limit IS NULL OR per_buyer_limit >= 1', name=op.f('ck_campaign_per_buyer_limit_positive')),
    sa.CheckConstraint('pledged_quantity >= 0 AND pledged_quantity <= capacity', name=op.f('ck_campaign_pledged_within_capacity')),
    sa.CheckConstraint('ships_until >= ships_from', name=op.f('ck_campaign_shipping_window_ordered')),
    sa.CheckConstraint('unit_price_fen > 0', name=op.f('ck_campaign_price_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_campaign_created_by_id_user')),
    sa.ForeignKeyConstraint(['sku_id'], ['sku.id'], name=op.f('fk_campaign_sku_id_sku')),
    sa.ForeignKeyConstraint(['supplier_id'], ['supplier.id'], name=op.f('fk_campaign_supplier_id_supplier')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign'))
    )
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_sku_id'), ['sku_id'], unique=False)
        batch_op.create_index('ix_campaign_status_id', ['status', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('campaign_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('from_status', sa.String(length=32), nullable=True),
    sa.Column('to_status', sa.String(length=32), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_campaign_event_actor_id_user')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_campaign_event_campaign_id_campaign'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_event'))
    )
    with op.batch_alter_table('campaign_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_event_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('pledge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('buyer_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('active', 'released', name='pledge_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('created_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('released_at', shop.database.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_pledge_quantity_positive')),
    sa.ForeignKeyConstraint(['buyer_id'], ['user.id'], name=op.f('fk_pledge_buyer_id_user')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_pledge_campaign_id_campaign'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['order.id'], name=op.f('fk_pledge_order_id_order'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pledge')),
    sa.UniqueConstraint('order_id', name=op.f('uq_pledge_order_id'))
    )
    with op.batch_alter_table('pledge', schema=None) as batch_op:
        batch_op.create_index('ix_pledge_campaign_buyer_status', ['campaign_id', 'buyer_id', 'status'], unique=False)



def downgrade():
    with op.batch_alter_table('pledge', schema=None) as batch_op:
        batch_op.drop_index('ix_pledge_campaign_buyer_status')

    op.drop_table('pledge')
    with op.batch_alter_table('campaign_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_event_campaign_id'))

    op.drop_table('campaign_event')
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_supplier_id'))
        batch_op.drop_index('ix_campaign_status_id')
        batch_op.drop_index(batch_op.f('ix_campaign_sku_id'))

    op.drop_table('campaign')

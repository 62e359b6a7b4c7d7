"""GI records: a product holds one record per GI scheme, claimed by its supplier and verified by an operator.

The single GI a product held (gi_scheme, gi_number, gi_protected_area) becomes its first record, as claimed:
nobody had verified it.

Revision ID: d4e8b2c6a9f1
Revises: c3d9a1e5f7b2
Create Date: 2026-12-02 12:39:06.778632

"""
from alembic import op
import sqlalchemy as sa
import shop.database  # noqa: F401  (column types used by the models)


# revision identifiers, used by Alembic.
revision = 'd4e8b2c6a9f1'
down_revision = 'c3d9a1e5f7b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('gi_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('scheme', sa.Enum('gi_trademark', 'gi_protected_product', 'agricultural_gi', name='gi_scheme', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('protected_area', sa.String(length=255), nullable=False),
    sa.Column('harvest_months_mask', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('claimed', 'verified', 'rejected', name='gi_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('review_note', sa.Text(), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', shop.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', shop.database.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('harvest_months_mask >= 0 AND harvest_months_mask <= 4095', name=op.f('ck_gi_record_harvest_months_mask_range')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_gi_record_product_id_product'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['user.id'], name=op.f('fk_gi_record_reviewed_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gi_record')),
    sa.UniqueConstraint('product_id', 'scheme', name=op.f('uq_gi_record_product_id_scheme'))
    )
    with op.batch_alter_table('gi_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gi_record_product_id'), ['product_id'], unique=False)

    op.execute("INSERT INTO gi_record (product_id, scheme, number, protected_area, harvest_months_mask, status,"
               " review_note, created_at) SELECT id, gi_scheme, gi_number, gi_protected_area, 0, 'claimed', '',"
               " created_at FROM product WHERE gi_scheme IS NOT NULL")
    checks = {c['name'] for c in sa.inspect(op.get_bind()).get_check_constraints('product')}
    with op.batch_alter_table('product', schema=None) as batch_op:
        if 'ck_product_gi_scheme' in checks:  # the enum's CHECK goes with its column
            batch_op.drop_constraint(op.f('ck_product_gi_scheme'), type_='check')
        batch_op.drop_column('gi_protected_area')
        batch_op.drop_column('gi_scheme')
        batch_op.drop_column('gi_number')



def downgrade():
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gi_number', sa.VARCHAR(length=64), nullable=True))
        batch_op.add_column(sa.Column('gi_scheme', sa.VARCHAR(length=32), nullable=True))
        batch_op.add_column(sa.Column('gi_protected_area', sa.VARCHAR(length=255), nullable=True))
        batch_op.create_check_constraint(op.f('ck_product_gi_scheme'), "gi_scheme IN ('gi_trademark', "
                                         "'gi_protected_product', 'agricultural_gi')")
    # Back to one GI per product: the first record of each.
    op.execute("UPDATE product SET gi_scheme = r.scheme, gi_number = r.number, gi_protected_area = r.protected_area"
               " FROM gi_record r WHERE r.product_id = product.id AND r.id = (SELECT min(id) FROM gi_record"
               " WHERE product_id = product.id)")

    with op.batch_alter_table('gi_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gi_record_product_id'))

    op.drop_table('gi_record')

"""product search_grams for two-character Chinese search on PostgreSQL

Revision ID: f7f4d879988b
Revises: 493df5a6a72c
Create Date: 2026-11-29 11:40:25.036844

"""
from alembic import op
import sqlalchemy as sa
import shop.database  # noqa: F401  (column types used by the models)
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'f7f4d879988b'
down_revision = '493df5a6a72c'
branch_labels = None
depends_on = None


def upgrade():
    grams_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_grams', grams_type, nullable=False, server_default='[]'))

    # Fill existing products from the search text they already have.
    from shop.catalog.search import grams_of

    bind = op.get_bind()
    product = sa.table("product", sa.column("id", sa.Integer), sa.column("search_text", sa.Text),
                       sa.column("search_grams", grams_type))
    for product_id, search_text in bind.execute(sa.select(product.c.id, product.c.search_text)).all():
        bind.execute(product.update().where(product.c.id == product_id).values(search_grams=grams_of(search_text)))
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.alter_column('search_grams', server_default=None)

    if bind.dialect.name == "postgresql":
        op.execute("CREATE INDEX IF NOT EXISTS ix_product_search_grams ON product "
                   "USING gin (search_grams jsonb_path_ops)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_product_search_grams")
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.drop_column('search_grams')

    # ### end Alembic commands ###

"""SQLite: an FTS5 trigram index of product.search_text, kept by triggers, so search stops scanning the table

PostgreSQL keeps its pg_trgm and search_grams GIN indexes (f7f4d879988b): nothing to do there.

Revision ID: c8f2a6d4e1b7
Revises: b7c41e5d9a03
Create Date: 2026-12-04 01:50:00.000000

"""
from alembic import op

from shop.catalog.models import SQLITE_SEARCH_INDEX_DDL, SQLITE_SEARCH_INDEX_DROP, SQLITE_SEARCH_INDEX_FILL

# revision identifiers, used by Alembic.
revision = 'c8f2a6d4e1b7'
down_revision = 'b7c41e5d9a03'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in SQLITE_SEARCH_INDEX_DDL:
        op.execute(statement)
    op.execute(SQLITE_SEARCH_INDEX_FILL)  # the products already there


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in SQLITE_SEARCH_INDEX_DROP:
        op.execute(statement)

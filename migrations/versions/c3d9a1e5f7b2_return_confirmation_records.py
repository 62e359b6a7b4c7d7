"""Return confirmations become records: product, wording version and time, instead of bare product ids.

Orders placed before this kept no wording version; their records say so (null) and take the order's time.

Revision ID: c3d9a1e5f7b2
Revises: 3c1e8a9d5f20
Create Date: 2026-12-02 12:40:00

"""
import json

from alembic import op
import sqlalchemy as sa

from shop.database import UTCDateTime

revision = 'c3d9a1e5f7b2'
down_revision = '3c1e8a9d5f20'
branch_labels = None
depends_on = None

ORDER = sa.table("order", sa.column("id", sa.Integer), sa.column("placed_at", UTCDateTime()),
                 sa.column("return_confirmations", sa.JSON))


def _rows(connection):
    return connection.execute(sa.select(ORDER.c.id, ORDER.c.placed_at, ORDER.c.return_confirmations)
                              .where(ORDER.c.return_confirmations.isnot(None))).all()


def _load(value):
    return json.loads(value) if isinstance(value, str) else value  # JSON columns hand back parsed values


def upgrade():
    connection = op.get_bind()
    for order_id, placed_at, value in _rows(connection):
        ids = [v for v in (_load(value) or []) if isinstance(v, int)]
        if not ids:
            continue
        records = [{"product_id": i, "wording_version": None, "confirmed_at": placed_at.isoformat()} for i in ids]
        connection.execute(ORDER.update().where(ORDER.c.id == order_id)
                           .values(return_confirmations=records))


def downgrade():
    connection = op.get_bind()
    for order_id, _placed_at, value in _rows(connection):
        records = _load(value) or []
        ids = [r["product_id"] for r in records if isinstance(r, dict)]
        connection.execute(ORDER.update().where(ORDER.c.id == order_id).values(return_confirmations=ids))

"""The Alembic migrations build exactly the schema the models describe, and take it down again.

Runs on a fresh database: a SQLite file in tmp_path, or, when TEST_DATABASE_URL points to PostgreSQL, a new
database created on that server for this test and dropped afterwards.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from config import TestingConfig, normalise_database_url
from shop import create_app
from shop.database import include_object
from shop.extensions import db

MIGRATIONS_DIR = str(Path(__file__).resolve().parents[1] / "migrations")


def _server_url(url) -> str:
    """A libpq URL psycopg can connect to (no SQLAlchemy driver suffix)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def fresh_database_url(tmp_path):
    configured = os.environ.get("TEST_DATABASE_URL")
    if not configured or not configured.startswith(("postgres://", "postgresql")):
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return

    import psycopg

    base = make_url(normalise_database_url(configured))
    name = f"migrations_check_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_server_url(base), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_server_url(base), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def migration_app(fresh_database_url):
    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = fresh_database_url

    app = create_app(Config)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _schema_diff(connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": include_object})
    return compare_metadata(context, db.metadata)


def test_upgrade_matches_models_and_downgrade_removes_everything(migration_app):
    from flask_migrate import downgrade, upgrade

    with migration_app.app_context():
        assert db.engine.url.database == make_url(migration_app.config["SQLALCHEMY_DATABASE_URI"]).database
        assert inspect(db.engine).get_table_names() == []

        upgrade(directory=MIGRATIONS_DIR)

        tables = set(inspect(db.engine).get_table_names())
        assert {"user", "api_token", "region", "support_pair", "alembic_version"} <= tables
        assert {t.name for t in db.metadata.sorted_tables} <= tables
        with db.engine.connect() as connection:
            diff = _schema_diff(connection)
        assert diff == [], "models and migrations disagree; run `flask db migrate`:\n" + "\n".join(map(str, diff))

        downgrade(directory=MIGRATIONS_DIR, revision="base")

        db.engine.dispose()
        remaining = set(inspect(db.engine).get_table_names())
        assert remaining <= {"alembic_version"}, remaining


def test_migrations_can_be_replayed(migration_app):
    """upgrade → downgrade → upgrade: the downgrade leaves nothing behind that blocks a second upgrade."""
    from flask_migrate import downgrade, upgrade

    with migration_app.app_context():
        upgrade(directory=MIGRATIONS_DIR)
        downgrade(directory=MIGRATIONS_DIR, revision="base")
        upgrade(directory=MIGRATIONS_DIR)
        with db.engine.connect() as connection:
            assert _schema_diff(connection) == []


def test_return_confirmations_become_records_and_back(migration_app):
    """Orders placed before wording versions were kept: their product ids become records with no version and
    the order's time; the downgrade gives the bare ids back."""
    import json

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    with migration_app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="b0c749820bba")
        with db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO \"user\" (id, email, email_normalized, display_name, password_hash, is_platform_admin,"
                " is_active_account, session_version, created_at) VALUES (1, 'a@b.test', 'a@b.test', 'a', 'x',"
                " false, true, 1, '2026-05-01 08:00:00')"))
            order = ("INSERT INTO \"order\" (id, buyer_id, channel, status, payment_terms, currency, subtotal_fen,"
                     " shipping_fen, discount_fen, total_fen, paid_fen, refunded_fen, payment_plan, deposit_fen,"
                     " shipping_address, return_confirmations, note, flagged, flag_reason, placed_at) VALUES"
                     " (:id, 1, 'retail', 'paid', 'prepaid', 'CNY', 100, 0, 0, 100, 100, 0, 'card', 0, '{}', :rc,"
                     " '', false, '', '2026-05-01 08:00:00')")
            connection.execute(text(order), [{"id": 1, "rc": "[7, 9]"}, {"id": 2, "rc": "[]"}])
        upgrade(directory=MIGRATIONS_DIR)
        with db.engine.connect() as connection:
            rows = dict(connection.execute(text('SELECT id, return_confirmations FROM "order" ORDER BY id')).all())
        records = [json.loads(v) if isinstance(v, str) else v for v in (rows[1], rows[2])]
        assert [r["product_id"] for r in records[0]] == [7, 9] and records[1] == []
        assert {r["wording_version"] for r in records[0]} == {None}
        assert records[0][0]["confirmed_at"].startswith("2026-05-01T08:00:00")
        downgrade(directory=MIGRATIONS_DIR, revision="b0c749820bba")
        with db.engine.connect() as connection:
            value = connection.execute(text('SELECT return_confirmations FROM "order" WHERE id = 1')).scalar()
        assert (json.loads(value) if isinstance(value, str) else value) == [7, 9]


def test_member_roles_upgrade_makes_existing_staff_managers(migration_app):
    """Before roles were split every member could decide refunds and adjust stock: they keep that as managers.
    The same migration adds the county step, and copying the supplier table on SQLite must lose nothing."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    with migration_app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="b0c749820bba")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO region (code, name, level, reservoir_district) "
                              "VALUES ('500237', '巫山县', 'county', TRUE)"))
            for user_id in (1, 2, 3):
                conn.execute(text(
                    'INSERT INTO "user" (id, email, email_normalized, display_name, password_hash, '
                    "is_platform_admin, is_active_account, session_version, created_at) VALUES "
                    "(:id, :email, :email, 'u', 'x', FALSE, TRUE, 1, CURRENT_TIMESTAMP)"),
                    {"id": user_id, "email": f"u{user_id}@example.com"})
            conn.execute(text(
                "INSERT INTO supplier (id, name, kind, credit_code, district_code, contact_name, contact_phone, "
                "address, farmer_linkage, represented_producers, is_demo, status, status_reason, created_at) VALUES "
                "(1, 's', 'cooperative', '91500237000000001X', '500237', 'c', '+8613812345678', 'a', '', '[]', "
                "FALSE, 'approved', '', CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO supplier_member (supplier_id, user_id, role, created_at) VALUES "
                              "(1, 1, 'owner', CURRENT_TIMESTAMP), (1, 2, 'staff', CURRENT_TIMESTAMP), "
                              "(1, 3, 'staff', CURRENT_TIMESTAMP)"))

        upgrade(directory=MIGRATIONS_DIR)

        def roles():
            with db.engine.connect() as conn:
                return conn.execute(text("SELECT user_id, role FROM supplier_member ORDER BY user_id")).all()

        # SQLite copies the supplier table to add "recommended": its members must survive (no cascade).
        assert roles() == [(1, "owner"), (2, "manager"), (3, "manager")]
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE supplier SET status = 'recommended' WHERE id = 1"))
        with db.engine.begin() as conn:  # the new role set is what the constraint now allows
            conn.execute(text("UPDATE supplier_member SET role = 'staff' WHERE user_id = 3"))
        with pytest.raises(Exception):
            with db.engine.begin() as conn:
                conn.execute(text("UPDATE supplier_member SET role = 'boss' WHERE user_id = 3"))

        downgrade(directory=MIGRATIONS_DIR, revision="b0c749820bba")
        assert roles() == [(1, "owner"), (2, "staff"), (3, "staff")]
        with db.engine.connect() as conn:  # without the county step it waits for the platform again
            assert conn.execute(text("SELECT status FROM supplier")).scalar_one() == "pending"


def test_a_populated_database_goes_down_and_up_without_losing_a_row(migration_app):
    """SQLite copies a table to change it; with foreign keys enforced, dropping the old copy refused (or
    cascaded to) the rows referencing it. The demo shop, with its order history, must survive both ways."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from shop.demo import load_demo_data
    from shop.regions.services import load_reference_data

    tables = ("supplier", "supplier_member", "product", "sku", "stock_movement", "order", "order_line",
              "fulfillment", "payment", "refund", "refund_line")

    def counts():
        with db.engine.connect() as connection:
            return {t: connection.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in tables}

    with migration_app.app_context():
        upgrade(directory=MIGRATIONS_DIR)
        load_reference_data()
        load_demo_data()
        db.session.remove()
        before = counts()
        assert before["order"] > 0 and before["refund"] > 0
        downgrade(directory=MIGRATIONS_DIR, revision="b0c749820bba")
        assert counts() == before
        upgrade(directory=MIGRATIONS_DIR)
        assert counts() == before
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM gi_record")).scalar() > 0  # carried both ways
            if connection.dialect.name == "sqlite":
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_lines_paid_before_attribution_get_their_entries_and_reattribute_puts_them_on_pairs(migration_app,
                                                                                             monkeypatch):
    """The demo shop's history paid before the attribution revision: the upgrade writes each line's payment and
    refund entries on no pair, exact to the fen; `reattribute` then moves them to the pairs, once."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from shop.assistance.reattribution import reattribute

    with migration_app.app_context():
        _demo_at_revision("e4b1c7d9a215", monkeypatch)
        upgrade(directory=MIGRATIONS_DIR)
        exact = ("SELECT count(*) FROM order_line l LEFT JOIN (SELECT order_line_id, SUM(amount_fen) AS fen "
                 "FROM attribution_entry GROUP BY order_line_id) e ON e.order_line_id = l.id "
                 "WHERE COALESCE(e.fen, 0) <> l.paid_fen - l.refunded_fen")
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM attribution_entry WHERE source = 'refund'")).scalar()
            assert connection.execute(text("SELECT count(*) FROM attribution_entry WHERE pair_id IS NOT NULL"
                                           )).scalar() == 0
            assert connection.execute(text(exact)).scalar() == 0
        moved = reattribute()
        assert moved.lines > 0 and moved.moved_fen > 0
        assert any(m.supporter_code == "320000" and m.district_code == "500235" and m.in_fen > 0
                   for m in moved.moves.values())  # 江苏 → 云阳, as the demo orders imply
        assert reattribute().lines == 0
        with db.engine.connect() as connection:
            assert connection.execute(text(exact)).scalar() == 0
        db.session.remove()


def test_money_moved_before_settlements_gets_its_entries_per_supplier(migration_app, monkeypatch):
    """The demo shop's history, paid before the settlements revision: the upgrade writes each line's and each
    shipping fee's payment and refund entries for its supplier, so the settlement ledger adds up from the start."""
    from flask_migrate import upgrade
    from sqlalchemy import text


    with migration_app.app_context():
        _demo_at_revision("3a4381496d56", monkeypatch)
        upgrade(directory=MIGRATIONS_DIR)
        held = ("SELECT s.supplier_id, SUM(s.fen) FROM (SELECT supplier_id, paid_fen - refunded_fen AS fen FROM "
                "order_line UNION ALL SELECT supplier_id, shipping_paid_fen - shipping_refunded_fen FROM fulfillment) "
                "s GROUP BY s.supplier_id HAVING SUM(s.fen) <> 0 ORDER BY 1")
        entries = "SELECT supplier_id, SUM(amount_fen) FROM settlement_entry GROUP BY supplier_id ORDER BY 1"
        with db.engine.connect() as connection:
            expected = [tuple(row) for row in connection.execute(text(held))]
            assert expected and [tuple(row) for row in connection.execute(text(entries))] == expected
            assert connection.execute(text("SELECT count(*) FROM settlement_entry WHERE kind = 'shipping' "
                                           "AND source = 'refund'")).scalar()
        db.session.remove()


def _demo_at_revision(revision: str, monkeypatch) -> None:
    """The demo shop loaded by today's code into the schema of an older revision (in an app context)."""
    from flask_migrate import upgrade

    from shop.demo import load_demo_data
    from shop.orders.signals import line_money_moved
    from shop.regions.services import load_reference_data

    upgrade(directory=MIGRATIONS_DIR, revision=revision)
    load_reference_data()
    with line_money_moved.muted(), monkeypatch.context() as patch:
        # The code of today would write attribution, settlement and audit entries the old schema has no table for.
        patch.setattr("shop.audit.services.record", lambda *args, **kwargs: None)
        patch.setattr("shop.demo_history.ENTRY_ROWS", ())
        load_demo_data()
    db.session.remove()


def test_the_sqlite_search_index_takes_in_the_products_already_there(migration_app, monkeypatch):
    """The FTS5 revision fills its index from the catalog it finds, its triggers follow later writes, and its
    downgrade takes the tables away (PostgreSQL: the revision does nothing)."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import select, text

    from shop.catalog import search
    from shop.catalog.models import Product

    with migration_app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("the FTS5 index is SQLite's")
        _demo_at_revision("b7c41e5d9a03", monkeypatch)
        upgrade(directory=MIGRATIONS_DIR)
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE product SET search_text = search_text || ' 新词xinci' "
                                    "WHERE id = (SELECT min(id) FROM product)"))
        with db.engine.connect() as connection:
            products = connection.execute(text("SELECT count(*) FROM product")).scalar()
            assert products > 0
            assert connection.execute(text("SELECT count(*) FROM product_search")).scalar() == products
            for needle in ("脆李", "巫山", "李", "wscl", "w", "新词", "xinci"):
                narrowed = connection.execute(select(Product.id).where(search.matches(needle, "sqlite"))).all()
                scanned = connection.execute(select(Product.id).where(
                    Product.search_text.contains(needle, autoescape=True))).all()
                assert sorted(narrowed) == sorted(scanned) != [], needle
        downgrade(directory=MIGRATIONS_DIR, revision="b7c41e5d9a03")
        assert not {"product_search", "product_search_terms"} & set(inspect(db.engine).get_table_names())
        db.session.remove()

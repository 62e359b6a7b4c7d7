"""shop.transaction: one unit of work commits once, at the outermost `with transaction()`, or writes nothing."""
from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from shop import transaction as units
from shop.accounts.models import User
from shop.errors import Conflict
from shop.extensions import db
from shop.transaction import end_read, transaction
from tests.support import unique_email


class Boom(Exception):
    pass


def new_user(email: str | None = None) -> User:
    email = email or unique_email("tx")
    user = User(email=email, email_normalized=email, display_name="Unit", password_hash="not-a-real-hash")
    db.session.add(user)
    return user


def stored_emails() -> set[str]:
    """What is committed, read on a connection of its own (not the session, which sees its own flushes). A raw
    DBAPI connection: on SQLite the engine's BEGIN IMMEDIATE would wait for the lock a unit in progress holds."""
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute('SELECT email_normalized FROM "user"')
        emails = {row[0] for row in cursor.fetchall()}
        cursor.close()
        return emails
    finally:
        raw.close()


@contextlib.contextmanager
def counting_commits():
    """The commits the session actually makes meanwhile."""
    commits = []
    session = db.session()

    def after_commit(_session):
        commits.append(1)

    event.listen(session, "after_commit", after_commit)
    try:
        yield commits
    finally:
        event.remove(session, "after_commit", after_commit)


@pytest.fixture(autouse=True)
def _no_open_read():
    db.session.commit()  # the test starts outside any transaction
    yield


def test_success_commits():
    with counting_commits() as commits:
        with transaction() as tx:
            assert units.current() is tx
            user = new_user()
    assert len(commits) == 1
    assert units.current() is None
    assert stored_emails() == {user.email_normalized}


def test_an_exception_rolls_back_and_propagates():
    email = unique_email("tx")
    with pytest.raises(Boom):
        with transaction():
            new_user(email)
            db.session.flush()  # even written to the database, within the transaction
            raise Boom
    assert stored_emails() == set()
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert units.current() is None


def test_an_integrity_error_is_a_409_conflict_with_the_given_code_and_nothing_is_written():
    email = unique_email("tx")
    with pytest.raises(Conflict) as excinfo:
        with transaction(conflict="email_taken_in_test", conflict_detail="Taken, says the test."):
            new_user(unique_email("tx"))  # written first, rolled back with the rest
            new_user(email)
            new_user(email)  # the unique index on email_normalized
    assert (excinfo.value.status, excinfo.value.code, excinfo.value.detail) == (
        409, "email_taken_in_test", "Taken, says the test.")
    assert isinstance(excinfo.value.__cause__, IntegrityError)
    assert stored_emails() == set()


def test_without_a_conflict_code_the_integrity_error_propagates_as_is():
    email = unique_email("tx")
    with pytest.raises(IntegrityError):
        with transaction():
            new_user(email)
            new_user(email)
    assert stored_emails() == set()


def test_a_committed_row_makes_a_later_duplicate_conflict():
    email = unique_email("tx")
    with transaction(conflict="email_taken_in_test"):
        new_user(email)
    with pytest.raises(Conflict):
        with transaction(conflict="email_taken_in_test"):
            new_user(email)
    assert stored_emails() == {email}


def test_nested_units_join_the_outer_one_and_commit_once():
    with counting_commits() as commits:
        with transaction() as outer:
            first = new_user()
            with transaction() as inner:
                assert inner is outer
                second = new_user()
                db.session.flush()
            assert commits == [] and stored_emails() == set()  # the inner unit did not commit
            third = new_user()
    assert len(commits) == 1
    assert stored_emails() == {first.email_normalized, second.email_normalized, third.email_normalized}


def test_a_failure_in_the_outer_unit_after_the_inner_finished_rolls_back_the_inner_writes():
    with counting_commits() as commits:
        with pytest.raises(Boom):
            with transaction():
                with transaction():
                    new_user()
                    db.session.flush()
                new_user()
                raise Boom
    assert commits == []
    assert stored_emails() == set()


def test_a_failure_in_the_inner_unit_rolls_back_the_outer_writes_too():
    with pytest.raises(Boom):
        with transaction():
            new_user()
            with transaction():
                new_user()
                raise Boom
    assert stored_emails() == set()


def test_an_inner_conflict_code_applies_to_the_inner_units_writes():
    email = unique_email("tx")
    with transaction():
        new_user(email)
    with pytest.raises(Conflict) as excinfo:
        with transaction():
            outer_user = new_user()
            with transaction(conflict="inner_conflict"):  # flushed at its end: the conflict is found here
                new_user(email)
            pytest.fail("the inner unit's conflict is raised where the inner unit ends")
    assert excinfo.value.code == "inner_conflict"
    assert stored_emails() == {email}
    assert outer_user.email_normalized not in stored_emails()


def test_after_commit_callbacks_run_after_the_outermost_commit_only_in_order():
    calls = []
    with counting_commits() as commits:
        with transaction() as outer:
            user = new_user()

            def seen(name):
                return lambda: calls.append((name, len(commits), user.email_normalized in stored_emails()))

            outer.after_commit(seen("outer 1"))
            with transaction() as inner:
                inner.after_commit(seen("inner"))
            assert calls == []  # not when the inner unit ends
            outer.after_commit(seen("outer 2"))
            assert calls == []
    # each ran once, in the order registered, after the one commit, with the row committed
    assert calls == [("outer 1", 1, True), ("inner", 1, True), ("outer 2", 1, True)]


def test_after_commit_callbacks_never_run_after_a_rollback():
    calls = []
    with pytest.raises(Boom):
        with transaction() as tx:
            new_user()
            tx.after_commit(lambda: calls.append("outer"))
            with transaction() as inner:
                inner.after_commit(lambda: calls.append("inner"))
            raise Boom
    with pytest.raises(Conflict):
        with transaction(conflict="email_taken_in_test") as tx:
            email = unique_email("tx")
            new_user(email)
            new_user(email)
            tx.after_commit(lambda: calls.append("conflict"))
    assert calls == []
    with transaction() as tx:  # a later unit starts with no callback left over
        tx.after_commit(lambda: calls.append("later"))
    assert calls == ["later"]


def test_end_read_ends_a_read_but_refuses_inside_a_unit():
    db.session.scalar(select(func.count()).select_from(User))
    end_read()
    assert not db.session().in_transaction()
    with transaction():
        user = new_user()
        with pytest.raises(RuntimeError):
            end_read()
        with transaction():
            with pytest.raises(RuntimeError):
                end_read()
    assert stored_emails() == {user.email_normalized}  # the unit itself was not disturbed


def test_on_sqlite_a_unit_in_a_read_only_request_ends_the_deferred_read_and_takes_the_write_lock(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("BEGIN DEFERRED/IMMEDIATE is SQLite's")
    with app.test_request_context("/api/v1/products", method="GET"):
        db.session.scalar(select(func.count()).select_from(User))  # a GET request's read
        assert db.session.connection().info["sqlite_begin"] == "DEFERRED"
        email = unique_email("tx")
        with transaction():
            assert db.session.connection().info["sqlite_begin"] == "IMMEDIATE"
            new_user(email)
        assert stored_emails() == {email}
        db.session.scalar(select(func.count()).select_from(User))  # reads after the unit begin deferred again
        assert db.session.connection().info["sqlite_begin"] == "DEFERRED"
        db.session.commit()
    with app.test_request_context("/api/v1/products", method="POST"):  # an unsafe request: the lock at once
        db.session.scalar(select(func.count()).select_from(User))
        assert db.session.connection().info["sqlite_begin"] == "IMMEDIATE"
        db.session.commit()

"""One way to run a unit of work.

    with transaction() as tx:
        ...                          # reads and writes
        tx.after_commit(send_email)  # runs once the commit has succeeded, never after a rollback

Success commits, an exception rolls back and propagates; `conflict="code"` turns an IntegrityError (a unique
key lost to a concurrent request) into a 409 with that code. A `transaction()` opened inside another joins
it: one commit, at the outermost, and the inner unit's callbacks run after that commit.

`expire_on_commit=False` keeps what the unit read and wrote loaded after its commit instead of expiring it (the
next attribute access would SELECT each object again). Only for a unit whose objects are answered as they are
right after the commit (the cart after an add, the order just placed): they are then not re-read, so they do not
show what another request changed later, nor what a Core UPDATE of the unit changed (stock.reserve). Asked of a
unit that joins another, it is ignored: the outermost unit commits.

Service functions that do their work in the caller's unit instead of opening their own take that unit as
their first parameter (`def open_refund(tx, order, ...)`): the signature says that it joins, and it can
register after-commit work on it.

On SQLite a unit of work takes the database's write lock when it begins (BEGIN IMMEDIATE), so concurrent
writers queue on the busy timeout instead of failing when a read upgrades to a write; reads outside a unit of
work in requests that do not change anything (GET, HEAD, OPTIONS) begin deferred and never queue behind
writers (see `shop.database.configure_sqlite`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError

from shop.errors import Conflict
from shop.extensions import db

_STACK = "units_of_work"


class Transaction:
    """The unit of work in progress: where after-commit work is registered."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[], object]] = []

    def after_commit(self, callback: Callable[[], object]) -> None:
        self._callbacks.append(callback)

    def _run_callbacks(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()


def current() -> Transaction | None:
    stack = db.session.info.get(_STACK)
    return stack[-1] if stack else None


def wants_write_lock() -> bool:
    """Read by the SQLite BEGIN hook: a unit of work is open (or about to begin) on this session."""
    return bool(db.session.info.get(_STACK))


@contextmanager
def transaction(*, conflict: str | None = None, conflict_detail: str = "That conflicts with an existing record.",
                expire_on_commit: bool = True) -> Iterator[Transaction]:
    session = db.session()
    stack = session.info.setdefault(_STACK, [])
    if stack:  # join the caller's unit of work
        try:
            yield stack[-1]
            if conflict:
                session.flush()  # so the caller's conflict code applies to this unit's writes
        except IntegrityError as error:
            if conflict:
                raise Conflict(conflict_detail, code=conflict) from error
            raise
        return
    tx = Transaction()
    _end_deferred_read(session)
    stack.append(tx)
    try:
        yield tx
        _commit(session, expire=expire_on_commit)
    except IntegrityError as error:
        session.rollback()
        if conflict:
            raise Conflict(conflict_detail, code=conflict) from error
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        stack.pop()
    tx._run_callbacks()


def _commit(session, *, expire: bool) -> None:
    if expire:
        session.commit()
        return
    previous, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = previous


def _end_deferred_read(session) -> None:
    """On SQLite a read-only request began deferred (loading the current user, say). A deferred read cannot
    safely become a write (SQLite answers 'database is locked' at once when another writer got in between), so
    end it: the unit's own transaction then begins with the write lock and a fresh view of the data."""
    if session.in_transaction() and session.connection().info.get("sqlite_begin") == "DEFERRED":
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("unflushed changes outside a unit of work")
        session.commit()


def end_read() -> None:
    """End the current read-only transaction, before a network call or a wait: nothing is held meanwhile,
    and what is read next sees what others committed."""
    if current() is not None:
        raise RuntimeError("end_read() inside a unit of work would commit it half done")
    if db.session().in_transaction():  # else nothing is held; and a commit would expire what a unit kept loaded
        db.session.commit()

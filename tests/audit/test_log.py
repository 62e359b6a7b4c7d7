"""Reading the audit log: admins only, filters, newest first in keyset pages at a constant number of statements;
no operation edits or deletes an entry, and the database refuses to as well. And what `record` keeps."""
from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shop.audit import actions
from shop.audit import services as audit
from shop.audit.models import AuditEntry
from shop.extensions import db
from shop.transaction import transaction
from tests.support import assert_problem, count_statements, make_user, token_client
from tests.test_migrations import MIGRATIONS_DIR, fresh_database_url, migration_app  # noqa: F401  (fixtures)

LOG = "/api/v1/audit-log"


class Target:
    def __init__(self, id):
        self.id = id


def write(actor, action=actions.SUPPLIER_APPROVED, target_id=1, before=None, after=None, **kwargs):
    with transaction() as tx:
        entry = audit.record(tx, actor=actor, action=action, target_type=action.target_type, target_id=target_id,
                             before=before, after=after, **kwargs)
        db.session.flush()
        entry_id = entry.id  # read now: a read after the commit would begin (and hold) another transaction
    return entry_id


@pytest.fixture
def log(operator):
    """Entries by two operators on several targets, written a moment apart (so that `from`/`to` can split them)."""
    other = make_user(admin=True)
    ids = []
    for actor, action, target in [(operator, actions.SUPPLIER_APPROVED, 7), (other, actions.SUPPLIER_SUSPENDED, 7),
                                  (operator, actions.CAMPAIGN_SUSPENDED, 7), (operator, actions.SUPPLIER_APPROVED, 8)]:
        ids.append(write(actor, action, target, before={"status": "x"}, after={"status": "y"}))
        time.sleep(0.002)
    return other, ids


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


def test_admins_list_newest_first_and_filter(log, operator, operator_client):
    other, ids = log
    assert _ids(operator_client.get(LOG)) == ids[::-1]
    assert _ids(operator_client.get(LOG, query_string={"actor_id": other.id})) == [ids[1]]
    assert _ids(operator_client.get(LOG, query_string={"action": "supplier.approved"})) == [ids[3], ids[0]]
    assert _ids(operator_client.get(LOG, query_string={"target_type": "supplier", "target_id": "7"})) == \
        [ids[1], ids[0]]
    assert _ids(operator_client.get(LOG, query_string={"target_type": "campaign"})) == [ids[2]]
    assert _ids(operator_client.get(LOG, query_string={"actor_id": operator.id, "action": "supplier.approved",
                                                       "target_id": "8"})) == [ids[3]]
    stamps = {e.id: e.created_at for e in db.session.scalars(db.select(AuditEntry))}
    db.session.commit()
    window = {"from": stamps[ids[1]].isoformat(), "to": stamps[ids[3]].isoformat()}
    assert _ids(operator_client.get(LOG, query_string=window)) == [ids[2], ids[1]]

    item = operator_client.get(LOG, query_string={"limit": 1}).json["items"][0]
    assert item["actor"] == {"id": operator.id, "display_name": operator.display_name,
                             "email": operator.email}
    assert (item["action"], item["target_type"], item["target_id"]) == ("supplier.approved", "supplier", "8")
    assert (item["before"], item["after"]) == ({"status": "x"}, {"status": "y"})
    one = operator_client.get(f"{LOG}/{ids[1]}")
    assert one.status_code == 200 and one.json["actor_id"] == other.id and one.json["action"] == "supplier.suspended"


def test_pages_walk_the_whole_log_once(log, operator_client):
    _, ids = log
    seen, cursor = [], None
    while True:
        page = operator_client.get(LOG, query_string={"limit": 3, **({"cursor": cursor} if cursor else {})}).json
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]


def test_a_page_costs_the_same_statements_however_many_entries_and_actors(operator, operator_client):
    write(operator)
    operator_client.get(LOG)  # the token's first use stamps it: not the page's cost
    small, _ = count_statements(lambda: operator_client.get(LOG))
    others = [make_user(admin=True) for _ in range(3)]
    for index in range(25):
        write(others[index % 3], actions.GI_RECORD_VERIFIED, index)
    large, response = count_statements(lambda: operator_client.get(LOG, query_string={"limit": 100}))
    assert len(response.json["items"]) == 26 and len({i["actor_id"] for i in response.json["items"]}) == 4
    assert large == small <= 4  # who is asking (token and user), the page with its actors


def test_only_platform_admins_read_the_log(client, log):
    _, ids = log
    for path in (LOG, f"{LOG}/{ids[0]}"):
        assert_problem(client.get(path), 401, "unauthorized")
        assert_problem(token_client(make_user()).get(path), 403, "admin_only")
    assert_problem(token_client(make_user(admin=True)).get(f"{LOG}/999999"), 404, "not_found")


@pytest.mark.parametrize("method", ["put", "patch", "delete", "post"])
def test_no_operation_edits_or_deletes_an_entry(method, log, operator_client):
    _, ids = log
    for path in (f"{LOG}/{ids[0]}", LOG):
        response = getattr(operator_client, method)(path, json={"action": "supplier.rejected"})
        assert_problem(response, 405, "method_not_allowed")
    assert db.session.get(AuditEntry, ids[0], populate_existing=True).action == "supplier.approved"
    db.session.commit()


@pytest.mark.parametrize("query", [{"action": "supplier.deleted"}, {"target_type": "user"}, {"actor_id": "2.5"},
                                   {"actor_id": "0"}, {"from": "2026-12-01"}, {"to": "yesterday"},
                                   {"from": "2026-12-02T00:00:00+08:00", "to": "2026-12-01T00:00:00+08:00"},
                                   {"target_id": "x" * 41}, {"limit": 101},
                                   # the ends of the calendar overflowed into a 500
                                   {"from": "0001-01-01T00:00:00+08:00"}, {"to": "9999-12-31T23:59:59+08:00"}])
def test_bad_filters_are_422_with_the_field(query, operator_client):
    body = assert_problem(operator_client.get(LOG, query_string=query), 422, "validation_error")
    assert set(body["errors"]) == ({"to"} if "to" in query else set(query)), body


def test_the_spec_documents_the_vocabulary(client):
    spec = client.get("/api/openapi.json").json
    operation = spec["paths"][LOG]["get"]
    action = next(p for p in operation["parameters"] if p["name"] == "action")
    assert set(action["schema"]["enum"]) - {None} == set(actions.ACTIONS)
    described = spec["components"]["schemas"]["AuditEntry"]["properties"]["action"]["description"]
    assert all(f"`{name}`" in described for name in actions.ACTIONS)
    assert "admin_only" in operation["responses"]["403"]["x-error-codes"]
    for path in (LOG, f"{LOG}/{{entry_id}}"):  # reads only
        assert {method for method in spec["paths"][path] if method != "parameters"} == {"get"}


# --- what record keeps -------------------------------------------------------------------------------------------


def test_record_keeps_the_changed_and_identifying_fields_as_json_and_no_secret(operator):
    at = dt.datetime(2026, 12, 3, 8, 30, tzinfo=dt.timezone.utc)
    entry_id = write(operator, actions.SUPPORT_PAIR_UPDATED, 5,
                     before={"supporter_code": "110000", "verified": False, "evidence": "", "checked_on": None,
                             "password_hash": "scrypt:1", "api_token": "t0k"},
                     after={"supporter_code": "110000", "verified": True, "evidence": "协议",
                            "checked_on": dt.date(2026, 12, 3), "at": at, "codes": {"500237", "500236"},
                            "Password": "hunter2"},
                     keep=("supporter_code",))
    entry = db.session.get(AuditEntry, entry_id, populate_existing=True)
    assert entry.before == {"supporter_code": "110000", "verified": False, "evidence": "", "checked_on": None}
    assert entry.after == {"supporter_code": "110000", "verified": True, "evidence": "协议", "checked_on": "2026-12-03",
                           "at": "2026-12-03T08:30:00+00:00", "codes": ["500236", "500237"]}
    assert (entry.target_id, entry.request_id, entry.ip) == ("5", None, None)  # no request: a command or a job
    db.session.commit()


def test_record_refuses_names_outside_the_vocabulary_and_the_wrong_target(operator):
    with pytest.raises(ValueError):
        with transaction() as tx:
            audit.record(tx, actor=operator, action="supplier.deleted", target_type="supplier", target_id=1)
    with pytest.raises(ValueError):
        with transaction() as tx:
            audit.record(tx, actor=operator, action=actions.SUPPLIER_APPROVED, target_type="order", target_id=1)
    with pytest.raises(RuntimeError):
        audit.record(None, actor=operator, action=actions.SUPPLIER_APPROVED, target_type="supplier", target_id=1)
    with pytest.raises(TypeError):
        with transaction() as tx:
            audit.record(tx, actor=operator, action=actions.SUPPLIER_APPROVED, target_type="supplier", target_id=1,
                         after={"amount": 1.5})
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEntry)) == 0
    db.session.commit()


def test_an_entry_rolls_back_with_the_unit_of_work_it_joined(operator):
    with pytest.raises(RuntimeError):
        with transaction() as tx:
            audit.record(tx, actor=operator, action=actions.SUPPLIER_APPROVED, target_type="supplier", target_id=1)
            db.session.flush()
            raise RuntimeError("the action failed after its entry was written")
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEntry)) == 0
    db.session.commit()


# --- append-only in the database ---------------------------------------------------------------------------------


def _assert_refused(statement: str, entry_id: int) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        with db.engine.begin() as connection:
            connection.execute(text(statement), {"id": entry_id})


def test_postgresql_refuses_to_update_or_delete_an_entry_of_the_suites_schema(operator):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("create_all adds the trigger on PostgreSQL only (SQLite's is the migration's: next test)")
    entry_id = write(operator)
    _assert_refused("UPDATE audit_entry SET action = 'supplier.rejected' WHERE id = :id", entry_id)
    _assert_refused("DELETE FROM audit_entry WHERE id = :id", entry_id)
    assert db.session.get(AuditEntry, entry_id, populate_existing=True).action == "supplier.approved"
    db.session.commit()


def test_the_migrated_database_refuses_to_update_or_delete_an_entry(migration_app):  # noqa: F811
    from flask_migrate import downgrade, upgrade

    with migration_app.app_context():
        upgrade(directory=MIGRATIONS_DIR)
        entry_id = write(make_user(admin=True))
        _assert_refused("UPDATE audit_entry SET after = NULL WHERE id = :id", entry_id)
        _assert_refused("DELETE FROM audit_entry WHERE id = :id", entry_id)
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM audit_entry")).scalar() == 1
        db.session.remove()
        downgrade(directory=MIGRATIONS_DIR, revision="3a4381496d56")  # the triggers go with the table
        with db.engine.connect() as connection:
            assert "audit_entry" not in db.inspect(connection).get_table_names()
        db.session.remove()


def test_nothing_before_or_after_is_sql_null(operator):
    created = write(operator, actions.SUPPORT_PAIR_CREATED, 3, after={"kind": "other"})
    with db.engine.connect() as connection:
        row = connection.execute(text('SELECT "before" IS NULL, "after" IS NULL FROM audit_entry WHERE id = :id'),
                                 {"id": created}).one()
    assert tuple(map(bool, row)) == (True, False)

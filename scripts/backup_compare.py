"""Compare two PostgreSQL databases table by table: the original and its restored copy.

    python scripts/backup_compare.py SOURCE_URL TARGET_URL [--selftest]

For every table of the public schema: the row count and an md5 of all its rows (each row as text, in primary-key
order); for every sequence its position (a restored copy whose sequences restarted would hand out ids that
exist); and the number and sum of order totals. Prints one line per difference and exits 1 if there is any.

--selftest then proves the comparison can fail: it changes one order's total and deletes one row of a table
nothing references in the TARGET, and expects exactly those differences to be reported (exit 0 if they are).
The target is spoilt afterwards: use it on a throwaway copy only (scripts/backup_restore_check.sh does).
"""
from __future__ import annotations

import sys

import psycopg
from psycopg import sql


def libpq_url(url: str) -> str:
    """SQLAlchemy's postgresql+psycopg:// is the app's spelling; libpq wants postgresql://."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def connect(url: str) -> psycopg.Connection:
    conn = psycopg.connect(libpq_url(url), autocommit=True)
    # Rows are compared as text: render timestamps and floats the same way on both sides.
    conn.execute("SET TimeZone = 'UTC'")
    conn.execute("SET DateStyle = 'ISO, YMD'")
    conn.execute("SET extra_float_digits = 3")
    return conn


def tables(conn) -> list[str]:
    return [name for (name,) in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]


def primary_key(conn, table: str) -> list[str]:
    return [name for (name,) in conn.execute(
        """SELECT a.attname FROM pg_index i
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
           WHERE i.indrelid = %s::regclass AND i.indisprimary
           ORDER BY array_position(i.indkey::int2[], a.attnum)""", (sql.Identifier(table).as_string(conn),))]


def table_fingerprint(conn, table: str) -> tuple[int, str | None]:
    """(rows, md5 of the rows in primary-key order); tables without a key are ordered by the row's text."""
    keys = primary_key(conn, table)
    order = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(k)) for k in keys) if keys \
        else sql.SQL("t::text")
    query = sql.SQL("SELECT count(*), md5(string_agg(t::text, E'\\n' ORDER BY {order})) FROM {table} AS t").format(
        order=order, table=sql.Identifier(table))
    count, digest = conn.execute(query).fetchone()
    return count, digest


def sequences(conn) -> dict[str, tuple]:
    return {name: (last_value, is_called) for name, last_value, is_called in conn.execute(
        """SELECT sequencename, last_value, last_value IS NOT NULL FROM pg_sequences
           WHERE schemaname = 'public' ORDER BY sequencename""")}


def order_totals(conn) -> tuple[int, int]:
    count, total = conn.execute('SELECT count(*), coalesce(sum(total_fen), 0) FROM "order"').fetchone()
    return count, int(total)


def fingerprint(conn) -> dict:
    return {
        "tables": {table: table_fingerprint(conn, table) for table in tables(conn)},
        "sequences": sequences(conn),
        "order_totals": order_totals(conn),
    }


def differences(source: dict, target: dict) -> list[str]:
    found = []
    for table in sorted(set(source["tables"]) | set(target["tables"])):
        a, b = source["tables"].get(table), target["tables"].get(table)
        if a is None or b is None:
            found.append(f"table {table}: only in the {'target' if a is None else 'source'}")
        elif a[0] != b[0]:
            found.append(f"table {table}: {a[0]} rows in the source, {b[0]} in the target")
        elif a[1] != b[1]:
            found.append(f"table {table}: same {a[0]} rows but different contents")
    for name in sorted(set(source["sequences"]) | set(target["sequences"])):
        if source["sequences"].get(name) != target["sequences"].get(name):
            found.append(f"sequence {name}: {source['sequences'].get(name)} in the source, "
                         f"{target['sequences'].get(name)} in the target")
    if source["order_totals"] != target["order_totals"]:
        found.append(f"order totals (count, sum of total_fen): {source['order_totals']} in the source, "
                     f"{target['order_totals']} in the target")
    return found


def check(source_url: str, target_url: str) -> list[str]:
    with connect(source_url) as source, connect(target_url) as target:
        return differences(fingerprint(source), fingerprint(target))


def leaf_table_with_rows(conn) -> str:
    """A table that no foreign key points at, with rows: deleting one of its rows breaks nothing else."""
    referenced = {name for (name,) in conn.execute(
        "SELECT c.relname FROM pg_constraint k JOIN pg_class c ON c.oid = k.confrelid WHERE k.contype = 'f'")}
    for table in tables(conn):
        if table not in referenced and table != "alembic_version" \
                and conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table))).fetchone()[0]:
            return table
    raise SystemExit("selftest: no table without referencing foreign keys has rows")


def selftest(source_url: str, target_url: str) -> list[str]:
    """Spoil the target twice and return what the comparison missed (empty: it caught both)."""
    with connect(target_url) as target:
        order_id = target.execute('SELECT min(id) FROM "order"').fetchone()[0]
        # shipping and total move together: the order's CHECK (total = subtotal + shipping - discount) holds.
        target.execute('UPDATE "order" SET shipping_fen = shipping_fen + 1, total_fen = total_fen + 1 '
                       'WHERE id = %s', (order_id,))
        leaf = leaf_table_with_rows(target)
        ctid = target.execute(sql.SQL("SELECT ctid FROM {} LIMIT 1").format(sql.Identifier(leaf))).fetchone()[0]
        target.execute(sql.SQL("DELETE FROM {} WHERE ctid = %s").format(sql.Identifier(leaf)), (ctid,))
    found = check(source_url, target_url)
    print("selftest: after changing order %s's total and deleting one row of %s the comparison reports:" %
          (order_id, leaf))
    for line in found:
        print("  " + line)
    expected = ["table order: same", f"table {leaf}: ", "order totals"]
    return [e for e in expected if not any(line.startswith(e) for line in found)] + \
        [line for line in found if not any(line.startswith(e) for e in expected)]


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--selftest"]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    source_url, target_url = args
    with connect(source_url) as source:
        summary = fingerprint(source)
    rows = sum(count for count, _ in summary["tables"].values())
    orders, total = summary["order_totals"]
    if orders == 0:
        print("the source has no orders: nothing worth proving", file=sys.stderr)
        return 1
    found = check(source_url, target_url)
    for line in found:
        print("DIFFERENCE " + line)
    if found:
        return 1
    print(f"restored copy identical: {len(summary['tables'])} tables, {rows} rows, "
          f"{len(summary['sequences'])} sequences, {orders} orders totalling {total} fen")
    if "--selftest" in argv:
        missed = selftest(source_url, target_url)
        if missed:
            print(f"selftest FAILED: expected differences not reported or unexpected ones: {missed}")
            return 1
        print("selftest: both spoilt copies detected")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

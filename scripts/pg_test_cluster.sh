#!/usr/bin/env bash
# Throwaway PostgreSQL 15 cluster for tests.
#
# Usage:
#   scripts/pg_test_cluster.sh start DIR   # init + start a cluster in DIR; prints ONE line on stdout:
#                                          #   postgresql+psycopg://postgres@127.0.0.1:PORT/shop_test
#   scripts/pg_test_cluster.sh stop DIR    # pg_ctl stop -m fast (exit 0 if it is not running)
#   scripts/pg_test_cluster.sh restart DIR # pg_ctl restart -m fast: sessions are cut, the same port comes back
#
# Layout of DIR: data/ (PGDATA), run/ (unix socket), postgres.log, url (the line printed by start).
# The cluster listens on 127.0.0.1 only, on a free port, with trust auth, fsync=off; the database
# superuser is "postgres" and database "shop_test" is created. When run as root, the server runs as
# the "postgres" OS user (DIR is chowned to it; its parent directories must be searchable by it).
# Everything except the URL line goes to stderr.
#
# Exit codes: 0 ok; 1 failure; 2 usage; 3 PostgreSQL 15 cannot be run here (binaries missing, or
# running as root with no "postgres" OS user) -- callers may skip PostgreSQL tests on 3.
# PG_BINDIR=/path/to/pg15/bin overrides where the binaries are looked for.
set -euo pipefail

PG_MAJOR=15
DB_NAME=shop_test
DB_SUPERUSER=postgres

die() { echo "pg_test_cluster: $*" >&2; exit 1; }
unavailable() { echo "pg_test_cluster: $*" >&2; exit 3; }
usage() { echo "usage: $0 {start|stop|restart} DIR" >&2; exit 2; }

is_pg15_bindir() {
    local d=$1
    [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]] || return 1
    "$d/postgres" --version 2>/dev/null | grep -Eq "\(PostgreSQL\) ${PG_MAJOR}(\.|$| )"
}

find_bindir() {
    local d p
    for d in "${PG_BINDIR:-}" "/usr/lib/postgresql/${PG_MAJOR}/bin" "/usr/pgsql-${PG_MAJOR}/bin"; do
        if is_pg15_bindir "$d"; then echo "$d"; return 0; fi
    done
    # Fall back to whatever is on PATH (e.g. /usr/local/bin symlinks), resolved to its real directory.
    for p in pg_ctl initdb; do
        if p=$(command -v "$p" 2>/dev/null); then
            d=$(dirname "$(readlink -f "$p")")
            if is_pg15_bindir "$d"; then echo "$d"; return 0; fi
        fi
    done
    return 1
}

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    else
        # No python3: pick a random high port; a collision makes the start fail and be retried.
        echo $(( 20000 + RANDOM % 30000 ))
    fi
}

[[ $# -eq 2 ]] || usage
cmd=$1
dir_arg=$2
[[ "$cmd" == start || "$cmd" == stop || "$cmd" == restart ]] || usage
[[ -n "$dir_arg" ]] || usage

BINDIR=$(find_bindir) || unavailable "PostgreSQL ${PG_MAJOR} binaries (initdb, pg_ctl, postgres) not found in \
\$PG_BINDIR, /usr/lib/postgresql/${PG_MAJOR}/bin or on PATH; install them (Debian: apt-get install postgresql-${PG_MAJOR})"

# As root, run the server tools as the postgres OS user (PostgreSQL refuses to run as root).
RUN_AS=()
if [[ $(id -u) -eq 0 ]]; then
    getent passwd postgres >/dev/null || unavailable "running as root but there is no 'postgres' OS user to run the server as"
    if command -v runuser >/dev/null 2>&1; then
        RUN_AS=(runuser -u postgres --)
    else
        die "running as root and runuser is missing"
    fi
fi
as_owner() { "${RUN_AS[@]}" "$@"; }

case "$cmd" in
start)
    mkdir -p -- "$dir_arg"
    DIR=$(cd -- "$dir_arg" && pwd -P)
    DATA="$DIR/data"
    SOCK="$DIR/run"
    LOG="$DIR/postgres.log"
    [[ ! -e "$DATA" ]] || die "$DATA already exists; stop the old cluster and remove $DIR first"
    # The unix socket path must fit in sun_path (107 bytes): "$SOCK/.s.PGSQL.NNNNN".
    (( ${#SOCK} + 18 <= 107 )) || die "DIR path too long for a unix socket: $SOCK"
    mkdir -p -- "$SOCK"
    if [[ ${#RUN_AS[@]} -gt 0 ]]; then
        chown -R postgres: -- "$DIR"
        "${RUN_AS[@]}" test -w "$DIR" -a -x "$DIR" \
            || die "user postgres cannot write to $DIR (is a parent directory not searchable by others?)"
    fi
    # Run everything from DIR so the postgres user never needs access to our cwd.
    cd -- "$DIR"

    locale_opt=(--locale=C)
    if locale -a 2>/dev/null | grep -Eqi '^c\.utf-?8$'; then locale_opt=(--locale=C.UTF-8); fi

    as_owner "$BINDIR/initdb" -D "$DATA" -U "$DB_SUPERUSER" -A trust -E UTF8 "${locale_opt[@]}" \
        --no-sync --no-instructions >&2 || die "initdb failed"

    cat >>"$DATA/postgresql.conf" <<EOF

# --- pg_test_cluster.sh: throwaway test cluster ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SOCK'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
EOF

    started=0
    for attempt in 1 2 3; do
        PORT=$(free_port)
        # Port is passed on the command line; pg_ctl stop only needs the PID file in DATA.
        sed -i '/^port = .*# pg_test_cluster$/d' "$DATA/postgresql.conf"
        echo "port = $PORT  # pg_test_cluster" >>"$DATA/postgresql.conf"
        if as_owner "$BINDIR/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >&2; then
            started=1
            break
        fi
        echo "pg_test_cluster: start attempt $attempt on port $PORT failed; log tail:" >&2
        tail -n 20 "$LOG" >&2 || true
    done
    [[ $started -eq 1 ]] || die "could not start PostgreSQL (see $LOG)"

    # Create the database over TCP, which also proves the URL we print works.
    create_db() {
        if [[ -x "$BINDIR/createdb" ]]; then
            "$BINDIR/createdb" -h 127.0.0.1 -p "$PORT" -U "$DB_SUPERUSER" "$DB_NAME"
        elif [[ -x "$BINDIR/psql" ]]; then
            "$BINDIR/psql" -X -q -h 127.0.0.1 -p "$PORT" -U "$DB_SUPERUSER" -d postgres \
                -v ON_ERROR_STOP=1 -c "CREATE DATABASE $DB_NAME"
        else
            echo "neither createdb nor psql found in $BINDIR" >&2
            return 1
        fi
    }
    if ! create_db >&2; then
        as_owner "$BINDIR/pg_ctl" -D "$DATA" -m immediate -w stop >&2 || true
        die "could not create database $DB_NAME"
    fi

    URL="postgresql+psycopg://${DB_SUPERUSER}@127.0.0.1:${PORT}/${DB_NAME}"
    echo "$URL" >"$DIR/url"
    echo "$URL"
    ;;
stop)
    [[ -d "$dir_arg" ]] || { echo "pg_test_cluster: $dir_arg does not exist; nothing to stop" >&2; exit 0; }
    DIR=$(cd -- "$dir_arg" && pwd -P)
    DATA="$DIR/data"
    cd -- "$DIR"
    if [[ ! -f "$DATA/postmaster.pid" ]] || ! as_owner "$BINDIR/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
        echo "pg_test_cluster: no server running in $DATA" >&2
        exit 0
    fi
    as_owner "$BINDIR/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >&2 || die "pg_ctl stop failed"
    ;;
restart)
    DIR=$(cd -- "$dir_arg" && pwd -P)
    cd -- "$DIR"
    as_owner "$BINDIR/pg_ctl" -D "$DIR/data" -l "$DIR/postgres.log" -m fast -w -t 60 restart >&2 \
        || die "pg_ctl restart failed (see $DIR/postgres.log)"
    ;;
esac

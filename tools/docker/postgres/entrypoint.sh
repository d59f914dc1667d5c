#!/bin/sh
# First start: initdb with POSTGRES_USER as superuser (password from POSTGRES_PASSWORD; trust on
# the socket inside the container, scram over TCP), then POSTGRES_DB. Every start: postgres as
# the postgres user, logging to stderr (docker logs), pg_stat_statements preloaded.
set -eu
: "${POSTGRES_USER:?POSTGRES_USER must be set}" "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    chown postgres "$pwfile"
    as_postgres initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    if [ "$POSTGRES_DB" != postgres ]; then
        echo "CREATE DATABASE \"$POSTGRES_DB\";" | as_postgres postgres --single -D "$PGDATA" postgres >/dev/null
    fi
else
    # The volume outlives the stack directory that made it (another clone, new secrets): the
    # superuser's password follows POSTGRES_PASSWORD on every start.
    quoted=$(printf '%s' "$POSTGRES_PASSWORD" | sed "s/'/''/g")
    printf 'ALTER ROLE "%s" PASSWORD '"'"'%s'"'"';\n' "$POSTGRES_USER" "$quoted" \
        | as_postgres postgres --single -D "$PGDATA" postgres >/dev/null
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -D "$PGDATA" \
    -c listen_addresses='*' -c shared_preload_libraries=pg_stat_statements \
    -c max_prepared_transactions=10 -c log_min_duration_statement=1000 -c track_io_timing=on "$@"

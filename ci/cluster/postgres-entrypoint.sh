#!/bin/sh
# The official postgres image's entrypoint contract (docker-library/postgres docker-entrypoint.sh),
# for Debian's PostgreSQL in ci/cluster/stand-ins.sh: on an empty $PGDATA, initdb as
# $POSTGRES_USER with $POSTGRES_PASSWORD, create $POSTGRES_DB, run /docker-entrypoint-initdb.d/*.sql
# and *.sh against a server listening on its socket only, then serve on every address with
# scram-sha-256 for remote clients (the image's default POSTGRES_HOST_AUTH_METHOD).
set -eu
: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}" "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA
# Flags alone are postgres' flags, as in the official entrypoint.
case "${1:-}" in -*) set -- postgres "$@" ;; esac
if [ "${1:-postgres}" != postgres ]; then exec "$@"; fi
[ -n "${POSTGRES_PASSWORD:-}" ] || { echo "docker-entrypoint.sh: POSTGRES_PASSWORD is not set" >&2; exit 1; }

mkdir -p "$PGDATA"
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [ "$POSTGRES_DB" != postgres ]; then
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -q \
      -c "CREATE DATABASE \"$POSTGRES_DB\""
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sql) echo "docker-entrypoint.sh: running $f"; psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -q -f "$f" ;;
      *.sh) echo "docker-entrypoint.sh: running $f"; . "$f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "docker-entrypoint.sh: PostgreSQL init process complete; ready for start up."
fi
shift || true
exec postgres -c listen_addresses='*' "$@"

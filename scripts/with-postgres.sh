#!/usr/bin/env bash
# Usage: scripts/with-postgres.sh COMMAND [ARG...]
#
# Runs COMMAND with GLINT_TEST_POSTGRES set to the URL of a PostgreSQL
# server, for the PostgreSQL store's tests (internal/store/postgres).
#
# If GLINT_TEST_POSTGRES is already set, COMMAND runs against that server.
# Otherwise, if PostgreSQL's initdb and pg_ctl are found (on PATH, or in
# Debian's /usr/lib/postgresql/VERSION/bin), a throw-away cluster is
# created in a temporary directory and started for COMMAND, then stopped
# and removed however COMMAND ends. The server listens on no TCP address,
# only on a Unix socket in that directory (the port, GLINT_TEST_POSTGRES_PORT
# or 54329, only names the socket), so runs side by side never collide.
# It trades durability for speed (fsync off): nothing in it outlives the run.
#
# Without initdb, COMMAND runs without GLINT_TEST_POSTGRES; the tests then
# skip, or fail when CI=true.
set -euo pipefail

if [ $# -eq 0 ]; then
	echo "usage: $0 COMMAND [ARG...]" >&2
	exit 2
fi
if [ -n "${GLINT_TEST_POSTGRES:-}" ]; then
	exec "$@"
fi

bindir=""
if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
	bindir="$(dirname "$(command -v initdb)")"
else
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			bindir="$d"
			break
		fi
	done
fi
if [ -z "$bindir" ]; then
	echo "with-postgres: initdb not found; running without PostgreSQL" >&2
	exec "$@"
fi

port="${GLINT_TEST_POSTGRES_PORT:-54329}"
# initdb refuses to run as root: the cluster then belongs to the postgres
# user (Debian's package creates it), and only the server runs as it, in
# /tmp, which it can reach whatever root's TMPDIR is.
as=()
base="${TMPDIR:-/tmp}"
if [ "$(id -u)" -eq 0 ]; then
	as=(runuser -u postgres --)
	base=/tmp
fi
dir="$(mktemp -d "$base/glint-pg.XXXXXX")"
if [ ${#as[@]} -gt 0 ]; then
	chown postgres: "$dir"
fi

stop() {
	"${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap stop EXIT
# Until COMMAND starts, a signal just ends the script (and stop runs).
trap 'exit 130' INT
trap 'exit 143' TERM

"${as[@]}" "$bindir/initdb" -D "$dir/data" -U glint --auth=trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 ||
	{ cat "$dir/initdb.log" >&2; exit 1; }
opts="-c listen_addresses='' -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
if ! "${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -o "$opts" -l "$dir/server.log" -w -t 30 start >/dev/null; then
	cat "$dir/server.log" >&2
	exit 1
fi

export GLINT_TEST_POSTGRES="postgres:///postgres?host=$dir&port=$port&user=glint&sslmode=disable"
echo "with-postgres: PostgreSQL $("$bindir/pg_ctl" --version | awk '{print $3}') in $dir" >&2
# COMMAND runs in the background so that a signal to this script is
# handled at once (bash defers traps while a foreground command runs):
# it is passed on to COMMAND, whose end is then waited for before the
# server is stopped. (Its standard input is /dev/null, as for any
# background command of a script.)
"$@" &
child=$!
trap 'kill -INT "$child" 2>/dev/null || true' INT
trap 'kill -TERM "$child" 2>/dev/null || true' TERM
while :; do
	status=0
	wait "$child" || status=$?
	kill -0 "$child" 2>/dev/null || break # not merely interrupted: ended
done
exit "$status"

#!/usr/bin/env bash
# Starts and stops a throw-away PostgreSQL server for the test suite (and for
# anything else that needs a private, disposable database server).
#
#   scripts/postgres-cluster.sh start DIR
#       Installs the Debian `postgresql` package if it is missing, creates a
#       new cluster in DIR/data owned by the `callbridge` superuser with trust
#       authentication, starts it on a free port on 127.0.0.1 (unix socket in
#       DIR, log in DIR/postgres.log) and prints one line on stdout:
#           postgres://callbridge@127.0.0.1:PORT/postgres
#       The server also accepts TLS with a self-signed certificate for
#       127.0.0.1, DIR/server.crt (the CA file for sslmode=verify-full tests).
#       On failure it prints the tail of the server log on stderr and exits
#       non-zero. DIR should be a fresh `mktemp -d` directory under /tmp: when
#       run as root the server runs as the `postgres` OS user, which must be
#       able to reach DIR (DIR itself is chowned to postgres and chmod 755).
#
#   scripts/postgres-cluster.sh stop DIR
#       Stops the server started in DIR (if any) and removes DIR. Safe to call
#       when `start` failed half way, never ran, or DIR does not exist. To
#       avoid deleting an unrelated folder by mistake, DIR is removed only if
#       `start` marked it as a cluster folder or it is empty.
#
# It never uses the system's default cluster (the one the Debian package may
# create on port 5432) and takes the server binaries from
# /usr/lib/postgresql/<highest version>/bin, not from PATH.
#
# Environment:
#   CALLBRIDGE_PG_FSYNC  fsync is off unless this is "on". Tests do not need
#                        durability and run faster without it; benchmarks pass
#                        CALLBRIDGE_PG_FSYNC=on so they measure real commits.
set -euo pipefail

scripts_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
marker_name=".callbridge-postgres-cluster"

usage() {
  echo "usage: $0 start DIR | stop DIR" >&2
  exit 2
}

# Absolute path of $1 (which may not exist yet), without following symlinks.
absolute() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$PWD" "$1" ;;
  esac
}

# initdb and pg_ctl refuse to run as root: as root, run them as the `postgres`
# OS user the Debian package creates; otherwise as the current user.
as_server_user() {
  if [ "$(id -u)" -ne 0 ]; then
    "$@"
  elif command -v runuser >/dev/null 2>&1; then
    runuser -u postgres -- "$@"
  else
    su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
  fi
}

# Directory holding initdb/pg_ctl of the highest installed major version that
# has a server (a version may be there with its client only).
server_bin_dir() {
  local version
  for version in $(ls -1 /usr/lib/postgresql 2>/dev/null | sort -rV); do
    if [ -x "/usr/lib/postgresql/$version/bin/pg_ctl" ] && [ -x "/usr/lib/postgresql/$version/bin/initdb" ]; then
      printf '%s\n' "/usr/lib/postgresql/$version/bin"
      return 0
    fi
  done
  echo "postgres-cluster: no PostgreSQL server found under /usr/lib/postgresql" >&2
  return 1
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
  local port i
  for i in $(seq 1 200); do
    port=$((20000 + RANDOM % 20001))
    if ! port_in_use "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  echo "postgres-cluster: found no free port in 20000-40000" >&2
  return 1
}

fail_with_log() {
  local dir="$1" message="$2"
  echo "postgres-cluster: $message" >&2
  if [ -s "$dir/postgres.log" ]; then
    echo "--- last lines of $dir/postgres.log ---" >&2
    tail -n 40 "$dir/postgres.log" >&2 || true
  fi
  exit 1
}

start() {
  local dir="$1" bin port attempt opts
  # install-deps.sh reports on stdout; keep stdout for the URL alone.
  bash "$scripts_dir/install-deps.sh" postgresql >&2
  bin=$(server_bin_dir)

  mkdir -p "$dir"
  : >"$dir/$marker_name"
  chmod 755 "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
      echo "postgres-cluster: running as root but there is no 'postgres' OS user" >&2
      exit 1
    fi
    chown postgres: "$dir" "$dir/$marker_name"
  fi
  # The server user may not be allowed into the caller's working directory.
  cd "$dir"
  if ! as_server_user test -w "$dir" -a -x "$dir"; then
    echo "postgres-cluster: the server user cannot write to $dir (check the permissions of its parents)" >&2
    exit 1
  fi

  # --no-locale: a fresh machine's LANG may name a locale that is not
  # generated, which makes initdb fail; tests must not depend on collation.
  if ! as_server_user "$bin/initdb" -D "$dir/data" --auth=trust --username=callbridge \
      --encoding=UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    fail_with_log "$dir" "initdb failed"
  fi

  # A self-signed certificate, so tests can prove sslmode=require/verify-full
  # really negotiate TLS (openssl comes with the postgresql package's ssl-cert).
  if ! openssl req -new -x509 -days 7 -nodes -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
      -keyout "$dir/server.key" -out "$dir/server.crt" >"$dir/openssl.log" 2>&1; then
    cat "$dir/openssl.log" >&2
    fail_with_log "$dir" "could not make a TLS certificate"
  fi
  chmod 600 "$dir/server.key"
  chmod 644 "$dir/server.crt"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir/server.key" "$dir/server.crt"; fi

  # pg_ctl hands -o to /bin/sh, hence the quotes around the socket folder.
  opts="-c listen_addresses=127.0.0.1 -k '$dir' -c max_connections=200 -c shared_buffers=128MB"
  opts="$opts -c ssl=on -c ssl_cert_file='$dir/server.crt' -c ssl_key_file='$dir/server.key'"
  if [ "${CALLBRIDGE_PG_FSYNC:-}" != "on" ]; then
    opts="$opts -c fsync=off"
  fi

  # Another process can take the port between the check and the bind, so a
  # start that failed because the address was in use is retried on a new port.
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if as_server_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
        start -o "-p $port $opts" >&2; then
      printf 'postgres://callbridge@127.0.0.1:%s/postgres\n' "$port"
      return 0
    fi
    # Leave nothing running if pg_ctl gave up waiting on a live server.
    as_server_user "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    grep -qi "could not bind\|address already in use" "$dir/postgres.log" 2>/dev/null || break
    echo "postgres-cluster: port $port was taken, retrying" >&2
    : >"$dir/postgres.log"
  done
  fail_with_log "$dir" "the server did not start"
}

stop() {
  local dir="$1" bin status=0
  if [ ! -e "$dir" ]; then
    return 0
  fi
  if [ ! -d "$dir" ]; then
    echo "postgres-cluster: $dir is not a directory" >&2
    return 1
  fi
  if [ ! -e "$dir/$marker_name" ] && [ -n "$(ls -A "$dir")" ]; then
    echo "postgres-cluster: $dir was not made by 'start'; not touching it" >&2
    return 1
  fi
  if [ -f "$dir/data/postmaster.pid" ]; then
    cd "$dir"
    if bin=$(server_bin_dir); then
      # pg_ctl status: 0 running, 3 not running (e.g. a stale pid file).
      if as_server_user "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        if ! as_server_user "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >&2; then
          echo "postgres-cluster: fast shutdown failed, trying immediate" >&2
          as_server_user "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >&2 || true
        fi
        if as_server_user "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
          status=1
        fi
      fi
    else
      status=1
    fi
    cd /
  fi
  if [ "$status" -ne 0 ]; then
    echo "postgres-cluster: could not stop the server in $dir; leaving it in place" >&2
    return 1
  fi
  rm -rf -- "$dir"
}

[ $# -eq 2 ] || usage
[ -n "$2" ] || usage
dir=$(absolute "$2")
[ "$dir" != "/" ] || usage
case "$1" in
  start) start "$dir" ;;
  stop) stop "$dir" ;;
  *) usage ;;
esac

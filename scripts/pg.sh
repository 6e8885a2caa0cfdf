#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for sspr's tests.
#
#   scripts/pg.sh start   initialise + start a fresh cluster, print its URL
#   scripts/pg.sh stop    stop it (by PID) and delete its directory
#   scripts/pg.sh url     print the URL (exit 1 if the cluster is not running)
#
# Knobs:
#   SSPR_TEST_DIR  scratch directory; the cluster lives in $SSPR_TEST_DIR/pg
#                  (default /tmp/sspr-test)
#   SSPR_PG_PORT   TCP port on 127.0.0.1 (default 55432)
#
# The cluster trades durability for speed (fsync off, no WAL safety) and
# trusts every local connection: it is for tests only and listens on
# 127.0.0.1 only, with its unix socket inside the cluster directory so it
# never touches /var/run/postgresql or a system cluster.
set -euo pipefail

TEST_DIR=${SSPR_TEST_DIR:-/tmp/sspr-test}
PG_DIR=$TEST_DIR/pg
DATA_DIR=$PG_DIR/data
LOG_FILE=$PG_DIR/postgres.log
PORT=${SSPR_PG_PORT:-55432}
URL="postgres://postgres@127.0.0.1:$PORT/postgres"

die() { echo "pg.sh: $*" >&2; exit 1; }
log() { echo "pg.sh: $*" >&2; }

[[ $PORT =~ ^[0-9]+$ ]] || die "SSPR_PG_PORT must be a number, got '$PORT'"

# Newest installed server binaries (Debian puts them in /usr/lib/postgresql/N/bin,
# not on PATH). Prints nothing if no server is installed.
find_bin_dir() {
  local d
  d=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' 2>/dev/null | sort -V | tail -n 1)
  [[ -n $d ]] && dirname "$d"
  return 0
}

# initdb and postgres refuse to run as root, so as root everything that
# touches the cluster runs as the 'postgres' system user (created by the
# Debian package). As any other user we run the commands directly.
as_pg() {
  if [[ $EUID -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# True if something accepts TCP connections on 127.0.0.1:$PORT. Uses bash's
# /dev/tcp so it needs neither ss nor nc (a fresh Debian image may lack both).
# A listener on 0.0.0.0 or [::] (v4-mapped) also answers here, which is what
# we want: postgres could not bind the port in that case either.
port_taken() {
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

# PID of *our* postmaster if it is alive, else nothing. postmaster.pid's first
# line is the PID; the file can outlive a crashed server, so check the process.
running_pid() {
  local pid
  [[ -r $DATA_DIR/postmaster.pid ]] || return 0
  pid=$(head -n 1 "$DATA_DIR/postmaster.pid" 2>/dev/null || true)
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
    echo "$pid"
  fi
  return 0
}

install_postgres() {
  # The 'postgresql' metapackage pulls in the distribution's default server
  # (15 on Debian 12) and client. policy-rc.d / no systemd means the package's
  # own 'main' cluster is not started; even if it were, it uses port 5432.
  [[ $EUID -eq 0 ]] || die "PostgreSQL server binaries missing; install them with: sudo apt-get install postgresql"
  log "installing PostgreSQL from apt (initdb not found)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 postgresql
}

cmd_start() {
  local bin pid
  bin=$(find_bin_dir)
  if [[ -z $bin ]]; then
    install_postgres
    bin=$(find_bin_dir)
    [[ -n $bin ]] || die "initdb still not found after installing postgresql"
  fi

  # Already running from an earlier 'start' with the same directory: reuse it
  # (idempotent), as long as it is really ours on the port we were asked for.
  pid=$(running_pid)
  if [[ -n $pid ]]; then
    if [[ $("$bin/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -XAtqc 'show data_directory' 2>/dev/null) == "$DATA_DIR" ]]; then
      log "cluster already running (pid $pid)"
      echo "$URL"
      return 0
    fi
    die "a cluster from $PG_DIR is running (pid $pid) but not on port $PORT; run '$0 stop' first"
  fi

  # Refuse a port someone else holds. Otherwise a stale server (e.g. left
  # over by a killed test run) would pass the readiness check below and the
  # tests would silently talk to the wrong database.
  if port_taken; then
    die "127.0.0.1:$PORT is already in use by another process; stop it or set SSPR_PG_PORT"
  fi

  # The unix socket goes into $PG_DIR (-k); its path must fit in sun_path
  # (107 bytes), which a deep SSPR_TEST_DIR can exceed.
  local sock="$PG_DIR/.s.PGSQL.$PORT"
  (( ${#sock} <= 107 )) || die "socket path too long (${#sock} > 107 bytes): $sock; use a shorter SSPR_TEST_DIR"

  # Leftovers of a crashed run (dead server, half-written cluster): throw away.
  rm -rf "$PG_DIR"
  mkdir -p "$PG_DIR"
  if [[ $EUID -eq 0 ]]; then
    # The postgres user must own the cluster directory and be able to reach
    # it. mktemp -d creates 0700 directories owned by root, so give others
    # search (x, not read) permission on the scratch dir we were given.
    chmod a+x "$TEST_DIR"
    chown postgres:postgres "$PG_DIR"
    chmod 0700 "$PG_DIR"
    runuser -u postgres -- test -w "$PG_DIR" ||
      die "user postgres cannot write $PG_DIR (a parent directory is not searchable?); use an SSPR_TEST_DIR under /tmp"
  fi

  # -A trust: no passwords (loopback-only test cluster). --no-sync: skip
  # fsync of the new cluster, it is thrown away anyway. C.UTF-8 is built into
  # glibc, so no locale package is needed.
  as_pg "$bin/initdb" -D "$DATA_DIR" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
    { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }

  # fsync/synchronous_commit/full_page_writes off: much faster, unsafe on
  # power loss, irrelevant for throwaway data. -w waits until the server
  # accepts connections (pg_ctl polls it), -t bounds that wait.
  if ! as_pg "$bin/pg_ctl" -D "$DATA_DIR" -l "$LOG_FILE" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $PORT -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >"$PG_DIR/pg_ctl.log" 2>&1; then
    cat "$PG_DIR/pg_ctl.log" "$LOG_FILE" >&2 2>/dev/null || true
    die "PostgreSQL did not start"
  fi

  # Belt and braces: make sure the server answering on the port is this one.
  local dd
  dd=$("$bin/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -XAtqc 'show data_directory') ||
    die "started, but cannot query the server on 127.0.0.1:$PORT"
  [[ $dd == "$DATA_DIR" ]] || die "the server on port $PORT serves $dd, not $DATA_DIR"

  log "started (pid $(running_pid), log $LOG_FILE)"
  echo "$URL"
}

cmd_stop() {
  local pid i
  pid=$(running_pid)
  if [[ -n $pid ]]; then
    # SIGINT = "fast" shutdown: roll back open transactions, disconnect
    # clients, exit. Wait for the process to be gone before deleting files.
    kill -INT "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      # "immediate" shutdown; the data is being deleted anyway.
      log "postgres (pid $pid) still running after 30 s, sending SIGQUIT"
      kill -QUIT "$pid" 2>/dev/null || true
      sleep 1
    fi
    log "stopped (pid $pid)"
  fi
  rm -rf "$PG_DIR"
}

cmd_url() {
  echo "$URL"
  [[ -n $(running_pid) ]] || { log "warning: the cluster in $PG_DIR is not running"; exit 1; }
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  url) cmd_url ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# SMTP capture server (aiosmtpd) for sspr's tests.
#
#   scripts/smtp.sh start   start it on a free port, wait until it accepts connections and
#                           print (on stdout, one per line):
#                             SSPR_TEST_SMTP=127.0.0.1:PORT
#                             SSPR_TEST_SMTP_DIR=<where messages are captured>
#                             SSPR_TEST_SMTP_CA=<its self-signed STARTTLS certificate>
#   scripts/smtp.sh stop    stop it (by PID) and delete its directory
#   scripts/smtp.sh env     print the three lines again (exit 1 if it is not running)
#
# Each message arrives as DIR/NNNNN.eml plus DIR/NNNNN.json (envelope), written atomically
# by scripts/smtp-capture.py. STARTTLS is offered (not required) with a certificate for
# localhost and 127.0.0.1 generated at start.
#
# Knobs:
#   SSPR_TEST_DIR    scratch directory; the server lives in $SSPR_TEST_DIR/smtp
#                    (default /tmp/sspr-test)
#   SSPR_SMTP_PORT   TCP port on 127.0.0.1 (default: a free port)
#   SSPR_SMTP_VENV   the Python virtualenv with aiosmtpd (default: target/smtp-venv in the
#                    repository, kept between runs; created when missing)
#
# Use from a shell:  eval "$(scripts/smtp.sh start)"; export SSPR_TEST_SMTP SSPR_TEST_SMTP_DIR SSPR_TEST_SMTP_CA
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TEST_DIR=${SSPR_TEST_DIR:-/tmp/sspr-test}
SMTP_DIR=$TEST_DIR/smtp
MAIL_DIR=$SMTP_DIR/mail
CERT=$SMTP_DIR/smtp-tls/cert.pem
PID_FILE=$SMTP_DIR/pid
PORT_FILE=$SMTP_DIR/port
LOG_FILE=$SMTP_DIR/smtp.log
VENV=${SSPR_SMTP_VENV:-$ROOT/target/smtp-venv}
AIOSMTPD_VERSION=1.4.6
START_TIMEOUT=20 # seconds

die() { echo "smtp.sh: $*" >&2; exit 1; }
log() { echo "smtp.sh: $*" >&2; }

# True if something accepts TCP connections on 127.0.0.1:$1 (bash's /dev/tcp: needs
# neither ss nor nc).
port_taken() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# PID of *our* server if it is alive, else nothing.
running_pid() {
  local pid
  [[ -r $PID_FILE ]] || return 0
  pid=$(<"$PID_FILE")
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
    echo "$pid"
  fi
  return 0
}

print_env() {
  echo "SSPR_TEST_SMTP=127.0.0.1:$(<"$PORT_FILE")"
  echo "SSPR_TEST_SMTP_DIR=$MAIL_DIR"
  echo "SSPR_TEST_SMTP_CA=$CERT"
}

# A virtualenv with the pinned aiosmtpd; reused when it already has it.
ensure_venv() {
  if [[ -x $VENV/bin/python ]] &&
    [[ $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("aiosmtpd"))' 2>/dev/null) == "$AIOSMTPD_VERSION" ]]; then
    return 0
  fi
  command -v python3 >/dev/null || die "python3 is required (apt-get install python3 python3-venv)"
  log "creating a virtualenv with aiosmtpd $AIOSMTPD_VERSION in $VENV"
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV" >&2 ||
    die "python3 -m venv failed; on Debian install python3-venv (apt-get install python3-venv)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION" >&2 ||
    die "pip install aiosmtpd==$AIOSMTPD_VERSION failed"
}

cmd_start() {
  local pid port i
  pid=$(running_pid)
  if [[ -n $pid ]]; then
    log "already running (pid $pid)"
    print_env
    return 0
  fi
  command -v openssl >/dev/null || die "openssl is required for the STARTTLS certificate (apt-get install openssl)"
  ensure_venv

  if [[ -n ${SSPR_SMTP_PORT:-} ]]; then
    port=$SSPR_SMTP_PORT
    [[ $port =~ ^[0-9]+$ ]] || die "SSPR_SMTP_PORT must be a number, got '$port'"
  else
    port=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  fi
  # Refuse a port someone else holds: a stale server would pass the readiness check and
  # the tests would read the wrong capture directory.
  if port_taken "$port"; then
    die "127.0.0.1:$port is already in use by another process; stop it or set SSPR_SMTP_PORT"
  fi

  rm -rf "$SMTP_DIR"
  mkdir -p "$MAIL_DIR"
  echo "$port" >"$PORT_FILE"
  # setsid: its own process group, so a Ctrl-C in the calling shell does not reach it
  # before cleanup stops it in order.
  setsid "$VENV/bin/python" "$ROOT/scripts/smtp-capture.py" --dir "$MAIL_DIR" \
    --host 127.0.0.1 --port "$port" --starttls >"$LOG_FILE" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PID_FILE"

  for ((i = 0; i < START_TIMEOUT * 10; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$LOG_FILE" >&2 || true
      die "the SMTP capture exited before it accepted connections"
    fi
    if grep -q '^READY ' "$LOG_FILE" 2>/dev/null && port_taken "$port"; then
      break
    fi
    sleep 0.1
  done
  if ! port_taken "$port"; then
    cat "$LOG_FILE" >&2 || true
    kill "$pid" 2>/dev/null || true
    die "the SMTP capture did not accept connections within ${START_TIMEOUT} s"
  fi
  [[ -s $CERT ]] || die "the STARTTLS certificate $CERT was not created"
  log "started (pid $pid, 127.0.0.1:$port, log $LOG_FILE)"
  print_env
}

cmd_stop() {
  local pid i
  pid=$(running_pid)
  if [[ -n $pid ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "still running after 10 s, killing pid $pid"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stopped (pid $pid)"
  fi
  rm -rf "$SMTP_DIR"
}

cmd_env() {
  [[ -n $(running_pid) ]] || die "not running (start it with '$0 start')"
  print_env
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  env) cmd_env ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac

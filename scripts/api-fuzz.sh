#!/usr/bin/env bash
# Property-based fuzzing of the admin JSON API with schemathesis, from the OpenAPI document
# the server serves (SPEC §9.1). Finds 5xx answers and answers that do not match their
# documented schema; exits non-zero on any finding.
#
#   scripts/api-fuzz.sh [path/to/sspr]     (default: $CARGO_TARGET_DIR or target, debug build)
#
# It starts its own `sspr serve` on a free loopback port with a fresh SQLite database in a
# scratch directory, makes a global-admin API token with `sspr token create`, and runs
# `st run` against the admin routes only, with that token. Everything it starts is stopped on
# exit.
#
# Knobs:
#   SSPR_FUZZ_VENV          the virtualenv with schemathesis (default: target/fuzz-venv, kept)
#   SSPR_FUZZ_MAX_EXAMPLES  examples per operation and phase (default 25: under a minute)
#   SSPR_FUZZ_KEEP          set: keep the scratch directory (database, server log) even on success
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCHEMATHESIS_VERSION=4.32.5
VENV=${SSPR_FUZZ_VENV:-$ROOT/target/fuzz-venv}
MAX_EXAMPLES=${SSPR_FUZZ_MAX_EXAMPLES:-25}
BIN=${1:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/sspr}

log() { echo "api-fuzz.sh: $*" >&2; }
die() { echo "api-fuzz.sh: error: $*" >&2; exit 1; }

[[ -x $BIN ]] || die "no sspr binary at $BIN (cargo build first)"

if ! [[ -x $VENV/bin/st ]] ||
  [[ $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null) != "$SCHEMATHESIS_VERSION" ]]; then
  command -v python3 >/dev/null || die "python3 is required"
  log "creating a virtualenv with schemathesis $SCHEMATHESIS_VERSION in $VENV"
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV" >&2 || die "python3 -m venv failed (apt-get install python3-venv)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2 ||
    die "pip install schemathesis==$SCHEMATHESIS_VERSION failed"
fi

WORK=$(mktemp -d -t sspr-fuzz.XXXXXX)
SERVER_PID=""
cleanup() {
  local rc=$?
  set +e
  if [[ -n $SERVER_PID ]]; then
    kill -TERM "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  if ((rc == 0)) && [[ -z ${SSPR_FUZZ_KEEP:-} ]]; then
    rm -rf "$WORK"
  else
    log "kept $WORK (server log: $WORK/server.log)"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
BASE=http://127.0.0.1:$PORT
cat >"$WORK/sspr.toml" <<TOML
data_dir = "$WORK/data"

[server]
listen = "127.0.0.1:$PORT"
public_base_url = "$BASE"

[delivery]
mode = "development"
TOML
export SSPR_CONFIG=$WORK/sspr.toml

"$BIN" migrate >/dev/null
TOKEN=$("$BIN" token create --name schemathesis --role global_admin 2>/dev/null)
[[ $TOKEN == sspr_* ]] || die "sspr token create printed no token"

"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
# No curl on a fresh Debian image: ask with the venv's Python.
healthy() { "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$BASE/healthz" 2>/dev/null; }
for _ in $(seq 1 100); do
  if healthy; then break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; die "sspr serve exited"; }
  sleep 0.1
done
healthy || die "sspr serve did not become healthy"

log "st run against $BASE (admin routes, $MAX_EXAMPLES examples per operation)"
SECONDS=0
# From the scratch directory: schemathesis writes its own files (.schemathesis/) where it runs.
cd "$WORK"
# The token is a global admin's: schemathesis may create, change and delete users, groups
# and tokens in this throwaway database. The stateful phase follows the document's links
# (create a user or group, then act on it). Only the admin routes are fuzzed; the reset flow
# has its own tests.
"$VENV/bin/st" run "$BASE/api/v1/openapi.json" \
  --url "$BASE" \
  --header "Authorization: Bearer $TOKEN" \
  --include-path-regex '^/api/v1/admin/' \
  --checks not_a_server_error,response_schema_conformance \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "$MAX_EXAMPLES" \
  --request-timeout 10 \
  --seed 1 \
  --no-color
# A run whose token stopped working part-way tested little: fail it rather than pass quietly.
"$VENV/bin/python" - "$BASE/api/v1/admin/users" "$TOKEN" <<'PY' || die "the fuzzing token no longer works at the end of the run"
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
urllib.request.urlopen(req, timeout=5)
PY
log "schemathesis found nothing in ${SECONDS} s"

#!/usr/bin/env bash
# THE test command of sspr:  ./scripts/test.sh
#
# On a fresh Debian 12 machine it installs what is missing (Chromium, oathtool,
# PostgreSQL, cargo-nextest, the npm packages of the browser tests), starts a
# throwaway PostgreSQL, builds the workspace, runs the Rust tests with
# nextest (with an SMTP capture for the delivery tests), then starts
# `sspr demo` and runs the browser tests against it.
# Both test suites always run; the script fails if either failed.
# Everything it starts is stopped again on exit, also on failure or Ctrl-C.
#
# Knobs:
#   SSPR_TEST_DIR            scratch directory (default: a fresh mktemp -d,
#                            deleted afterwards unless something failed)
#   SSPR_TEST_POSTGRES_URL   use this PostgreSQL instead of starting one; the
#                            Rust store tests create throwaway databases
#                            through it, so it needs CREATEDB rights
#   SSPR_PG_PORT             port for the throwaway PostgreSQL (default: a
#                            free port)
#   SSPR_SMTP_PORT           port for the SMTP capture (default: a free port)
#   SSPR_SMTP_VENV           its Python virtualenv (default: target/smtp-venv,
#                            kept between runs)
#   SSPR_FUZZ_VENV           schemathesis's virtualenv for scripts/api-fuzz.sh
#                            (default: target/fuzz-venv, kept between runs)
#   (directories)            scripts/ldap.sh starts slapd on free ports; scripts/samba.sh
#                            starts a Samba AD DC on 127.0.0.1:389/636 (needs root and those
#                            ports free; SSPR_SAMBA_IP serves it on another address). Both
#                            install their Debian packages when missing.
# There is deliberately no switch to skip the browser tests.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BROWSER_DIR=tests/browser
MIN_NODE_MAJOR=20 MIN_NODE_MINOR=10 # playwright-core needs 20; --test-concurrency needs 20.10
HEALTH_TIMEOUT=30                   # seconds for `sspr demo` to answer /healthz
STOP_TIMEOUT=10                     # seconds for `sspr demo` to exit after SIGTERM

step() { printf '\n==> %s\n' "$*" >&2; }
note() { echo "test.sh: $*" >&2; }
die() { echo "test.sh: error: $*" >&2; exit 1; }

if [[ -n ${SSPR_SKIP_BROWSER+set} ]]; then
  note "SSPR_SKIP_BROWSER is ignored: the browser tests always run"
fi

# ---------------------------------------------------------------------------
# Scratch directory and cleanup
# ---------------------------------------------------------------------------
if [[ -n ${SSPR_TEST_DIR:-} ]]; then
  mkdir -p "$SSPR_TEST_DIR"
  TEST_DIR=$(cd "$SSPR_TEST_DIR" && pwd)
  OWN_TEST_DIR=0
else
  TEST_DIR=$(mktemp -d -t sspr-test.XXXXXX)
  OWN_TEST_DIR=1
fi
export SSPR_TEST_DIR=$TEST_DIR # scripts/pg.sh puts its cluster in $SSPR_TEST_DIR/pg

DEMO_PID=""
PG_STARTED=0
SMTP_STARTED=0
LDAP_STARTED=0  # directories (section 2c)
SAMBA_STARTED=0 # directories (section 2c)

# Stop `sspr demo`: SIGTERM, wait up to STOP_TIMEOUT, then SIGKILL.
# Returns 1 if it had to be killed (a service must shut down on SIGTERM).
stop_demo() {
  local pid=$DEMO_PID i
  [[ -n $pid ]] || return 0
  DEMO_PID=""
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    note "sspr demo (pid $pid) still running ${STOP_TIMEOUT} s after SIGTERM; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 1
  fi
  wait "$pid" 2>/dev/null || true # reap it; its exit status does not matter here
  return 0
}

# Runs on every exit: normal end, `exit 1` from die, a failing command under
# set -e, and (through the INT/TERM traps below) Ctrl-C or kill.
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  stop_demo
  if ((PG_STARTED)); then
    scripts/pg.sh stop
  fi
  if ((SMTP_STARTED)); then
    scripts/smtp.sh stop
  fi
  # directories (section 2c)
  if ((LDAP_STARTED)); then
    scripts/ldap.sh stop
  fi
  if ((SAMBA_STARTED)); then
    scripts/samba.sh stop
  fi
  if ((OWN_TEST_DIR)); then
    if ((rc == 0)); then
      rm -rf "$TEST_DIR"
    else
      note "kept the scratch directory for inspection: $TEST_DIR"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
# Turn signals into a normal exit so the EXIT trap runs with a telling status.
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# Small helpers (node is required anyway, so it does the HTTP and port work:
# a fresh Debian image has neither curl nor ss)
# ---------------------------------------------------------------------------

# A TCP port that is free on 127.0.0.1 right now (the kernel picks it).
free_port() {
  node -e 'const s = require("net").createServer();
           s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# HTTP status of a GET, or 0 if there was no answer within 2 s.
http_status() {
  node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
             .then((r) => console.log(r.status), () => console.log(0));' "$1"
}

# True if something accepts TCP connections on 127.0.0.1:$1.
port_taken() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ---------------------------------------------------------------------------
# 1. System packages (apt is skipped entirely when nothing is missing)
# ---------------------------------------------------------------------------
step "checking prerequisites"
SECONDS=0

missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
command -v oathtool >/dev/null || missing+=(oathtool) # TOTP interop test (sspr-core methods::totp)
if [[ -z ${SSPR_TEST_POSTGRES_URL:-} ]] && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  missing+=(postgresql) # the metapackage pulls in Debian's default server (15)
fi
# The SMTP capture (scripts/smtp.sh) runs aiosmtpd in a virtualenv and makes
# its STARTTLS certificate with openssl.
if ! command -v python3 >/dev/null; then
  missing+=(python3 python3-venv)
elif ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  missing+=(python3-venv) # Debian splits venv/ensurepip out of python3
fi
command -v openssl >/dev/null || missing+=(openssl)

if ((${#missing[@]})); then
  if [[ $EUID -eq 0 ]]; then
    SUDO=()
  elif command -v sudo >/dev/null; then
    SUDO=(sudo)
  else
    die "missing Debian packages: ${missing[*]}; install them as root (apt-get install ${missing[*]})"
  fi
  step "installing ${missing[*]} with apt"
  # DPkg::Lock::Timeout: another apt run (e.g. a provisioning script) may
  # still hold the dpkg lock; wait for it instead of failing at once.
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}"
  [[ -x /usr/bin/chromium ]] || die "/usr/bin/chromium still missing after apt-get install"
fi

# Node.js is not installed from apt: Debian 12 ships Node 18, and
# playwright-core needs 20 or newer.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  die "Node.js >= $MIN_NODE_MAJOR.$MIN_NODE_MINOR with npm is required (Debian 12's nodejs 18 is too old)"
fi
IFS=. read -r node_major node_minor _ <<<"$(node -p process.versions.node)"
if ((node_major < MIN_NODE_MAJOR || (node_major == MIN_NODE_MAJOR && node_minor < MIN_NODE_MINOR))); then
  die "Node.js >= $MIN_NODE_MAJOR.$MIN_NODE_MINOR is required, found $(node --version)"
fi

command -v cargo >/dev/null || die "cargo not found; install Rust with rustup"
if ! cargo nextest --version >/dev/null 2>&1; then
  step "installing cargo-nextest"
  cargo install cargo-nextest --locked
fi

# npm ci wipes and reinstalls node_modules, so only run it when the lock file
# (or package.json) changed since the last install; the stamp records that.
npm_stamp=$BROWSER_DIR/node_modules/.sspr-installed.sha256
npm_sum=$(cat "$BROWSER_DIR/package.json" "$BROWSER_DIR/package-lock.json" | sha256sum | cut -d' ' -f1)
if [[ ! -f $npm_stamp || $(<"$npm_stamp") != "$npm_sum" ]]; then
  step "npm ci in $BROWSER_DIR"
  (cd "$BROWSER_DIR" && npm ci --no-audit --no-fund)
  echo "$npm_sum" >"$npm_stamp"
fi
note "prerequisites ready (${SECONDS} s)"

# ---------------------------------------------------------------------------
# 2. PostgreSQL for the Rust store tests
# ---------------------------------------------------------------------------
if [[ -z ${SSPR_TEST_POSTGRES_URL:-} ]]; then
  step "starting a throwaway PostgreSQL"
  # A free port unless one was asked for: a fixed port would collide with a
  # second test run or a cluster a developer left running.
  export SSPR_PG_PORT=${SSPR_PG_PORT:-$(free_port)}
  PG_STARTED=1 # before start: a half-started cluster must be cleaned up too
  SSPR_TEST_POSTGRES_URL=$(scripts/pg.sh start)
else
  note "using the PostgreSQL at SSPR_TEST_POSTGRES_URL (not starting one)"
fi
export SSPR_TEST_POSTGRES_URL

# ---------------------------------------------------------------------------
# 2b. SMTP capture for the delivery tests (sspr-notify)
# ---------------------------------------------------------------------------
step "starting an SMTP capture (aiosmtpd)"
SMTP_STARTED=1 # before start: a half-started server must be stopped too
smtp_env=$(scripts/smtp.sh start)
# It prints SSPR_TEST_SMTP=host:port, SSPR_TEST_SMTP_DIR=... and SSPR_TEST_SMTP_CA=...
while IFS='=' read -r key value; do
  case $key in
    SSPR_TEST_SMTP | SSPR_TEST_SMTP_DIR | SSPR_TEST_SMTP_CA) export "$key=$value" ;;
  esac
done <<<"$smtp_env"
[[ -n ${SSPR_TEST_SMTP:-} && -n ${SSPR_TEST_SMTP_DIR:-} ]] ||
  die "scripts/smtp.sh start did not print SSPR_TEST_SMTP and SSPR_TEST_SMTP_DIR"
note "SMTP capture on $SSPR_TEST_SMTP, messages in $SSPR_TEST_SMTP_DIR"

# ---------------------------------------------------------------------------
# 2c. Directories: OpenLDAP slapd (ppolicy) and a Samba AD DC for the
#     sspr-directory tests (reference/components.md §1-2). Not optional: the
#     tests fail without them.
# ---------------------------------------------------------------------------
# read_env PREFIX: exports the KEY=VALUE lines on stdin whose key starts with PREFIX.
read_env() {
  local key value
  while IFS='=' read -r key value; do
    [[ $key == "$1"* ]] && export "$key=$value"
  done
  return 0
}
step "starting OpenLDAP slapd"
LDAP_STARTED=1 # before start: a half-started server must be stopped too
read_env SSPR_TEST_LDAP <<<"$(scripts/ldap.sh start)"
[[ -n ${SSPR_TEST_LDAP_URL:-} ]] || die "scripts/ldap.sh start did not print SSPR_TEST_LDAP_URL"
note "slapd on $SSPR_TEST_LDAP_URL and $SSPR_TEST_LDAPS_URL"
step "starting a Samba AD domain controller (provisioning takes 10-30 s)"
SAMBA_STARTED=1
SECONDS=0
read_env SSPR_TEST_AD <<<"$(scripts/samba.sh start)"
[[ -n ${SSPR_TEST_AD_URL:-} ]] || die "scripts/samba.sh start did not print SSPR_TEST_AD_URL"
note "Samba AD DC on $SSPR_TEST_AD_URL (${SECONDS} s)"

# ---------------------------------------------------------------------------
# 3. Build and Rust tests
# ---------------------------------------------------------------------------
step "cargo build --workspace --all-targets"
SECONDS=0
cargo build --workspace --all-targets # a build failure ends the run here
note "build took ${SECONDS} s"

step "cargo nextest run --workspace --no-fail-fast"
SECONDS=0
rust_rc=0
cargo nextest run --workspace --no-fail-fast || rust_rc=$?
note "Rust tests took ${SECONDS} s (exit status $rust_rc)"

# ---------------------------------------------------------------------------
# 3b. schemathesis against the admin API (its own server, token and venv)
# ---------------------------------------------------------------------------
step "scripts/api-fuzz.sh (schemathesis on /api/v1/admin)"
fuzz_rc=0
fuzz_bin="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/sspr"
scripts/api-fuzz.sh "$fuzz_bin" || fuzz_rc=$?

# ---------------------------------------------------------------------------
# 4. Browser tests against `sspr demo`
# ---------------------------------------------------------------------------
# NOTE: this function is called as `run_browser_tests || browser_rc=$?`, and
# bash disables `set -e` inside anything called from a `||` list. Every
# command that can fail is therefore checked explicitly here.
run_browser_tests() {
  local target_dir bin port demo_log base_url deadline status rc files
  # Ask cargo where the binaries are (CARGO_TARGET_DIR or .cargo/config may
  # move them). `cargo metadata --no-deps` builds nothing.
  target_dir=$(cargo metadata --no-deps --format-version 1 |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).target_directory));') ||
    { note "cargo metadata failed"; return 1; }
  bin=$target_dir/debug/sspr
  [[ -x $bin ]] || { note "$bin was not built"; return 1; }

  port=$(free_port) || return 1
  # Stale-server guard: if anything answers on the port (someone took it
  # since free_port), /healthz could be answered by the wrong server.
  if port_taken "$port"; then
    note "port $port was taken in the meantime"
    return 1
  fi

  demo_log=$TEST_DIR/demo.log
  rm -rf "$TEST_DIR/demo"
  step "starting sspr demo on 127.0.0.1:$port (log: $demo_log)"
  "$bin" demo --listen "127.0.0.1:$port" --data-dir "$TEST_DIR/demo" >"$demo_log" 2>&1 &
  DEMO_PID=$!

  SECONDS=0
  deadline=$((SECONDS + HEALTH_TIMEOUT))
  while :; do
    if ! kill -0 "$DEMO_PID" 2>/dev/null; then
      wait "$DEMO_PID" && status=0 || status=$?
      DEMO_PID=""
      note "sspr demo exited (status $status) before it became healthy; its log:"
      cat "$demo_log" >&2
      return 1
    fi
    status=$(http_status "http://127.0.0.1:$port/healthz") || status=0
    [[ $status == 200 ]] && break
    if ((SECONDS >= deadline)); then
      note "sspr demo did not answer /healthz with 200 within ${HEALTH_TIMEOUT} s (last status: $status); its log:"
      cat "$demo_log" >&2
      return 1
    fi
    sleep 0.2
  done
  note "sspr demo healthy after ${SECONDS} s"

  # localhost, not 127.0.0.1: WebAuthn refuses IP addresses as RP IDs.
  base_url="http://localhost:$port"
  # Explicit file list: `node --test DIR/` only works on Node 20 (21+ treat
  # the argument as a glob and try to import the directory).
  files=("$BROWSER_DIR"/*.test.mjs)
  [[ -e ${files[0]} ]] || { note "no browser tests found in $BROWSER_DIR"; return 1; }
  step "node --test ${files[*]}  (SSPR_BASE_URL=$base_url)"
  SECONDS=0
  rc=0
  # One test file at a time: they share one demo instance (and its users),
  # and two Chromiums on a 2-core machine only slow each other down.
  SSPR_BASE_URL=$base_url node --test --test-concurrency=1 "${files[@]}" || rc=$?
  note "browser tests took ${SECONDS} s (exit status $rc)"

  if ! stop_demo; then
    note "sspr demo did not shut down on SIGTERM"
    rc=1
  fi
  if ((rc != 0)); then
    note "browser tests failed; sspr demo log:"
    cat "$demo_log" >&2
  fi
  return "$rc"
}

browser_rc=0
run_browser_tests || browser_rc=$?

# ---------------------------------------------------------------------------
# 5. Summary
# ---------------------------------------------------------------------------
verdict() { if (($1 == 0)); then echo PASS; else echo "FAIL (exit status $1)"; fi; }
step "summary"
echo "  Rust tests (nextest): $(verdict "$rust_rc")" >&2
echo "  API fuzzing:          $(verdict "$fuzz_rc")" >&2
echo "  Browser tests:        $(verdict "$browser_rc")" >&2
((rust_rc == 0 && fuzz_rc == 0 && browser_rc == 0))

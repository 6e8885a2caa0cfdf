#!/usr/bin/env bash
# Measures `sspr directory sync` of a large directory (docs/benchmarks.md): generates N users
# (default 100,000) as LDIF, loads them offline into a throwaway slapd (scripts/ldap.sh), and
# runs a full sync into a fresh SQLite database, a second full sync (nothing changed) and an
# incremental one, each under /usr/bin/time -v (wall time and peak RSS). Not a test.
#
#   scripts/bench-directory-sync.sh [N]        uses target/release/sspr (build it first:
#                                              cargo build --release -p sspr-server)
#   SSPR_BIN=target/debug/sspr scripts/bench-directory-sync.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${1:-100000}
BIN=${SSPR_BIN:-$ROOT/target/release/sspr}
WORK=$(mktemp -d -t sspr-bench-sync.XXXXXX)
export SSPR_TEST_DIR=$WORK

[[ -x $BIN ]] || { echo "bench: $BIN not built" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
trap '"$ROOT/scripts/ldap.sh" stop >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

python3 - "$N" "$WORK/users.ldif" <<'EOF'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    for i in range(n):
        u = f"bench{i:06d}"
        f.write(f"dn: uid={u},ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\n"
                f"uid: {u}\ncn: Bench User {i}\ngivenName: Bench\nsn: User{i}\n"
                f"mail: {u}@example.org\nmobile: +44 7911 {100000 + i % 900000:06d}\n"
                f"telephoneNumber: +44 20 7123 {i % 10000:04d}\nuserPassword: InitPass1\n\n")
EOF
SECONDS=0
env_lines=$(SSPR_LDAP_EXTRA_LDIF=$WORK/users.ldif "$ROOT/scripts/ldap.sh" start)
echo "bench: slapd with $N extra users ready in ${SECONDS} s" >&2
url=$(grep '^SSPR_TEST_LDAP_URL=' <<<"$env_lines" | cut -d= -f2-)
ca=$(grep '^SSPR_TEST_LDAP_CA=' <<<"$env_lines" | cut -d= -f2-)
cat >"$WORK/sspr.toml" <<EOF
data_dir = "$WORK/data"
[directory]
kind = "openldap"
url = "$url"
ca_file = "$ca"
bind_dn = "cn=pwadmin,ou=system,dc=example,dc=org"
bind_password = "pwadminpw"
user_base = "ou=people,dc=example,dc=org"
group_base = "ou=groups,dc=example,dc=org"
EOF

run() {
  local label=$1
  shift
  /usr/bin/time -v "$BIN" --config "$WORK/sspr.toml" directory sync "$@" >"$WORK/out" 2>"$WORK/time"
  printf '%-28s wall %-9s cpu %6.1f s  peak RSS %4d MB   %s\n' "$label" \
    "$(grep 'Elapsed (wall' "$WORK/time" | awk '{print $NF}')" \
    "$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$WORK/time")" \
    "$(($(grep 'Maximum resident' "$WORK/time" | awk '{print $NF}') / 1024))" \
    "$(grep -E 'entries read|users created' "$WORK/out" | awk '{printf "%s %s; ", $1" "$2, $NF}')"
}
echo "binary: $BIN; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(cpu: user + system time of sspr alone; slapd's is not counted)"
run "full, into an empty store" --full
run "full, nothing changed" --full
run "incremental, nothing changed"

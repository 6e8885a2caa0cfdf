#!/usr/bin/env bash
# Throwaway OpenLDAP slapd with the ppolicy overlay, LDAPS and StartTLS, for sspr's directory
# tests (reference/components.md §1 has the background and every trap).
#
#   scripts/ldap.sh start   install slapd if missing, create a fresh instance on free ports,
#                           wait until it answers and print (on stdout, one per line):
#                             SSPR_TEST_LDAP_URL=ldap://127.0.0.1:PORT      (StartTLS)
#                             SSPR_TEST_LDAPS_URL=ldaps://127.0.0.1:PORT
#                             SSPR_TEST_LDAP_CA=<the server's self-signed certificate>
#   scripts/ldap.sh stop    stop it (by PID) and delete its directory
#   scripts/ldap.sh env     print the lines again (exit 1 if it is not running)
#
# The data: base dc=example,dc=org; a default password policy (cn=default,ou=policies:
# pwdMinLength 8, pwdCheckQuality 2, pwdInHistory 3, lockout after 3 failures until an admin
# unlocks); people alice … leo (twelve, password InitPass1); groups staff ⊃ devs;
# the delegated password admin cn=pwadmin,ou=system (pwadminpw). The rootdn bypasses ppolicy,
# so sspr (and the tests) act as pwadmin.
#
# Knobs:
#   SSPR_TEST_DIR        scratch directory; the instance lives in $SSPR_TEST_DIR/ldap
#   SSPR_LDAP_PORT       plain/StartTLS port (default: a free port)
#   SSPR_LDAPS_PORT      LDAPS port (default: a free port)
#   SSPR_LDAP_EXTRA_LDIF more entries to load offline at creation (the 100,000-user benchmark)
set -euo pipefail

TEST_DIR=${SSPR_TEST_DIR:-/tmp/sspr-test}
LDAP_DIR=${SSPR_LDAP_DIR:-$TEST_DIR/ldap}
PID_FILE=$LDAP_DIR/slapd.pid
LOG_FILE=$LDAP_DIR/slapd.log
START_TIMEOUT=20 # seconds
SUFFIX=dc=example,dc=org

die() { echo "ldap.sh: $*" >&2; exit 1; }
log() { echo "ldap.sh: $*" >&2; }

port_taken() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

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
  echo "SSPR_TEST_LDAP_URL=ldap://127.0.0.1:$(<"$LDAP_DIR/port")"
  echo "SSPR_TEST_LDAPS_URL=ldaps://127.0.0.1:$(<"$LDAP_DIR/ldaps_port")"
  echo "SSPR_TEST_LDAP_CA=$LDAP_DIR/tls/ca.crt"
}

# make_tls DIR CN SANS: DIR/ca.crt (a throwaway CA) and DIR/server.{crt,key} signed by it.
make_tls() {
  local dir=$1 cn=$2 sans=$3
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=sspr test CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$cn" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
    "$sans" >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 2 -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null
  chmod 600 "$dir/server.key" "$dir/ca.key"
}

ensure_installed() {
  [[ -x /usr/sbin/slapd ]] && command -v slapadd >/dev/null && command -v ldapsearch >/dev/null && return 0
  local sudo=()
  if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null || die "slapd is missing; install it as root: apt-get install slapd ldap-utils"
    sudo=(sudo)
  fi
  log "installing slapd and ldap-utils with apt"
  # no_configuration: the package creates no database and (policy-rc.d or not) no system slapd.
  echo 'slapd slapd/no_configuration boolean true' | "${sudo[@]}" debconf-set-selections
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=600 slapd ldap-utils >&2
}

write_config() {
  local hash
  hash=$(slappasswd -s admin)
  cat >"$LDAP_DIR/config.ldif" <<EOF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $PID_FILE
olcTLSCertificateFile: $LDAP_DIR/tls/server.crt
olcTLSCertificateKeyFile: $LDAP_DIR/tls/server.key
olcSizeLimit: unlimited

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: ppolicy

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: unlimited

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $SUFFIX
olcRootDN: cn=admin,$SUFFIX
olcRootPW: $hash
olcDbDirectory: $LDAP_DIR/data
olcDbMaxSize: 2147483648
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcDbIndex: mail eq
olcDbIndex: member eq
olcDbIndex: entryUUID eq
olcDbIndex: modifyTimestamp eq
olcSizeLimit: unlimited
olcAccess: {0}to attrs=userPassword by dn.exact="cn=pwadmin,ou=system,$SUFFIX" write by self write by anonymous auth by * none
olcAccess: {1}to attrs=pwdAccountLockedTime by dn.exact="cn=pwadmin,ou=system,$SUFFIX" write by * read
olcAccess: {2}to * by dn.exact="cn=pwadmin,ou=system,$SUFFIX" read by users read by * none

dn: olcOverlay={0}ppolicy,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {0}ppolicy
olcPPolicyDefault: cn=default,ou=policies,$SUFFIX
olcPPolicyHashCleartext: TRUE
olcPPolicyUseLockout: TRUE
EOF
}

write_data() {
  local people=(alice bob carol dave erin frank gina hank ivan judy kate leo) u
  cat >"$LDAP_DIR/data.ldif" <<EOF
dn: $SUFFIX
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,$SUFFIX
objectClass: organizationalUnit
ou: people

dn: ou=groups,$SUFFIX
objectClass: organizationalUnit
ou: groups

dn: ou=policies,$SUFFIX
objectClass: organizationalUnit
ou: policies

dn: ou=system,$SUFFIX
objectClass: organizationalUnit
ou: system

dn: cn=default,ou=policies,$SUFFIX
objectClass: device
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdMinLength: 8
pwdCheckQuality: 2
pwdInHistory: 3
pwdLockout: TRUE
pwdMaxFailure: 3
pwdLockoutDuration: 0
pwdFailureCountInterval: 0

dn: cn=pwadmin,ou=system,$SUFFIX
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: pwadmin
userPassword: pwadminpw

EOF
  for u in "${people[@]}"; do
    cat >>"$LDAP_DIR/data.ldif" <<EOF
dn: uid=$u,ou=people,$SUFFIX
objectClass: inetOrgPerson
uid: $u
cn: ${u^} Example
givenName: ${u^}
sn: Example
mail: $u@example.org
mobile: +44 7911 1234$((10 + ${#u}))
telephoneNumber: +44 20 7123 45$((10 + ${#u}))
userPassword: InitPass1

EOF
  done
  cat >>"$LDAP_DIR/data.ldif" <<EOF
dn: cn=devs,ou=groups,$SUFFIX
objectClass: groupOfNames
cn: devs
member: uid=bob,ou=people,$SUFFIX

dn: cn=staff,ou=groups,$SUFFIX
objectClass: groupOfNames
cn: staff
member: uid=alice,ou=people,$SUFFIX
member: cn=devs,ou=groups,$SUFFIX

EOF
}

cmd_start() {
  local pid port ldaps_port i
  pid=$(running_pid)
  if [[ -n $pid ]]; then
    log "already running (pid $pid)"
    print_env
    return 0
  fi
  ensure_installed
  command -v openssl >/dev/null || die "openssl is required for the TLS certificate"
  port=${SSPR_LDAP_PORT:-$(free_port)}
  ldaps_port=${SSPR_LDAPS_PORT:-$(free_port)}
  [[ $port != "$ldaps_port" ]] || ldaps_port=$(free_port)
  for p in "$port" "$ldaps_port"; do
    port_taken "$p" && die "127.0.0.1:$p is already in use; stop that server or pick other ports"
  done

  rm -rf "$LDAP_DIR"
  mkdir -p "$LDAP_DIR/slapd.d" "$LDAP_DIR/data" "$LDAP_DIR/tls"
  echo "$port" >"$LDAP_DIR/port"
  echo "$ldaps_port" >"$LDAP_DIR/ldaps_port"
  # A private CA and a server certificate it signed (rustls refuses a CA certificate used
  # as the server's own). libldap and rustls both check the IP SAN: clients use 127.0.0.1.
  make_tls "$LDAP_DIR/tls" localhost "DNS:localhost,IP:127.0.0.1"
  write_config
  write_data
  slapadd -n0 -F "$LDAP_DIR/slapd.d" -l "$LDAP_DIR/config.ldif" >&2
  slapadd -n1 -F "$LDAP_DIR/slapd.d" -l "$LDAP_DIR/data.ldif" >&2
  if [[ -n ${SSPR_LDAP_EXTRA_LDIF:-} ]]; then
    log "loading $SSPR_LDAP_EXTRA_LDIF"
    slapadd -q -n1 -F "$LDAP_DIR/slapd.d" -l "$SSPR_LDAP_EXTRA_LDIF" >&2
  fi
  if [[ $EUID -eq 0 ]]; then
    # slapd drops nothing here; keep the files ours. (It runs as the invoking user.)
    :
  fi
  # -d stats: stays in the foreground and logs operations; setsid: own process group.
  setsid /usr/sbin/slapd -d stats -F "$LDAP_DIR/slapd.d" \
    -h "ldap://127.0.0.1:$port/ ldaps://127.0.0.1:$ldaps_port/" >"$LOG_FILE" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$LDAP_DIR/launcher.pid"
  for ((i = 0; i < START_TIMEOUT * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$LOG_FILE" >&2; die "slapd exited at start"; }
    if port_taken "$port" && port_taken "$ldaps_port" &&
      ldapsearch -x -H "ldap://127.0.0.1:$port" -b "$SUFFIX" -s base -D "cn=pwadmin,ou=system,$SUFFIX" -w pwadminpw dn >/dev/null 2>&1; then
      break
    fi
    sleep 0.1
  done
  ldapsearch -x -H "ldap://127.0.0.1:$port" -b "$SUFFIX" -s base -D "cn=pwadmin,ou=system,$SUFFIX" -w pwadminpw dn >/dev/null 2>&1 ||
    { kill "$pid" 2>/dev/null; tail -20 "$LOG_FILE" >&2; die "slapd did not answer within ${START_TIMEOUT} s"; }
  # With -d, slapd writes its pid file too; prefer it, fall back to the launcher's.
  [[ -s $PID_FILE ]] || echo "$pid" >"$PID_FILE"
  log "started (pid $(<"$PID_FILE"), ldap 127.0.0.1:$port, ldaps 127.0.0.1:$ldaps_port, log $LOG_FILE)"
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
  rm -rf "$LDAP_DIR"
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

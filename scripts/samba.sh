#!/usr/bin/env bash
# Throwaway Samba AD domain controller for sspr's Active Directory tests
# (reference/components.md §2 has the background and every trap). Needs root: the DC's LDAP
# ports (389/636) cannot be moved.
#
#   scripts/samba.sh start  install Samba if missing, provision a fresh domain SAMDOM
#                           (realm SAMDOM.EXAMPLE.COM) on 127.0.0.1, start it, wait until LDAPS
#                           answers and print (on stdout, one per line):
#                             SSPR_TEST_AD_URL=ldaps://127.0.0.1
#                             SSPR_TEST_AD_STARTTLS_URL=ldap://127.0.0.1
#                             SSPR_TEST_AD_CA=<the DC's certificate>
#                             SSPR_TEST_AD_CONF=<its smb.conf, for samba-tool -s>
#   scripts/samba.sh stop   stop it (by PID) and delete its directory
#   scripts/samba.sh env    print the lines again (exit 1 if it is not running)
#
# The domain: Administrator / Adm1n!Passw0rd; password settings complexity on, history 3,
# minimum length 8, minimum age 0, lockout after 3 bad passwords until unlocked;
# `old password allowed period = 0` so an old password stops binding at once. Users alice,
# bob, carol, dave, erin, frank (Init!Pass123); gina disabled (533); hank must change his
# password (773). Groups staff ⊃ devs (bob), alice in staff.
#
# Knobs:
#   SSPR_TEST_DIR   scratch directory; the DC lives in $SSPR_TEST_DIR/samba
#   SSPR_SAMBA_IP   the address to serve on (default 127.0.0.1). The DC's ports cannot be
#                   moved, so a second test run on the same machine needs another address,
#                   and Samba only serves on an address an interface has: as root,
#                   `ip addr add 127.0.0.2/8 dev lo`, then SSPR_SAMBA_IP=127.0.0.2.
set -euo pipefail

TEST_DIR=${SSPR_TEST_DIR:-/tmp/sspr-test}
SAMBA_DIR=$TEST_DIR/samba
PID_FILE=$SAMBA_DIR/samba.pid
LOG_FILE=$SAMBA_DIR/samba.out
CONF=$SAMBA_DIR/etc/smb.conf
IP=${SSPR_SAMBA_IP:-127.0.0.1}
ADMIN_PASS='Adm1n!Passw0rd'
USER_PASS='Init!Pass123'
START_TIMEOUT=90 # seconds, from `samba -i` to the first LDAPS answer

die() { echo "samba.sh: $*" >&2; exit 1; }
log() { echo "samba.sh: $*" >&2; }

port_taken() {
  (exec 3<>"/dev/tcp/$IP/$1") 2>/dev/null
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

# The address the running DC serves on (saved at start).
saved_ip() {
  [[ -r $SAMBA_DIR/ip ]] && IP=$(<"$SAMBA_DIR/ip")
  return 0
}

ports_free() {
  local p
  for p in 389 636 88 464 3268 3269; do
    port_taken "$p" && return 1
  done
  return 0
}

print_env() {
  echo "SSPR_TEST_AD_URL=ldaps://$IP"
  echo "SSPR_TEST_AD_STARTTLS_URL=ldap://$IP"
  echo "SSPR_TEST_AD_CA=$SAMBA_DIR/tls/ca.crt"
  echo "SSPR_TEST_AD_CONF=$CONF"
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
  command -v samba >/dev/null && command -v samba-tool >/dev/null &&
    [[ -d /usr/share/samba/setup ]] && command -v ldapsearch >/dev/null && return 0
  [[ $EUID -eq 0 ]] || die "Samba AD DC is missing; install it as root (see reference/components.md §2)"
  log "installing the Samba AD DC with apt"
  debconf-set-selections <<'EOF'
krb5-config krb5-config/default_realm string SAMDOM.EXAMPLE.COM
krb5-config krb5-config/add_servers boolean false
EOF
  DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  # samba-ad-provision holds /usr/share/samba/setup, which --no-install-recommends leaves out.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=600 samba samba-ad-dc samba-ad-provision samba-dsdb-modules \
    samba-vfs-modules winbind krb5-user ldap-utils >&2
}

tool() { samba-tool "$@" -s "$CONF" >&2; }

cmd_start() {
  local pid i p
  pid=$(running_pid)
  if [[ -n $pid ]]; then
    log "already running (pid $pid)"
    saved_ip
    print_env
    return 0
  fi
  [[ $EUID -eq 0 ]] || die "the Samba AD DC needs root (its LDAP ports 389/636 are fixed)"
  ensure_installed
  ports_free || die "a port of 389, 636, 88, 464, 3268, 3269 on $IP is in use (another DC or \
test run?); stop it, or serve on another address (SSPR_SAMBA_IP, see the top of this script)"

  rm -rf "$SAMBA_DIR"
  mkdir -p "$SAMBA_DIR/tls"
  echo "$IP" >"$SAMBA_DIR/ip"
  # Its own pid and socket directories: the defaults under /run/samba would stop a second DC
  # ("samba is already running").
  mkdir -p "$SAMBA_DIR/run"
  # Our own CA and a certificate with an IP SAN, so clients can verify it (Samba's own is for
  # DC1…, and rustls refuses a self-signed CA certificate as a server's).
  make_tls "$SAMBA_DIR/tls" dc1.samdom.example.com "DNS:dc1.samdom.example.com,IP:$IP"

  SECONDS=0
  # dns-backend NONE + no dns service: SAMBA_INTERNAL would forward to the machine's resolver.
  samba-tool domain provision --targetdir="$SAMBA_DIR" --realm=SAMDOM.EXAMPLE.COM \
    --domain=SAMDOM --server-role=dc --dns-backend=NONE --adminpass="$ADMIN_PASS" \
    --host-name=dc1 --option="interfaces = $IP" --option="bind interfaces only = yes" \
    --option="server services = ldap, cldap, kdc" --option="log file = $SAMBA_DIR/log.%m" \
    --option="pid directory = $SAMBA_DIR/run" --option="ncalrpc dir = $SAMBA_DIR/run/ncalrpc" \
    --option="winbindd socket directory = $SAMBA_DIR/run/winbindd" \
    --option="tls certfile = $SAMBA_DIR/tls/server.crt" \
    --option="tls keyfile = $SAMBA_DIR/tls/server.key" \
    --option="tls cafile = $SAMBA_DIR/tls/ca.crt" >"$SAMBA_DIR/provision.log" 2>&1 ||
    { tail -20 "$SAMBA_DIR/provision.log" >&2; die "provisioning failed"; }
  # provision --option drops this one silently; without it an old password still binds for
  # an hour after a reset.
  sed -i 's/^\[global\]$/[global]\n\told password allowed period = 0/' "$CONF"
  log "provisioned in ${SECONDS} s"

  tool domain passwordsettings set --complexity=on --history-length=3 --min-pwd-length=8 \
    --min-pwd-age=0 --max-pwd-age=0 --account-lockout-threshold=3 \
    --account-lockout-duration=0 --reset-account-lockout-after=30
  for u in alice bob carol dave erin frank gina hank; do
    tool user create "$u" "$USER_PASS" --mail-address="$u@samdom.example.com" \
      --telephone-number="+44 20 7123 45$((10 + ${#u}))"
  done
  tool user disable gina
  tool group add devs
  tool group add staff
  tool group addmembers devs bob
  tool group addmembers staff alice,devs

  setsid samba -i -s "$CONF" >"$LOG_FILE" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PID_FILE"
  SECONDS=0
  for ((i = 0; i < START_TIMEOUT * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$LOG_FILE" >&2; die "samba exited at start"; }
    if LDAPTLS_CACERT=$SAMBA_DIR/tls/ca.crt ldapsearch -x -H "ldaps://$IP" -s base -b '' \
      -D "Administrator@samdom.example.com" -w "$ADMIN_PASS" dn >/dev/null 2>&1; then
      break
    fi
    sleep 0.2
  done
  LDAPTLS_CACERT=$SAMBA_DIR/tls/ca.crt ldapsearch -x -H "ldaps://$IP" -s base -b '' \
    -D "Administrator@samdom.example.com" -w "$ADMIN_PASS" dn >/dev/null 2>&1 ||
    { kill "$pid" 2>/dev/null; tail -20 "$LOG_FILE" >&2; die "samba did not answer LDAPS within ${START_TIMEOUT} s"; }
  # hank must change his password at next logon (pwdLastSet 0 → bind gives data 773). Set over
  # LDAP: samba-tool's --must-change-at-next-login needs the DC running.
  LDAPTLS_CACERT=$SAMBA_DIR/tls/ca.crt ldapmodify -x -H "ldaps://$IP" \
    -D "Administrator@samdom.example.com" -w "$ADMIN_PASS" >/dev/null <<EOF
dn: CN=hank,CN=Users,DC=samdom,DC=example,DC=com
changetype: modify
replace: pwdLastSet
pwdLastSet: 0
EOF
  log "started (pid $pid, $IP:389/636, answered after ${SECONDS} s, log $LOG_FILE)"
  print_env
}

cmd_stop() {
  local pid i
  pid=$(running_pid)
  if [[ -n $pid ]]; then
    # SIGTERM to `samba -i` stops every child.
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
  rm -rf "$SAMBA_DIR"
}

cmd_env() {
  [[ -n $(running_pid) ]] || die "not running (start it with '$0 start')"
  saved_ip
  print_env
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  env) cmd_env ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac

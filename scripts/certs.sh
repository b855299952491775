#!/usr/bin/env bash
# Makes the certificates of a kvactors cluster with TLS: a cluster CA that
# signs the nodes' and operators' certificates, a client CA that signs the
# clients'. Run with --help for the commands.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: certs.sh DIR COMMAND [ARG] [--force]
  init           make the cluster CA (DIR/cluster-ca.pem, .key) and the
                 client CA (DIR/client-ca.pem, .key), each if absent
  node ID        DIR/nodes/ID.pem and ID.key, signed by the cluster CA
                 (OU=node, CN=ID)
  operator NAME  DIR/operators/NAME.pem and NAME.key, signed by the cluster
                 CA (OU=operator, CN=NAME)
  client NAME    DIR/clients/NAME.pem and NAME.key, signed by the client CA
                 (OU=client, CN=NAME)
node, operator and client make the CAs first if they are missing, and keep
a certificate that exists (--force: make it again). IDs and names are 1 to
64 letters, digits, '_', '-' or '.'. Keys are EC P-256, unencrypted, mode
0600; DIR is created mode 0700.
EOF
}

bad_usage() {
  echo "certs.sh: $*" >&2
  usage >&2
  exit 2
}

die() {
  echo "certs.sh: $*" >&2
  exit 1
}

DIR="" CMD="" NAME="" FORCE=0
for arg in "$@"; do
  case $arg in
    -h | --help) usage; exit 0 ;;
  esac
done
[[ $# -ge 2 ]] || bad_usage "DIR and COMMAND are needed"
DIR=$1 CMD=$2
shift 2
for arg in "$@"; do
  case $arg in
    --force) FORCE=1 ;;
    -*) bad_usage "unknown option $arg" ;;
    *)
      [[ -z $NAME ]] || bad_usage "one ID or NAME only, not '$NAME' and '$arg'"
      NAME=$arg ;;
  esac
done
[[ -n $DIR ]] || bad_usage "DIR is empty"
case $CMD in
  init)
    [[ -z $NAME ]] || bad_usage "init takes no argument"
    [[ $FORCE -eq 0 ]] || bad_usage "init does not remake existing CAs" ;;
  node | operator | client)
    [[ -n $NAME ]] || bad_usage "$CMD needs an ID or NAME"
    # The name lands in a file name and a subject: nothing that could
    # climb out of the directory or split the subject.
    if ! [[ $NAME =~ ^[A-Za-z0-9_.-]{1,64}$ ]]; then
      echo "certs.sh: bad $CMD name '$NAME': use 1 to 64 letters," \
        "digits, '_', '-' or '.'" >&2
      exit 2
    fi ;;
  *) bad_usage "unknown command '$CMD'" ;;
esac

command -v openssl >/dev/null \
  || die "openssl not found (Debian: apt-get install openssl)"

# Everything temporary: the work directory, and the files being written
# beside their final names (moved into place once complete).
WORK=$(mktemp -d)
PENDING=()
cleanup() {
  rm -rf "$WORK"
  local f
  for f in "${PENDING[@]+"${PENDING[@]}"}"; do rm -f "$f"; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Our own configuration, so the system's openssl.cnf adds no extension.
CONF=$WORK/openssl.cnf
cat >"$CONF" <<'EOF'
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
O = kvactors
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ leaf_ext ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF

# openssl with no stdin (it never prompts) and its chatter kept unless it
# fails.
run_openssl() {
  if ! openssl "$@" </dev/null >"$WORK/out" 2>"$WORK/err"; then
    cat "$WORK/err" >&2
    die "openssl $1 failed"
  fi
}

# Random 64-bit serials: no serial file to keep, and two runs of this script
# never issue the same serial.
serial() {
  echo "0x$(openssl rand -hex 8 </dev/null)"
}

# Only the directory itself is ours to restrict, not its parents.
make_dir() {
  # shellcheck disable=SC2174
  [[ -d $1 ]] || mkdir -p -m 700 "$1"
}

# pending FILE: a fresh temporary file in FILE's directory (so mv is a
# rename), mode 0600, removed on exit unless moved into place.
pending() {
  local tmp
  tmp=$(mktemp "$(dirname "$1")/.$(basename "$1").XXXXXX")
  PENDING+=("$tmp")
  echo "$tmp"
}

# new_key TMP: an EC P-256 private key (fast to make and to use).
new_key() {
  run_openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 \
    -out "$1"
  chmod 600 "$1"
}

# install_pair TMPKEY KEY TMPCERT CERT: the old certificate goes first and
# the new one last, so an interrupted run leaves no certificate beside a key
# that is not its own (the next run makes the pair again).
install_pair() {
  chmod 600 "$1"
  chmod 644 "$3"
  rm -f "$4"
  mv -f "$1" "$2"
  mv -f "$3" "$4"
}

# make_ca BASE LABEL: BASE.pem and BASE.key unless BASE.pem exists.
make_ca() {
  local base=$1 label=$2
  if [[ -f $base.pem ]]; then
    echo "kept $base.pem"
    return
  fi
  local key cert
  key=$(pending "$base.key")
  cert=$(pending "$base.pem")
  new_key "$key"
  run_openssl req -config "$CONF" -batch -new -x509 -key "$key" \
    -subj "/O=kvactors/CN=kvactors $label CA" -days 3650 -sha256 \
    -set_serial "$(serial)" -extensions ca_ext -out "$cert"
  install_pair "$key" "$base.key" "$cert" "$base.pem"
  echo "made $base.pem"
}

init() {
  make_dir "$DIR"
  make_ca "$DIR/cluster-ca" cluster
  make_ca "$DIR/client-ca" client
}

# make_leaf CA_BASE SUBDIR OU NAME
make_leaf() {
  local ca=$1 dir=$DIR/$2 ou=$3 name=$4
  local pem=$dir/$name.pem keyfile=$dir/$name.key
  if [[ ! -f $DIR/cluster-ca.pem || ! -f $DIR/client-ca.pem ]]; then
    init
  fi
  [[ -f $ca.key ]] || die "$ca.key is missing: cannot sign with $ca.pem"
  make_dir "$dir"
  if [[ $FORCE -eq 0 && -f $pem && -f $keyfile ]]; then
    echo "kept $pem"
    return
  fi
  local key cert
  key=$(pending "$keyfile")
  cert=$(pending "$pem")
  new_key "$key"
  run_openssl req -config "$CONF" -batch -new -key "$key" \
    -subj "/O=kvactors/OU=$ou/CN=$name" -sha256 -out "$WORK/req.csr"
  run_openssl x509 -req -in "$WORK/req.csr" -CA "$ca.pem" -CAkey "$ca.key" \
    -set_serial "$(serial)" -days 825 -sha256 -extfile "$CONF" \
    -extensions leaf_ext -out "$cert"
  install_pair "$key" "$keyfile" "$cert" "$pem"
  echo "made $pem"
}

case $CMD in
  init) init ;;
  node) make_leaf "$DIR/cluster-ca" nodes node "$NAME" ;;
  operator) make_leaf "$DIR/cluster-ca" operators operator "$NAME" ;;
  client) make_leaf "$DIR/client-ca" clients client "$NAME" ;;
esac

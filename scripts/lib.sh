# Shell helpers shared by scripts/test.sh and scripts/demo.sh: progress lines, running commands in
# their own process group, installing Debian's mariadb-server (and openssl, and jq, which the
# ready message's local connect command uses) when missing and starting a throw-away MariaDB
# (server_audit on, the event scheduler on, TLS from a throw-away CA, loopback only, an
# Aurora-like admin user).
#
# The sourcing script sets CACHE_DIR, WORK (a temp dir it removes) and WAIT_SECONDS, and stops
# MARIADB_PID / CHILD_PID in its EXIT trap (stop_group). start_mariadb sets MARIADB_URL,
# MARIADB_AUDIT_LOG and MARIADB_CA (the CA certificate that signed the server's).

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
fmt_ms() { printf '%d.%01ds' $(($1 / 1000)) $(($1 % 1000 / 100)); }
START_MS=$(now_ms)
PHASE=""
PHASE_MS=$START_MS
MARIADB_PID=""
CHILD_PID=""
POLICY_RC_CREATED=""

log() { printf '[%s %7s] %s\n' "${0##*/}" "$(fmt_ms $(($(now_ms) - START_MS)))" "$*" >&2; }
phase_end() {
    local how=${1:-done in}
    if [[ -n $PHASE ]]; then
        log "$PHASE: $how $(fmt_ms $(($(now_ms) - PHASE_MS)))"
    fi
    PHASE=""
}

phase() {
    phase_end
    PHASE=$1
    PHASE_MS=$(now_ms)
    log "$PHASE ..."
}

die() {
    log "ERROR: $*"
    exit 1
}

# Stops a process started with `setsid` (so its pid is also its process group) and everything in
# that group: TERM, up to $2 seconds of grace, then KILL.
stop_group() {
    local pid=$1 grace=$2 i
    [[ -n $pid ]] || return 0
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
        kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Runs a command in its own process group and waits for it, so that a signal to this script is
# handled at once and the cleanup can stop the whole command tree.
run() {
    local rc=0
    setsid "$@" &
    CHILD_PID=$!
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=""
    return "$rc"
}

mariadb_installed() {
    dpkg-query -W -f='${Status}' mariadb-server 2>/dev/null | grep -q 'install ok installed' &&
        command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null &&
        command -v mariadb >/dev/null && command -v openssl >/dev/null && command -v jq >/dev/null
}

install_mariadb() {
    phase "install mariadb-server"
    if mariadb_installed; then
        log "mariadb-server already installed: $(mariadbd --version | head -n1)"
        return
    fi
    [[ $(id -u) -eq 0 ]] || die "mariadb-server is missing and installing it needs root"
    local apt_log=$CACHE_DIR/apt.log
    mkdir -p "$CACHE_DIR"
    # Keep the package's postinst from starting a system service: this script runs its own server.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        POLICY_RC_CREATED=1
    fi
    log "apt-get update (log: $apt_log)"
    apt-get -o DPkg::Lock::Timeout=300 update >"$apt_log" 2>&1 ||
        { tail -n 30 "$apt_log" >&2; die "apt-get update failed"; }
    log "apt-get install mariadb-server openssl jq"
    apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends mariadb-server \
        openssl jq >>"$apt_log" 2>&1 ||
        { tail -n 30 "$apt_log" >&2; die "apt-get install mariadb-server openssl jq failed"; }
    if [[ -n $POLICY_RC_CREATED ]]; then
        rm -f /usr/sbin/policy-rc.d
        POLICY_RC_CREATED=""
    fi
    mariadb_installed || die "mariadb-server installed but mariadbd, mariadb-install-db, openssl or jq not found"
    log "installed $(mariadbd --version | head -n1)"
}

# apt-get update, then apt-get install PACKAGES (as root), logged to $CACHE_DIR/apt-NAME.log.
apt_install() {
    local name=$1
    shift
    [[ $(id -u) -eq 0 ]] || die "$* missing and installing it needs root"
    local apt_log=$CACHE_DIR/apt-$name.log
    mkdir -p "$CACHE_DIR"
    log "apt-get install $* (log: $apt_log)"
    { apt-get -o DPkg::Lock::Timeout=300 update &&
        apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "$@"; } \
        >"$apt_log" 2>&1 || { tail -n 30 "$apt_log" >&2; die "apt-get install $* failed"; }
}

# Debian's chromium, for the report's headless-browser test; installed only when missing.
install_chromium() {
    phase "install chromium"
    if command -v chromium >/dev/null; then
        log "chromium already installed: $(chromium --version 2>/dev/null | head -n1)"
        return
    fi
    apt_install chromium chromium
    command -v chromium >/dev/null || die "chromium installed but not found on PATH"
}

free_ports() {
    python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
'
}

# A CA and a server certificate for 127.0.0.1/localhost signed by it, valid two days, in $1.
make_tls() {
    local dir=$1
    mkdir -p "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=powerpole test CA" \
        -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" >"$dir/openssl.log" 2>&1 &&
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
            -keyout "$dir/server-key.pem" -out "$dir/server.csr" >>"$dir/openssl.log" 2>&1 &&
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$dir/san.ext" &&
        openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" \
            -CAcreateserial -days 2 -extfile "$dir/san.ext" -out "$dir/server.pem" \
            >>"$dir/openssl.log" 2>&1 ||
        { cat "$dir/openssl.log" >&2; die "making the test TLS certificates failed"; }
}

start_mariadb() {
    phase "start mariadb"
    local port=$1 d=$WORK/mariadb i
    mkdir -p "$d"
    make_tls "$d/tls"
    mariadb-install-db --no-defaults --user=root --datadir="$d/data" \
        --auth-root-authentication-method=normal --skip-test-db >"$d/install.log" 2>&1 ||
        { cat "$d/install.log" >&2; die "mariadb-install-db failed"; }
    TZ=UTC setsid mariadbd --no-defaults --user=root --datadir="$d/data" --socket="$d/s.sock" \
        --port="$port" --bind-address=127.0.0.1 --skip-name-resolve --pid-file="$d/pid" \
        --log-error="$d/err.log" --plugin-load-add=server_audit --server-audit-logging=ON \
        --server-audit-events=CONNECT,QUERY --server-audit-file-path="$d/audit.log" \
        --server-audit-file-rotations=0 --event-scheduler=ON --ssl-ca="$d/tls/ca.pem" \
        --ssl-cert="$d/tls/server.pem" --ssl-key="$d/tls/server-key.pem" </dev/null >/dev/null 2>&1 &
    MARIADB_PID=$!
    for ((i = 0; i < WAIT_SECONDS * 10; i++)); do
        if ! kill -0 "$MARIADB_PID" 2>/dev/null; then
            cat "$d/err.log" >&2 || true
            die "mariadbd exited during start-up"
        fi
        if mariadb-admin --no-defaults --socket="$d/s.sock" -uroot --connect-timeout=1 ping \
            >/dev/null 2>&1; then
            break
        fi
        sleep 0.1
    done
    if ((i >= WAIT_SECONDS * 10)); then
        cat "$d/err.log" >&2 || true
        die "mariadbd did not answer within ${WAIT_SECONDS}s"
    fi
    local password
    password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    # Like an Aurora master user: everything, with GRANT OPTION, from the client's address only.
    if ! mariadb --no-defaults --socket="$d/s.sock" -uroot --batch <<SQL; then
CREATE USER 'powerpole_admin'@'127.0.0.1' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO 'powerpole_admin'@'127.0.0.1' WITH GRANT OPTION;
SQL
        die "creating powerpole_admin failed"
    fi
    MYSQL_PWD=$password mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$port" \
        -upowerpole_admin --batch -e 'SELECT 1' >/dev/null ||
        die "powerpole_admin cannot log in over TCP on 127.0.0.1:$port"
    MARIADB_URL="mysql://powerpole_admin:$password@127.0.0.1:$port"
    MARIADB_AUDIT_LOG="$d/audit.log"
    MARIADB_CA="$d/tls/ca.pem"
    log "mariadb on 127.0.0.1:$port, audit log $d/audit.log"
}

# Installs the EXIT trap of a script that only needs what lib.sh starts and makes: it ends the
# phase line, stops the running command (CHILD_PID) and MariaDB, removes policy-rc.d if this run
# created it and WORK, and keeps the exit code. INT and TERM exit through it.
trap_cleanup() {
    trap 'release_all $?' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

release_all() {
    local rc=$1
    trap - EXIT
    trap "" INT TERM
    set +e
    if ((rc == 0)); then phase_end; else phase_end "failed (exit $rc) after"; fi
    stop_group "$CHILD_PID" 10
    stop_group "$MARIADB_PID" 30
    if [[ -n $POLICY_RC_CREATED ]]; then rm -f /usr/sbin/policy-rc.d; fi
    if [[ -n ${WORK:-} ]]; then rm -rf "$WORK"; fi
    exit "$rc"
}

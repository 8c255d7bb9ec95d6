#!/usr/bin/env bash
# The README's run command: see the broker work on this machine, with no AWS and no Slack
# workspace. Installs Debian's mariadb-server when missing (or uses POWERPOLE_DEMO_ADMIN_URL),
# starts a throw-away MariaDB on loopback, builds the `powerpole` binary and runs
# `powerpole demo`: one request from /powerpole to the end of its access, on a compressed clock,
# printed as a timeline, ending with the path of the security team's HTML report of the run
# (in the temp dir). Everything else is removed on exit.
#
#   scripts/demo.sh                      # the demo
#   scripts/demo.sh --speed 60           # extra arguments go to `powerpole demo`
#   scripts/demo.sh --extend             # the requester also extends the access (approved)
#   POWERPOLE_DEMO_ADMIN_URL=mysql://admin:pw@127.0.0.1:3306 scripts/demo.sh   # your own server
set -euo pipefail

WAIT_SECONDS=60
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${POWERPOLE_CACHE_DIR:-${HOME:-/root}/.cache/powerpole}
WORK=""

# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
export DEBIAN_FRONTEND=noninteractive

trap_cleanup

cd "$ROOT"
if [[ -z ${POWERPOLE_DEMO_ADMIN_URL:-} ]]; then
    mkdir -p "$CACHE_DIR"
    exec 9>"$CACHE_DIR/install.lock"
    flock 9
    install_mariadb
    exec 9>&-
    WORK=$(mktemp -d -t powerpole-demo.XXXXXX)
    read -r port _ < <(free_ports)
    start_mariadb "$port"
    export POWERPOLE_DEMO_ADMIN_URL=$MARIADB_URL POWERPOLE_DEMO_AUDIT_LOG=$MARIADB_AUDIT_LOG
fi
phase "cargo build -p powerpole-cli"
run cargo build --quiet -p powerpole-cli --bin powerpole
phase_end
run cargo run --quiet -p powerpole-cli --bin powerpole -- demo "$@"

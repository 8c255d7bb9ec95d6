#!/usr/bin/env bash
# The performance figures of README "Performance", re-runnable with one command, loopback only:
#
# 1. Lambda cold and warm starts: the release `request` and `approve` Lambdas against a Slack Bolt
#    for Python peer (bench/peer/app.py on awslambdaric), alternating, each under the Runtime API
#    emulator bench/runtime_api.py, with moto (Secrets Manager, DynamoDB, Step Functions) and a fake
#    Slack Web API (bench/bench.py prints the table).
# 2. `powerpole serve` under load (with a throw-away MariaDB as scripts/test.sh starts it, or that
#    of scripts/test.sh), twice, each 4 rates x 15 s against a fresh broker: signed slash commands
#    only, then slash commands with every 5th request a modal submission (each starts a workflow)
#    (crates/testkit/examples/loadgen.rs); then every acknowledged submission is looked up in the
#    SQLite store (exactly once); serve's peak RSS and CPU.
# 3. The Lambda zips (the release binary as `bootstrap`, deflated, as cargo lambda packs it).
#
#   scripts/bench.sh            # release builds, 10 cold starts each, 4 x 15 s of load
#   scripts/bench.sh --smoke    # debug builds (those of `cargo test`), 1 run each, 2 s of load:
#                               # checks the pipeline works and prints the tables (scripts/test.sh)
#   BENCH_RUNS=20 BENCH_COMMAND_RATES=1000,2000 BENCH_RATES=500,1000 BENCH_STEP_SECS=15 scripts/bench.sh
#
# Installs into POWERPOLE_CACHE_DIR (default ~/.cache/powerpole), as scripts/test.sh does: moto in
# `venv` (shared with test.sh), the peer's slack-bolt + awslambdaric + boto3 in `venv-bolt`. With CI
# set, a component that cannot be installed or built fails the run; without, it is skipped.
set -euo pipefail

MOTO_VERSION=5.2.5
PEER_PACKAGES=(slack-bolt==1.30.0 awslambdaric==4.2.2 boto3==1.44.8)
WAIT_SECONDS=60

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${POWERPOLE_CACHE_DIR:-${HOME:-/root}/.cache/powerpole}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
export PIP_DISABLE_PIP_VERSION_CHECK=1

SMOKE=""
case ${1:-} in
    --smoke) SMOKE=1 ;;
    "") ;;
    *) die "usage: scripts/bench.sh [--smoke]" ;;
esac

WORK=""
trap_cleanup

# A needed component is missing: fatal under CI, a skip otherwise.
missing() {
    [[ -z ${CI:-} ]] || die "$* (CI is set: the bench smoke must run)"
    log "SKIP: $*"
    exit 0
}

# ensure_venv DIR PACKAGE...: a venv at DIR holding exactly these pinned packages (a marker file
# records them), created or completed with pip when not.
ensure_venv() {
    local dir=$1 want
    shift
    want="$*"
    if [[ -x $dir/bin/python && $(cat "$dir/.powerpole-bench" 2>/dev/null) == "$want" ]]; then
        log "venv $dir has $want"
        return
    fi
    local pip_log=$CACHE_DIR/pip-bench.log
    log "pip install $want into $dir (log: $pip_log)"
    if ! { [[ -x $dir/bin/python ]] || python3 -m venv "$dir"; } >"$pip_log" 2>&1 ||
        ! "$dir/bin/python" -m pip install "$@" >>"$pip_log" 2>&1; then
        tail -n 20 "$pip_log" >&2
        missing "pip install $want failed"
    fi
    echo "$want" >"$dir/.powerpole-bench"
}

cd "$ROOT"
log "powerpole bench in $ROOT (${SMOKE:+smoke, }CI=${CI:-unset})"
command -v python3 >/dev/null || missing "python3 is not installed"

phase "python venvs"
mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/install.lock"
flock 9
MOTO_PYTHON=$CACHE_DIR/venv/bin/python
if [[ $(cat "$CACHE_DIR/venv/.powerpole-moto" 2>/dev/null) == "$MOTO_VERSION" ]] &&
    "$MOTO_PYTHON" -c 'import moto, boto3' 2>/dev/null; then
    log "venv $CACHE_DIR/venv has moto $MOTO_VERSION"
else
    ensure_venv "$CACHE_DIR/venv" "moto[server]==$MOTO_VERSION"
    echo "$MOTO_VERSION" >"$CACHE_DIR/venv/.powerpole-moto"
fi
ensure_venv "$CACHE_DIR/venv-bolt" "${PEER_PACKAGES[@]}"
# serve checks its clusters' admin connection at start-up: it needs a MariaDB (nothing is approved,
# so no account is made). The one scripts/test.sh started, else a throw-away one.
if [[ -z ${POWERPOLE_TEST_MYSQL_URL:-} ]]; then install_mariadb; fi
exec 9>&-

if [[ -n $SMOKE ]]; then
    PROFILE_DIR=$TARGET_DIR/debug
    # The binaries `cargo test --workspace` builds (a no-op after scripts/test.sh's test step): a
    # `cargo build` of the same packages would resolve other features and rebuild the AWS SDK.
    phase "cargo test --workspace --no-run (the debug binaries)"
    run cargo test --workspace --no-run --quiet || missing "the debug build failed"
    RUNS=1 WARMUP=0 RATES=${BENCH_RATES:-20,50} COMMAND_RATES=${BENCH_COMMAND_RATES:-50}
    STEP_SECS=${BENCH_STEP_SECS:-1}
else
    PROFILE_DIR=$TARGET_DIR/release
    phase "cargo build --release (request, approve)"
    run cargo build --release -p powerpole-request -p powerpole-approve
    phase "cargo build --release (powerpole, loadgen)"
    run cargo build --release -p powerpole-cli -p powerpole-testkit --bin powerpole --example loadgen
    RUNS=${BENCH_RUNS:-10} WARMUP=1 RATES=${BENCH_RATES:-250,500,1000,2000}
    COMMAND_RATES=${BENCH_COMMAND_RATES:-1000,2000,3000,4000}
    STEP_SECS=${BENCH_STEP_SECS:-15}
fi
for binary in powerpole-request powerpole-approve powerpole examples/loadgen; do
    [[ -x $PROFILE_DIR/$binary ]] || missing "$PROFILE_DIR/$binary was not built"
done

WORK=$(mktemp -d -t powerpole-bench.XXXXXX)
if [[ -n ${POWERPOLE_TEST_MYSQL_URL:-} ]]; then
    ADMIN_URL=$POWERPOLE_TEST_MYSQL_URL
else
    read -r MYSQL_PORT _ < <(free_ports)
    start_mariadb "$MYSQL_PORT"
    ADMIN_URL=$MARIADB_URL
fi
moto_args=()
if [[ -n ${POWERPOLE_TEST_AWS_ENDPOINT:-} ]]; then
    moto_args=(--moto-url "$POWERPOLE_TEST_AWS_ENDPOINT")
fi

phase "Lambda cold and warm starts: Rust vs Slack Bolt for Python ($RUNS runs each)"
run "$MOTO_PYTHON" bench/bench.py lambdas --runs "$RUNS" --warmup "$WARMUP" \
    --request-bin "$PROFILE_DIR/powerpole-request" --approve-bin "$PROFILE_DIR/powerpole-approve" \
    --peer-python "$CACHE_DIR/venv-bolt/bin/python" --moto-python "$MOTO_PYTHON" \
    --json "$WORK/lambdas.json" "${moto_args[@]}"

# load NAME RATES SUBMIT_EVERY: one loadgen run against a fresh serve, then the store check.
load() {
    local dir=$WORK/load-${1// /-}
    local args=(--serve "$PROFILE_DIR/powerpole" --work "$dir" --rates "$2" --step-secs "$STEP_SECS"
        --submit-every "$3")
    if [[ -n $SMOKE ]]; then args+=(--max-errors 0); fi
    phase "powerpole serve under load: $1 (rates $2, ${STEP_SECS}s each)"
    run env POWERPOLE__CLUSTERS__0__ADMIN_URL="$ADMIN_URL" "$PROFILE_DIR/examples/loadgen" "${args[@]}"
    run "$MOTO_PYTHON" bench/bench.py store-check --db "$dir/state/powerpole.sqlite" \
        --accepted "$dir/accepted.txt"
}
load "slash commands" "$COMMAND_RATES" 0
load "commands and submissions" "$RATES" 5

# Debug zips say nothing about the deployed ones.
[[ -z $SMOKE ]] || exit 0
phase "Lambda zips"
"$MOTO_PYTHON" - "$PROFILE_DIR" "$WORK" <<'PY'
import os, sys, zipfile
profile, work = sys.argv[1], sys.argv[2]
for name in ("powerpole-request", "powerpole-approve"):
    binary = os.path.join(profile, name)
    archive = os.path.join(work, name + ".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(binary, "bootstrap")
    print(f"{name}: binary {os.path.getsize(binary) / 1e6:.1f} MB, zip {os.path.getsize(archive) / 1e6:.1f} MB"
          f" ({os.path.basename(profile)})")
PY

#!/usr/bin/env bash
# The project's one test command (README, .ci/run).
#
# Installs what is missing (Debian mariadb-server, chromium and libfaketime, a Python venv with moto and
# python-hcl2, a second venv with checkov), checks terraform/ offline (HCL parses, checkov, the consistency test of
# tests/terraform), starts a throw-away MariaDB with the server_audit plugin and a moto server on
# loopback, exports where they are, then runs cargo fmt --check, cargo clippy -D warnings and cargo
# test (debug profile). Both servers are
# stopped and their temp dir removed on any exit. The exit code is the first failing step's, else
# cargo test's.
#
#   scripts/test.sh                          # everything, as CI does
#   scripts/test.sh -p powerpole-mysql       # extra arguments go to `cargo test`
#   POWERPOLE_SKIP_LINT=1 scripts/test.sh    # skip fmt and clippy (local iterations only)
#   POWERPOLE_CACHE_DIR=/path                # where the venv lives (default ~/.cache/powerpole)
set -euo pipefail

MOTO_VERSION=5.2.5
ASL_VALIDATOR_VERSION=4.0.0
PYTHON_HCL2_VERSION=8.1.4
CHECKOV_VERSION=3.3.30
WAIT_SECONDS=60
# The most a build from scratch holds in the target dir with the CI settings below: 3.1 GB after
# the test build of a fresh clone (2026-12-03; clippy's 1.3 GB are gone by then).
NEEDED_DISK_MB=3500

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${POWERPOLE_CACHE_DIR:-${HOME:-/root}/.cache/powerpole}
VENV=$CACHE_DIR/venv
NPM_DIR=$CACHE_DIR/npm
ASL_VALIDATOR=$NPM_DIR/node_modules/.bin/asl-validator
# checkov pins its own fork of the HCL parser (module name hcl2 too): it gets a venv of its own.
CHECKOV_VENV=$CACHE_DIR/venv-checkov

# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1

# --- cleanup --------------------------------------------------------------------------------------

WORK=""
MOTO_PID=""
TARGET_DIR=""

cleanup() {
    local rc=$?
    trap - EXIT
    trap "" INT TERM
    set +e
    if ((rc == 0)); then phase_end; else phase_end "failed (exit $rc) after"; fi
    if [[ -n $TARGET_DIR ]]; then disk_report "at exit"; fi
    stop_group "$CHILD_PID" 10
    stop_group "$MOTO_PID" 10
    stop_group "$MARIADB_PID" 30
    if [[ -n $POLICY_RC_CREATED ]]; then rm -f /usr/sbin/policy-rc.d; fi
    if [[ -n $WORK ]]; then rm -rf "$WORK"; fi
    log "exit $rc"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- install --------------------------------------------------------------------------------------

venv_ready() {
    [[ -x $VENV/bin/python && -x $VENV/bin/moto_server ]] &&
        [[ $(cat "$VENV/.powerpole-moto" 2>/dev/null) == "$MOTO_VERSION" ]] &&
        "$VENV/bin/python" -c \
            'import sys, importlib.metadata as m; sys.exit(m.version("moto") != sys.argv[1])' \
            "$MOTO_VERSION" 2>/dev/null
}

install_moto() {
    phase "install moto[server]==$MOTO_VERSION"
    if venv_ready; then
        log "venv $VENV already has moto $MOTO_VERSION"
        return
    fi
    mkdir -p "$CACHE_DIR"
    local pip_log=$CACHE_DIR/pip.log
    if ! "$VENV/bin/python" -c 'pass' 2>/dev/null; then
        rm -rf "$VENV"
        log "creating venv $VENV"
        python3 -m venv "$VENV" >"$pip_log" 2>&1 ||
            { cat "$pip_log" >&2; die "python3 -m venv failed"; }
    fi
    rm -f "$VENV/.powerpole-moto"
    log "pip install moto[server]==$MOTO_VERSION (log: $pip_log)"
    "$VENV/bin/python" -m pip install --disable-pip-version-check "moto[server]==$MOTO_VERSION" \
        >>"$pip_log" 2>&1 || { tail -n 30 "$pip_log" >&2; die "pip install moto failed"; }
    echo "$MOTO_VERSION" >"$VENV/.powerpole-moto"
    venv_ready || die "moto $MOTO_VERSION not usable in $VENV after install"
}

asl_validator_ready() {
    [[ -x $ASL_VALIDATOR ]] &&
        [[ $(node -p 'require(process.argv[1]).version' \
            "$NPM_DIR/node_modules/asl-validator/package.json" 2>/dev/null) == "$ASL_VALIDATOR_VERSION" ]]
}

install_asl_validator() {
    phase "install asl-validator@$ASL_VALIDATOR_VERSION"
    if asl_validator_ready; then
        log "$ASL_VALIDATOR is $ASL_VALIDATOR_VERSION"
        return
    fi
    if ! command -v npm >/dev/null; then
        local apt_log=$CACHE_DIR/apt-node.log
        log "apt-get install nodejs npm (log: $apt_log)"
        { apt-get -o DPkg::Lock::Timeout=300 update &&
            apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends nodejs npm; } \
            >"$apt_log" 2>&1 || { tail -n 30 "$apt_log" >&2; die "apt-get install nodejs npm failed"; }
    fi
    mkdir -p "$NPM_DIR"
    npm install --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error \
        "asl-validator@$ASL_VALIDATOR_VERSION" >"$CACHE_DIR/npm.log" 2>&1 ||
        { tail -n 30 "$CACHE_DIR/npm.log" >&2; die "npm install asl-validator failed"; }
    asl_validator_ready || die "asl-validator $ASL_VALIDATOR_VERSION not usable in $NPM_DIR after install"
}

pip_has() {
    "$1/bin/python" -c \
        'import sys, importlib.metadata as m; sys.exit(m.version(sys.argv[1]) != sys.argv[2])' \
        "$2" "$3" 2>/dev/null
}

install_terraform_checks() {
    phase "install python-hcl2==$PYTHON_HCL2_VERSION, checkov==$CHECKOV_VERSION"
    local pip_log=$CACHE_DIR/pip-terraform.log
    if pip_has "$VENV" python-hcl2 "$PYTHON_HCL2_VERSION"; then
        log "venv $VENV already has python-hcl2 $PYTHON_HCL2_VERSION"
    else
        log "pip install python-hcl2==$PYTHON_HCL2_VERSION into $VENV (log: $pip_log)"
        "$VENV/bin/python" -m pip install "python-hcl2==$PYTHON_HCL2_VERSION" >"$pip_log" 2>&1 ||
            { tail -n 30 "$pip_log" >&2; die "pip install python-hcl2 failed"; }
    fi
    if pip_has "$CHECKOV_VENV" checkov "$CHECKOV_VERSION"; then
        log "venv $CHECKOV_VENV already has checkov $CHECKOV_VERSION"
    else
        rm -rf "$CHECKOV_VENV"
        log "creating venv $CHECKOV_VENV; pip install checkov==$CHECKOV_VERSION (log: $pip_log)"
        { python3 -m venv "$CHECKOV_VENV" &&
            "$CHECKOV_VENV/bin/python" -m pip install "checkov==$CHECKOV_VERSION"; } >>"$pip_log" 2>&1 ||
            { tail -n 30 "$pip_log" >&2; die "pip install checkov failed"; }
    fi
    pip_has "$VENV" python-hcl2 "$PYTHON_HCL2_VERSION" || die "python-hcl2 not usable in $VENV after install"
    pip_has "$CHECKOV_VENV" checkov "$CHECKOV_VERSION" || die "checkov not usable in $CHECKOV_VENV after install"
}

# Debian's libfaketime: the deployed-shape harness preloads it into the Lambda processes so that
# they keep the clock the scenario moves (tests/deployed/harness.rs).
faketime_library() {
    dpkg-query -L libfaketime 2>/dev/null | grep -m1 '/libfaketime\.so\.1$' || true
}

install_faketime() {
    phase "install libfaketime"
    if [[ -z $(faketime_library) ]]; then
        apt_install faketime libfaketime
    fi
    POWERPOLE_TEST_FAKETIME=$(faketime_library)
    [[ -f $POWERPOLE_TEST_FAKETIME ]] || die "libfaketime installed but libfaketime.so.1 not found"
    export POWERPOLE_TEST_FAKETIME
    log "libfaketime: $POWERPOLE_TEST_FAKETIME"
}

# --- terraform ------------------------------------------------------------------------------------

# terraform/ cannot be planned here (no provider downloads): it must parse, pass checkov with only
# the skips its README lists, and agree with the code (tests/terraform).
check_terraform() {
    phase "terraform: python-hcl2 parse, checkov, tests/terraform"
    run "$VENV/bin/python" -c '
import glob, sys, hcl2
files = sorted(glob.glob("terraform/*.tf"))
for path in files:
    with open(path, encoding="utf-8") as handle:
        hcl2.load(handle)
print(f"python-hcl2: {len(files)} files parse", file=sys.stderr)
if not files:
    sys.exit("no terraform/*.tf")
'
    local report=$WORK/checkov.json rc=0
    # checkov exits 1 on a failed check but 0 on a file it cannot parse: judge its JSON summary.
    run "$CHECKOV_VENV/bin/checkov" -d terraform --framework terraform --skip-download --quiet \
        -o json >"$report" 2>"$WORK/checkov.log" || rc=$?
    "$VENV/bin/python" - "$report" "$rc" <<'PY' || { tail -n 20 "$WORK/checkov.log" >&2; die "checkov failed"; }
import json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as handle:
        report = json.load(handle)
except (OSError, ValueError) as error:
    sys.exit(f"checkov wrote no JSON report (exit {sys.argv[2]}): {error}")
reports = report if isinstance(report, list) else [report]
failed = [c for r in reports for c in r.get("results", {}).get("failed_checks", [])]
summary = {k: sum(r.get("summary", {}).get(k, 0) for r in reports) for k in ("passed", "failed", "skipped", "parsing_errors")}
for check in failed:
    print(f"checkov: FAILED {check['check_id']} {check['resource']} ({check['file_path']}): {check['check_name']}", file=sys.stderr)
print(f"checkov: {summary}", file=sys.stderr)
if summary["parsing_errors"] or failed or summary["failed"] or not summary["passed"]:
    sys.exit(1)
PY
    run "$VENV/bin/python" -m unittest discover -s tests/terraform
}

# --- servers --------------------------------------------------------------------------------------

start_moto() {
    phase "start moto"
    local port=$1 i url="http://127.0.0.1:$1"
    setsid "$VENV/bin/python" "$ROOT/scripts/moto_serial.py" 127.0.0.1 "$port" </dev/null >"$WORK/moto.log" 2>&1 &
    MOTO_PID=$!
    for ((i = 0; i < WAIT_SECONDS * 10; i++)); do
        if ! kill -0 "$MOTO_PID" 2>/dev/null; then
            cat "$WORK/moto.log" >&2 || true
            die "moto_server exited during start-up"
        fi
        if "$VENV/bin/python" -c '
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/moto-api/data.json", timeout=1).read()
' "$url" 2>/dev/null; then
            break
        fi
        sleep 0.2
    done
    if ((i >= WAIT_SECONDS * 10)); then
        cat "$WORK/moto.log" >&2 || true
        die "moto_server did not answer within ${WAIT_SECONDS}s"
    fi
    export POWERPOLE_TEST_AWS_ENDPOINT=$url
    export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
    export AWS_EC2_METADATA_DISABLED=true
    log "moto $MOTO_VERSION on $url"
}

# --- main -----------------------------------------------------------------------------------------

cd "$ROOT"
log "powerpole tests in $ROOT (CI=${CI:-unset})"

mkdir -p "$CACHE_DIR"
# One installer at a time when several runs share the cache (the lock goes with the descriptor).
exec 9>"$CACHE_DIR/install.lock"
flock 9
install_mariadb
install_moto
install_asl_validator
install_terraform_checks
install_chromium
install_faketime
exec 9>&-
export POWERPOLE_TEST_CHROMIUM
POWERPOLE_TEST_CHROMIUM=$(command -v chromium)

phase "asl-validator statemachine/*.asl.json"
for definition in statemachine/*.asl.json; do
    run "$ASL_VALIDATOR" --json-path "$definition"
done

WORK=$(mktemp -d -t powerpole-test.XXXXXX)
check_terraform
# What terraform gives the Lambdas and the state machine, for the deployed-shape harness.
run "$VENV/bin/python" tests/terraform/lambda_env.py >"$WORK/terraform_env.json"
export POWERPOLE_TEST_TERRAFORM_ENV=$WORK/terraform_env.json

read -r MYSQL_PORT MOTO_PORT < <(free_ports)
start_mariadb "$MYSQL_PORT"
export POWERPOLE_TEST_MYSQL_URL=$MARIADB_URL POWERPOLE_TEST_MYSQL_AUDIT_LOG=$MARIADB_AUDIT_LOG \
    POWERPOLE_TEST_MYSQL_CA=$MARIADB_CA
start_moto "$MOTO_PORT"

# A fresh CI clone builds everything once: incremental caches (~2 GB of the ~6 GB target) and
# debug info buy nothing there, and a CI machine once ran out of disk (at ~3 GB) with them.
if [[ -n ${CI:-} ]]; then
    export CARGO_INCREMENTAL=0 CARGO_PROFILE_DEV_DEBUG=false
fi
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
disk_report() {
    local free_kb
    mkdir -p "$TARGET_DIR"
    free_kb=$(df -Pk "$TARGET_DIR" | awk 'NR == 2 { print $4 }')
    log "disk: $((free_kb / 1024)) MB free for $TARGET_DIR ($(du -sh "$TARGET_DIR" | cut -f1) used) $*"
    if ((free_kb < NEEDED_DISK_MB * 1024)); then
        log "WARNING: a build from scratch needs about $NEEDED_DISK_MB MB in $TARGET_DIR"
    fi
}
phase_end
disk_report "before the build"

if [[ ${POWERPOLE_SKIP_LINT:-} == 1 ]]; then
    phase_end
    log "POWERPOLE_SKIP_LINT=1: skipping cargo fmt and cargo clippy"
else
    phase "cargo fmt --all --check"
    run cargo fmt --all --check
    phase "cargo clippy --workspace --all-targets -- -D warnings"
    if [[ -n ${CI:-} ]]; then
        # Clippy's check artifacts are of no use to the test build: in CI they get a target dir
        # of their own, removed once clippy passed, so the disk holds one build at a time.
        run env CARGO_TARGET_DIR="$TARGET_DIR/clippy" cargo clippy --workspace --all-targets -- -D warnings
        rm -rf "$TARGET_DIR/clippy"
    else
        run cargo clippy --workspace --all-targets -- -D warnings
    fi
fi

test_args=(--workspace)
for arg in "$@"; do
    case $arg in
        -p* | --package | --package=* | --workspace | --all | --manifest-path*)
            test_args=()
            ;;
        --) break ;;
    esac
done
# --no-fail-fast: one CI run reports every failing test binary, not only the first.
test_cmd=(cargo test --no-fail-fast "${test_args[@]}" "$@")
phase "${test_cmd[*]}"
run "${test_cmd[@]}"

# The bench's smoke run (1 run each, 2 s of load, the debug binaries just built) so it cannot rot;
# not when cargo test was given a selection.
if (($# == 0)); then
    phase "scripts/bench.sh --smoke"
    run "$ROOT/scripts/bench.sh" --smoke
fi

#!/usr/bin/env bash
# Builds the Lambda zips terraform/ deploys: every crate in lambdas/ except shared, with
# `cargo lambda build --release --output-format zip` for x86_64 Amazon Linux 2023, into
# target/lambda/<binary>/bootstrap.zip (terraform's default lambda_zip_dir).
#
# cargo-lambda comes from PyPI with its ziglang dependency, in a venv of its own under the cache
# dir; Zig links against an old glibc, so the binaries run on AL2023 (glibc 2.34) although this
# machine has a newer one. Each bootstrap's highest GLIBC_x.y symbol version is checked with
# objdump and the script fails if it is above 2.34.
#
#   scripts/package-lambdas.sh
#   CARGO_TARGET_DIR=/path scripts/package-lambdas.sh     # build directory (default: target/)
#   POWERPOLE_LAMBDA_DIR=/path scripts/package-lambdas.sh # where the zips go (default: target/lambda)
#   POWERPOLE_CACHE_DIR=/path                             # where the venv lives (~/.cache/powerpole)
#
# A release build of the AWS SDK needs about 8 GB of memory and several minutes on 2 cores.
set -euo pipefail

CARGO_LAMBDA_VERSION=1.9.2
MAX_GLIBC=2.34
MIN_AVAILABLE_GIB=8

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${POWERPOLE_CACHE_DIR:-${HOME:-/root}/.cache/powerpole}
VENV=$CACHE_DIR/venv-cargo-lambda
LAMBDA_DIR=${POWERPOLE_LAMBDA_DIR:-$ROOT/target/lambda}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
export PIP_DISABLE_PIP_VERSION_CHECK=1

# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

trap 'rc=$?; trap - EXIT; stop_group "$CHILD_PID" 10; if ((rc == 0)); then phase_end; else phase_end "failed (exit $rc) after"; fi; exit "$rc"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cargo_lambda_ready() {
    [[ -x $VENV/bin/cargo-lambda ]] &&
        "$VENV/bin/python" -c \
            'import sys, importlib.metadata as m; sys.exit(m.version("cargo-lambda") != sys.argv[1])' \
            "$CARGO_LAMBDA_VERSION" 2>/dev/null &&
        "$VENV/bin/python" -c 'import ziglang' 2>/dev/null
}

install_cargo_lambda() {
    phase "install cargo-lambda==$CARGO_LAMBDA_VERSION (with ziglang)"
    if cargo_lambda_ready; then
        log "$VENV has cargo-lambda $CARGO_LAMBDA_VERSION and ziglang"
        return
    fi
    mkdir -p "$CACHE_DIR"
    local pip_log=$CACHE_DIR/pip-cargo-lambda.log
    rm -rf "$VENV"
    log "creating venv $VENV; pip install cargo-lambda==$CARGO_LAMBDA_VERSION (log: $pip_log)"
    { python3 -m venv "$VENV" &&
        "$VENV/bin/python" -m pip install "cargo-lambda==$CARGO_LAMBDA_VERSION"; } >"$pip_log" 2>&1 ||
        { tail -n 30 "$pip_log" >&2; die "pip install cargo-lambda failed"; }
    cargo_lambda_ready || die "cargo-lambda $CARGO_LAMBDA_VERSION or ziglang not usable in $VENV"
}

lambda_binaries() {
    local manifest
    for manifest in "$ROOT"/lambdas/*/Cargo.toml; do
        [[ $(basename "$(dirname "$manifest")") == shared ]] && continue
        sed -n 's/^name *= *"\([^"]*\)".*/\1/p' "$manifest" | head -n1
    done
}

check_memory() {
    local available_kib
    available_kib=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
    if ((available_kib < MIN_AVAILABLE_GIB * 1024 * 1024)); then
        die "only $((available_kib / 1024 / 1024)) GiB of memory available; a release build of the AWS SDK needs about $MIN_AVAILABLE_GIB"
    fi
    log "$((available_kib / 1024 / 1024)) GiB of memory available"
}

# The highest GLIBC_x.y symbol version a binary needs, e.g. 2.28.
max_glibc() {
    objdump -T "$1" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -t. -k1,1n -k2,2n -k3,3n | tail -n1
}

version_le() {
    [[ $(printf '%s\n%s\n' "$1" "$2" | sort -t. -k1,1n -k2,2n -k3,3n | head -n1) == "$1" ]]
}

cd "$ROOT"
log "packaging the Lambdas of $ROOT into $LAMBDA_DIR (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
command -v objdump >/dev/null || die "objdump is missing (apt-get install binutils)"
mapfile -t BINARIES < <(lambda_binaries)
((${#BINARIES[@]} > 0)) || die "no Lambda crate found in lambdas/"
log "Lambdas: ${BINARIES[*]}"

install_cargo_lambda
export PATH=$VENV/bin:$PATH

phase "cargo lambda build --release --output-format zip (${#BINARIES[@]} binaries)"
check_memory
packages=()
for binary in "${BINARIES[@]}"; do packages+=(--package "$binary"); done
run cargo lambda build --release --x86-64 --compiler cargo-zigbuild --output-format zip \
    --lambda-dir "$LAMBDA_DIR" "${packages[@]}"

phase "check the zips (bootstrap inside, GLIBC <= $MAX_GLIBC)"
unpacked=$(mktemp -d -t powerpole-zip.XXXXXX)
failed=0
for binary in "${BINARIES[@]}"; do
    zip=$LAMBDA_DIR/$binary/bootstrap.zip
    [[ -f $zip ]] || die "$zip was not produced"
    rm -rf "${unpacked:?}/$binary" && mkdir -p "$unpacked/$binary"
    unzip -q "$zip" -d "$unpacked/$binary" || die "$zip is not a zip"
    [[ -x $unpacked/$binary/bootstrap ]] || die "$zip has no executable bootstrap"
    glibc=$(max_glibc "$unpacked/$binary/bootstrap")
    size=$(stat -c %s "$zip")
    if version_le "${glibc:-0}" "$MAX_GLIBC"; then
        verdict="ok for Amazon Linux 2023 (glibc $MAX_GLIBC)"
    else
        verdict="TOO NEW for Amazon Linux 2023 (glibc $MAX_GLIBC)"
        failed=1
    fi
    log "$binary: $zip $((size / 1024)) KiB, needs GLIBC_${glibc:-none}: $verdict"
done
rm -rf "$unpacked"
((failed == 0)) || die "a bootstrap needs a newer glibc than Amazon Linux 2023 has"
log "${#BINARIES[@]} zips ready for terraform (lambda_zip_dir = $LAMBDA_DIR)"

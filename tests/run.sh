#!/usr/bin/env bash
# Runs every check and test of hris-operator on a fresh machine, installing what it needs.
# Usage: tests/run.sh            (from anywhere; it works from the repository root)
#
# The Python test tools install in the background while the lint builds (the machine's cores
# compile, the installer mostly waits on the network and the disk); their log is printed when
# the tests need them. Each step says how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
step_started=$SECONDS
step() {
  printf '    (%ds)\n\n==> %s\n' $((SECONDS - step_started)) "$*"
  step_started=$SECONDS
}

printf '==> toolchain\n'
cargo --version
rustc --version

export HRIS_TEST_VENV="${HRIS_TEST_VENV:-$PWD/.venv}"
tools_log=$(mktemp)
out=$(mktemp -d)
trap 'rm -rf "$out" "$tools_log"; [[ -n "${tools_pid:-}" ]] && kill "$tools_pid" 2>/dev/null || true' EXIT
tests/python-tools.sh > "$tools_log" 2>&1 &
tools_pid=$!

step "format (cargo fmt --check)"
cargo fmt --all -- --check

step "lint and build (cargo test --all-targets --no-run, our crates compiled by clippy-driver with -D warnings)"
# `cargo clippy` type-checks every dependency and our crates, and `cargo test` then compiles
# them all again. clippy-driver is rustc with Clippy's lints, making the same artefacts: set as
# the compiler of the workspace's own crates (RUSTC_WORKSPACE_WRAPPER, as `cargo clippy` sets
# it; CLIPPY_ARGS in its encoding, arguments ended by __CLIPPY_HACKERY__), one build lints
# everything `cargo clippy --all-targets` lints and compiles the tests, the dependencies once
# with plain rustc. The wrapper is part of cargo's file names: builds without it keep theirs.
clippy_driver=$(command -v clippy-driver) || {
  echo "clippy-driver not found: rustup component add clippy" >&2
  exit 1
}
export RUSTC_WORKSPACE_WRAPPER="$clippy_driver"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
# A first build compiles every crate once: incremental compilation only pays on rebuilds, and
# its bookkeeping costs about a tenth of the build. Later runs keep the developer's setting.
if [[ ! -d "${CARGO_TARGET_DIR:-target}" ]]; then
  export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
fi
cargo test --locked --workspace --all-features --all-targets --no-run

step "test tools (tests/python-tools.sh: scim2-server, scim2-cli, kmock, helm, the vendors' SDKs, aiosmtpd, SCIMMY; started in the background)"
tools_status=0
wait "$tools_pid" || tools_status=$?
tools_pid=
cat "$tools_log"
if [[ $tools_status -ne 0 ]]; then
  echo "tests/python-tools.sh failed (exit $tools_status)" >&2
  exit "$tools_status"
fi

step "manifests (helm lint/render of charts/hris-operator, kustomize config/, kubernetes-validate)"
"$HRIS_TEST_VENV/bin/python" tests/manifests/check.py

step "tests (unit, planner rules, properties, CRD and schema validation, vendor judges, demo end to end; the emulators' own)"
# Most integration tests wait on servers and child processes rather than compute: four run at
# a time (RUST_TEST_THREADS overrides), which on two cores takes about two thirds of the time.
RUST_TEST_THREADS="${RUST_TEST_THREADS:-4}" cargo test --locked --workspace --all-features

step "the README's demo command (on the binary the tests built)"
# `cargo run` would build the binary a second time: without the tests' dev-dependencies, tokio
# and kube resolve other features, and everything above them compiles again. The same program,
# from the same sources, is the one the tests just built (tests/it/readme.rs runs the README's
# commands on it too).
"${CARGO_TARGET_DIR:-target}/debug/hris-operator" simulate -f config/samples/demo/connection.yaml \
  --as-of 2026-11-22 --out "$out" > "$out/table.txt"
grep -q '^Result: Succeeded' "$out/table.txt"
test -s "$out/summary.json"

step "all checks passed in $((SECONDS - started))s"

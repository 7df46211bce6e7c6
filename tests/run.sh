#!/usr/bin/env bash
# Runs every check and test of hris-operator on a fresh machine, installing what it needs.
# Usage: tests/run.sh            (from anywhere; it works from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
cargo --version
rustc --version

step "format (cargo fmt --check)"
cargo fmt --all -- --check

step "lint (cargo clippy --workspace --all-targets -- -D warnings)"
cargo clippy --locked --workspace --all-targets -- -D warnings

step "test tools (tests/python-tools.sh: scim2-server, scim2-cli, kmock, SCIMMY)"
export HRIS_TEST_VENV="${HRIS_TEST_VENV:-$PWD/.venv}"
tests/python-tools.sh

step "manifests (helm lint/render of charts/hris-operator, kustomize config/, kubernetes-validate)"
"$HRIS_TEST_VENV/bin/python" tests/manifests/check.py

step "tests (unit, planner rules, properties, CRD and schema validation, demo end to end; the emulators' own)"
cargo test --locked --workspace --all-features

step "the README's demo command"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cargo run --locked --quiet -- simulate -f config/samples/demo/connection.yaml \
  --as-of 2026-11-22 --out "$out" > "$out/table.txt"
grep -q '^Result: Succeeded' "$out/table.txt"
test -s "$out/summary.json"

step "all checks passed"

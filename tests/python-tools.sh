#!/usr/bin/env bash
# Installs the tools of the integration tests into a virtualenv: $HRIS_TEST_VENV, default
# <repo>/.venv.
# - Python (scim2-server, scim2-cli, kmock, helm and manifest validation, the vendors' SDKs of
#   tests/vendor/, Slack's slack_sdk, the aiosmtpd SMTP server of tests/smtp/), pinned by
#   tests/python-requirements.txt, into the virtualenv itself.
# - The SCIMMY server's npm packages (scimmy, scimmy-routers, express), pinned by
#   tests/scimmy/package-lock.json, with `npm ci` into $HRIS_TEST_VENV/scimmy/node_modules (so
#   the clone stays as it was checked out); tests/scimmy/server.js runs on them with
#   NODE_PATH=$HRIS_TEST_VENV/scimmy/node_modules. Needs Node.js 20 or later and npm.
# Idempotent: each part installs only when its pin file changed since its last install (a stamp
# file beside the install holds the pin file's sha256), and is quiet then. Prints the
# virtualenv's path.
# Usage: tests/python-tools.sh        (PYTHON=python3.11 to choose the interpreter)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
requirements="$root/tests/python-requirements.txt"
venv="${HRIS_TEST_VENV:-$root/.venv}"
stamp="$venv/.hris-python-requirements.sha256"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
  echo "python-tools: creating the virtualenv $venv" >&2
  "$python" -m venv "$venv"
fi

want=$(sha256sum "$requirements" | cut -d' ' -f1)
have=$(cat "$stamp" 2>/dev/null || true)
if [[ "$want" != "$have" ]]; then
  echo "python-tools: installing tests/python-requirements.txt into $venv" >&2
  rm -f "$stamp"
  # --no-compile: Python compiles what the tests import when they first import it; compiling
  # every module of the SDKs at install (tens of thousands) would take minutes of CPU.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --no-compile \
    --require-virtualenv -r "$requirements"
  installed=1
fi

# The tools must run, whether just installed or not.
for tool in scim2-server scim2; do
  if ! out=$("$venv/bin/$tool" --help 2>&1); then
    rm -f "$stamp"
    printf 'python-tools: %s --help failed in %s:\n%s\n' "$tool" "$venv" "$out" >&2
    exit 1
  fi
done
for module in kmock msgraph deprecated googleapiclient.discovery merge slack_sdk aiosmtpd; do
  if ! out=$("$venv/bin/python" -c "import $module" 2>&1); then
    rm -f "$stamp"
    printf 'python-tools: %s does not import in %s:\n%s\n' "$module" "$venv" "$out" >&2
    exit 1
  fi
done
if [[ -n "${installed:-}" ]]; then
  echo "$want" > "$stamp"
fi

# The SCIMMY server's packages, installed from the lock file alone (npm ci) in a folder of the
# virtualenv that holds a copy of package.json and package-lock.json.
scimmy_src="$root/tests/scimmy"
scimmy_dir="$venv/scimmy"
scimmy_stamp="$scimmy_dir/.hris-package-lock.sha256"
for tool in node npm; do
  if ! command -v "$tool" > /dev/null; then
    echo "python-tools: $tool is not on PATH; tests/scimmy needs Node.js 20 or later and npm" >&2
    exit 1
  fi
done
want=$(sha256sum "$scimmy_src/package-lock.json" | cut -d' ' -f1)
have=$(cat "$scimmy_stamp" 2>/dev/null || true)
if [[ "$want" != "$have" ]]; then
  echo "python-tools: installing tests/scimmy/package-lock.json into $scimmy_dir" >&2
  rm -f "$scimmy_stamp"
  mkdir -p "$scimmy_dir"
  cp "$scimmy_src/package.json" "$scimmy_src/package-lock.json" "$scimmy_dir/"
  (cd "$scimmy_dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
  scimmy_installed=1
fi
if ! out=$(NODE_PATH="$scimmy_dir/node_modules" node "$scimmy_src/server.js" --help 2>&1); then
  rm -f "$scimmy_stamp"
  printf 'python-tools: node tests/scimmy/server.js --help failed with %s:\n%s\n' \
    "$scimmy_dir/node_modules" "$out" >&2
  exit 1
fi
if [[ -n "${scimmy_installed:-}" ]]; then
  echo "$want" > "$scimmy_stamp"
fi

echo "$venv"

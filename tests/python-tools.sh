#!/usr/bin/env bash
# Installs the Python tools of the integration tests (scim2-server, scim2-cli, kmock, helm and
# manifest validation, the vendors' SDKs of tests/vendor/), pinned by
# tests/python-requirements.txt, into a virtualenv: $HRIS_TEST_VENV, default <repo>/.venv.
# Idempotent: it installs only when the requirements file changed since the last install (a stamp
# file in the virtualenv holds its sha256), and is quiet then. Prints the virtualenv's path.
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
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
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
for module in kmock msgraph deprecated googleapiclient.discovery merge; do
  if ! out=$("$venv/bin/python" -c "import $module" 2>&1); then
    rm -f "$stamp"
    printf 'python-tools: %s does not import in %s:\n%s\n' "$module" "$venv" "$out" >&2
    exit 1
  fi
done
if [[ -n "${installed:-}" ]]; then
  echo "$want" > "$stamp"
fi

echo "$venv"

#!/usr/bin/env bash
# Make .venv/ at the repository root if missing and install into it the exact versions of
# requirements-lock.txt (every wheel checked against its hash), then recur itself
# (editable, no further dependencies).  Re-installs only when the lock or pyproject.toml
# changed since the last install.  RECUR_LOCK=0 installs from pyproject.toml's loose
# bounds instead (a platform or Python the lock was not made for).
# Sourced by scripts/reproduce, scripts/test and scripts/lab; sets $VENV_PY.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"
LOCK="$ROOT/requirements-lock.txt"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "recur needs Python >= 3.10")'
    echo "[recur] creating $VENV with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
fi
VENV_PY="$VENV/bin/python"
STAMP="$VENV/.recur-installed"
WANT="$(cat "$ROOT/pyproject.toml" "$LOCK" | "$VENV_PY" -c 'import hashlib,os,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest(), os.environ.get("RECUR_LOCK", "1"))')"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    if [ "${RECUR_LOCK:-1}" = 0 ]; then
        echo "[recur] installing recur and the newest dependencies pyproject.toml allows into $VENV"
        "$VENV_PY" -m pip install --quiet -e "$ROOT[site,test]"
    else
        echo "[recur] installing the locked dependencies (requirements-lock.txt) and recur into $VENV"
        "$VENV_PY" -m pip install --quiet --require-hashes -r "$LOCK"
        "$VENV_PY" -m pip install --quiet --no-deps -e "$ROOT"
    fi
    echo "$WANT" > "$STAMP"
fi
export VENV_PY

#!/usr/bin/env bash
# Make .venv/ at the repository root if missing and install recur into it (editable, with
# the test extras).  Re-installs only when pyproject.toml changed since the last install.
# Sourced by scripts/reproduce and scripts/test; sets $VENV_PY.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "recur needs Python >= 3.10")'
    echo "[recur] creating $VENV with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
fi
VENV_PY="$VENV/bin/python"
STAMP="$VENV/.recur-installed"
WANT="$(cat "$ROOT/pyproject.toml" | "$VENV_PY" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "[recur] installing recur and its dependencies into $VENV"
    "$VENV_PY" -m pip install --quiet --upgrade pip
    "$VENV_PY" -m pip install --quiet -e "$ROOT[test]"
    echo "$WANT" > "$STAMP"
fi
export VENV_PY

#!/usr/bin/env bash
# Installs what `maestro up` needs: uv, the locked Python environment (.venv), the web UI's packages.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v uv >/dev/null 2>&1; then
  echo "==> installing uv (Python package manager) from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check uv || python3 -m pip install --quiet --user uv
  export PATH="$HOME/.local/bin:$PATH"
fi
echo "==> python environment (.venv, from uv.lock)"
uv sync --frozen --quiet

if [ -f frontend/package.json ]; then
  if command -v npm >/dev/null 2>&1; then
    if [ ! -d frontend/node_modules ] || [ frontend/package-lock.json -nt frontend/node_modules/.package-lock.json ]; then
      echo "==> web UI packages (npm ci)"
      (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
    fi
  else
    echo "!! npm not found: install Node.js 20+ to build the web UI (the API runs without it)" >&2
  fi
fi

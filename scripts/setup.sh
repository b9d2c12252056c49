#!/usr/bin/env bash
# Installs what `maestro up` needs: the step sandbox (Debian's bubblewrap and slirp4netns, and the
# unprivileged `maestro-step` user every step runs as), uv, the locked Python environment (.venv),
# the web UI's packages.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
sandbox_missing=()
for tool in bwrap:bubblewrap slirp4netns:slirp4netns setpriv:util-linux ip:iproute2; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "${tool%%:*}" >/dev/null 2>&1 \
    || sandbox_missing+=("${tool#*:}")
done
if [ ${#sandbox_missing[@]} -gt 0 ]; then
  echo "==> step sandbox: installing Debian packages ${sandbox_missing[*]}"
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      "${sandbox_missing[@]}" >/dev/null; }; then
    echo "!! could not install ${sandbox_missing[*]}: the runner refuses to run steps without its sandbox" >&2
    echo "   (install them, or as an administrator set MAESTRO_RUNNER_ISOLATION=none; see docs/security.md)" >&2
  fi
fi
STEP_USER="${MAESTRO_STEP_USER:-maestro-step}"
if ! id "$STEP_USER" >/dev/null 2>&1; then
  echo "==> step sandbox: creating the unprivileged system user $STEP_USER"
  $SUDO useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$STEP_USER" \
    || echo "!! could not create the user $STEP_USER (see docs/security.md)" >&2
fi

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

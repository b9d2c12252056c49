#!/usr/bin/env bash
# Installs what `make bench` needs besides the venv: wrk (the HTTP load generator bench/edge.py and
# bench/gateway.py drive) and LiteLLM's proxy in a venv of its own (.bench/litellm-venv), the reference
# bench/gateway.py measures `maestro gateway` against. LiteLLM is never a project dependency.
# HAProxy, when present, is measured as a reference hop; it is not installed here.
# Quick when everything is there already: each step checks before installing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# LiteLLM's proxy: a failure here is reported, not fatal (bench/gateway.py then measures without it and says why).
LITELLM_VENV=.bench/litellm-venv
export LITELLM_LOCAL_MODEL_COST_MAP=true  # offline: the cost map LiteLLM ships, no fetch
if [ ! -f "$LITELLM_VENV/.installed" ] || [ ! -x "$LITELLM_VENV/bin/litellm" ]; then
  echo "==> installing LiteLLM's proxy in $LITELLM_VENV (bench reference only)"
  if python3 -m venv "$LITELLM_VENV" \
    && "$LITELLM_VENV/bin/pip" install -q --disable-pip-version-check 'litellm[proxy]' \
    && "$LITELLM_VENV/bin/python" -c "import litellm.proxy.proxy_server" >/dev/null; then
    "$LITELLM_VENV/bin/litellm" --version > "$LITELLM_VENV/.installed" 2>&1 || true
  else
    echo "!! could not install litellm[proxy] in $LITELLM_VENV; bench/gateway.py will run without it" >&2
  fi
fi

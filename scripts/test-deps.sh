#!/usr/bin/env bash
# Installs what the test suite needs on top of setup.sh: Chromium (browser tests), PostgreSQL binaries
# (a throwaway cluster when MAESTRO_TEST_POSTGRES_URL is not given), Prometheus' promtool and HAProxy
# (the haproxy traffic provider's tests run a real one).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
[ -x /usr/sbin/haproxy ] || missing+=(haproxy)
if [ -z "${MAESTRO_TEST_POSTGRES_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

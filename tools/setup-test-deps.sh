#!/usr/bin/env bash
# Installs the system packages the test suite drives, only those that are missing:
#   postgresql     throwaway PostgreSQL servers (test/setup)
#   redis-server   throwaway Redis servers, standalone and cluster (test/setup)
#   chromium       the browser tests (test/e2e/dashboard.test.ts, test/e2e/graphiql.test.ts)
#   docker-compose the compose file's validation (test/deploy; no Docker engine needed)
#   nginx-light    the load balancer's config, run in front of two instances (test/deploy)
#   prometheus     its promtool checks and unit-tests the alert rules (deploy/prometheus)
#
# `npm test` runs it first (the `pretest` script) and .ci/run calls it, so one command sets up a
# fresh Debian or Ubuntu machine. It says what it is about to install, then uses apt-get as root
# or through sudo. When nothing is missing it prints nothing and does nothing.
#
#   tools/setup-test-deps.sh            install what is missing; when that is impossible (no
#                                       apt-get, not root and no sudo) warn and exit 0, so the
#                                       tests that need the missing piece fail with their own message
#   tools/setup-test-deps.sh --strict   exit 1 when something is missing and could not be installed
#   tools/setup-test-deps.sh --check    only list what is missing (exit 1 if anything is)
#   LIFELINE_SKIP_SYSTEM_DEPS=1         skip the whole step (e.g. packages managed elsewhere)
set -uo pipefail
# apt's "do not start services" switch; a test points it elsewhere.
policy_rc_d="${LIFELINE_POLICY_RC_D:-/usr/sbin/policy-rc.d}"

mode=install
case "${1:-}" in
  --strict) mode=strict ;;
  --check) mode=check ;;
  "") ;;
  *) echo "usage: $0 [--strict|--check]" >&2; exit 2 ;;
esac
[ "${LIFELINE_SKIP_SYSTEM_DEPS:-0}" = "1" ] && [ "$mode" = install ] && exit 0

have_postgres() {
  command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1 && return 0
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ] && return 0
  done
  return 1
}

missing_packages() {
  local packages=()
  have_postgres || packages+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
  [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || packages+=(chromium)
  command -v docker-compose >/dev/null 2>&1 || packages+=(docker-compose)
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || packages+=(nginx-light)
  [ -x /usr/bin/promtool ] || packages+=(prometheus)
  echo "${packages[*]:-}"
}

read -r -a packages <<<"$(missing_packages)"
[ ${#packages[@]} -eq 0 ] && exit 0

if [ "$mode" = check ]; then
  echo "missing system packages: ${packages[*]}"
  exit 1
fi

cannot() {
  echo "setup-test-deps: cannot install ${packages[*]} ($1)." >&2
  echo "setup-test-deps: install them with: sudo apt-get install -y ${packages[*]}" >&2
  echo "setup-test-deps: the tests that need them will fail until then." >&2
  [ "$mode" = strict ] && exit 1
  exit 0
}

command -v apt-get >/dev/null 2>&1 || cannot "no apt-get on this machine"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || cannot "not root and no sudo"
  sudo="sudo"
fi

echo "setup-test-deps: installing the system packages the tests need: ${packages[*]} (apt-get${sudo:+ via sudo})" >&2
# Keep apt from starting system-wide postgres/redis/nginx services: the tests start their own.
policy_added=""
if [ ! -e "$policy_rc_d" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy_rc_d" >/dev/null && $sudo chmod +x "$policy_rc_d" && policy_added=1
fi
$sudo apt-get update -q && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"
status=$?
[ -n "$policy_added" ] && $sudo rm -f "$policy_rc_d"

read -r -a still <<<"$(missing_packages)"
if [ $status -ne 0 ] || [ ${#still[@]} -gt 0 ]; then
  echo "setup-test-deps: apt-get install ${packages[*]} failed (still missing: ${still[*]:-none})" >&2
  exit 1
fi
echo "setup-test-deps: installed ${packages[*]}" >&2

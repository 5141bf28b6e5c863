#!/usr/bin/env bash
# Makes sure the Redis, PostgreSQL and nginx binaries the integration tests
# need are installed (nginx for the load-balancer config's test). The tests
# start their own servers on free ports, so only the binaries are needed:
# nothing may be left running on the default ports. Quick and silent when
# all are already there.
set -euo pipefail

have_redis() { command -v redis-server >/dev/null 2>&1; }
have_postgres() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }
have_nginx() { [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1; }

missing=()
have_redis || missing+=(redis-server)
have_postgres || missing+=(postgresql)
have_nginx || missing+=(nginx)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-test-services: the integration tests need ${missing[*]}, which is not installed." >&2
  echo "Install it as root (apt-get install -y redis-server postgresql), or run the tests as root so this script can." >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-test-services: ${missing[*]} is missing and there is no apt-get to install it; install it by hand." >&2
  exit 1
fi

# Debian starts a service on its default port as soon as it is installed;
# policy-rc.d answering 101 ("action forbidden") stops that. One that is
# already there belongs to someone else and stays.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi

echo "ensure-test-services: installing ${missing[*]} for the integration tests" >&2
export DEBIAN_FRONTEND=noninteractive
# Another apt run (a parallel checkout's tests, unattended upgrades) may hold
# the lock: wait for it rather than fail.
apt_options=(-o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
# The package lists have a lock of their own that the option above may not
# cover: retry a bounded number of times.
for attempt in 1 2 3 4 5 6; do
  apt-get "${apt_options[@]}" update -qq && break
  [ "$attempt" -eq 6 ] && exit 1
  sleep 10
done
apt-get "${apt_options[@]}" install -y -qq "${missing[@]}" >/dev/null

if ! have_redis || ! have_postgres || ! have_nginx; then
  echo "ensure-test-services: installation finished but redis-server, initdb or nginx is still missing" >&2
  exit 1
fi

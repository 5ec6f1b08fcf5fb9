#!/usr/bin/env bash
# Install the Debian packages heat.sh and keystone.sh run from.
#
# Why Debian packages and only these: python3-heat and python3-keystone carry
# the whole of Heat and Keystone (with their many python dependencies) as
# plain libraries. The service packages (heat-api, heat-engine, heat-common,
# keystone) would add debconf/dbconfig prompts and systemd units we do not
# want; heat.sh and keystone.sh start the services themselves. Leaving out
# recommends roughly halves the download.
#
# Usage: install.sh           install whatever is missing (root, apt-get)
#        install.sh --check   only report; exit 0 if complete, 1 if not
# Exit codes: 0 ready; 1 apt-get failed / something missing (--check);
#             3 cannot install here (not root, or no apt-get/dpkg: not a
#             Debian-like system), so callers can skip instead of fail.
set -euo pipefail

PACKAGES=(python3-heat python3-keystone curl jq)

missing_packages() {
  local p status
  for p in "${PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
    [ "$status" = installed ] || echo "$p"
  done
}

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "install.sh: this is not a Debian-like system (no dpkg-query/apt-get); install Heat and Keystone by other means" >&2
  exit 3
fi

mapfile -t MISSING < <(missing_packages)
if [ "${#MISSING[@]}" -eq 0 ]; then
  echo "install.sh: all present: ${PACKAGES[*]}" >&2
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  echo "install.sh: missing: ${MISSING[*]}" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: missing ${MISSING[*]}, and installing needs root (run: sudo $0)" >&2
  exit 3
fi

# Another apt/dpkg run (e.g. a provisioning step) holds the locks: wait for
# it rather than fail on "Could not get lock".
for ((i = 0; i < 600; i++)); do
  busy="$(ps -C apt-get,apt,dpkg -o pid= | tr -s ' \n' ' ' || true)"
  [ -z "${busy// /}" ] && break
  [ "$i" -eq 0 ] && echo "install.sh: waiting for running apt/dpkg (PIDs:$busy) to finish" >&2
  sleep 1
done

t0="$(date +%s)"
echo "install.sh: installing ${MISSING[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q || { echo "install.sh: apt-get update failed" >&2; exit 1; }
apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 "${MISSING[@]}" \
  || { echo "install.sh: apt-get install failed" >&2; exit 1; }

mapfile -t STILL < <(missing_packages)
if [ "${#STILL[@]}" -ne 0 ]; then
  echo "install.sh: still missing after install: ${STILL[*]}" >&2
  exit 1
fi
echo "install.sh: done in $(( $(date +%s) - t0 ))s" >&2

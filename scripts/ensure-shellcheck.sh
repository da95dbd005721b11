#!/usr/bin/env bash
# Installs shellcheck from Debian's packages when it is missing (make lint needs it).
# As root it installs; otherwise it says what to run.
set -euo pipefail
command -v shellcheck >/dev/null 2>&1 && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-shellcheck: shellcheck is not installed; install it (Debian/Ubuntu: sudo apt-get install -y shellcheck)" >&2
  exit 1
fi
echo "ensure-shellcheck: installing shellcheck from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq shellcheck >/dev/null 2>&1 || {
  apt-get update -qq >/dev/null
  apt-get install -y -qq shellcheck >/dev/null
}
command -v shellcheck >/dev/null

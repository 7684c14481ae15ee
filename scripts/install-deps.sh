#!/usr/bin/env bash
# Installs the Debian packages Callbridge builds and tests against, if missing.
# Idempotent; needs root (or sudo) on Debian/Ubuntu.
set -euo pipefail
packages=(libcurl4-openssl-dev libssl-dev libsqlite3-dev pkg-config "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v swift >/dev/null 2>&1; then
  [ -x /opt/swift/usr/bin/swift ] && export PATH=/opt/swift/usr/bin:$PATH
fi
command -v swift >/dev/null 2>&1 || { echo "swift 6.1+ is required on PATH (https://swift.org/install)"; exit 1; }

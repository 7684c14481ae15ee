#!/usr/bin/env bash
# End-to-end test of the operator console (/console) in a real headless
# Chromium driven by Selenium: scripts/console-e2e.py against the built
# `callbridge` binary with a temporary SQLite log on loopback ports.
#
# Builds nothing: it uses ${CALLBRIDGE_BINARY:-.build/debug/callbridge}.
# Installs what is missing: Debian's chromium and chromium-driver (apt), and
# selenium (pinned, from PyPI) into .build-venv/ on the first run.
#
#   CONSOLE_SCREENSHOTS   where the screenshots go (default: a temporary folder, kept)
#   CONSOLE_E2E_TIMEOUT   the whole run's limit in seconds (default 240)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

version=4.27.1
venv="$root/.build-venv/selenium-$version"
binary=${CALLBRIDGE_BINARY:-.build/debug/callbridge}
case "$binary" in /*) ;; *) binary="$root/$binary" ;; esac
[ -x "$binary" ] || { echo "console-e2e.sh: no callbridge binary at $binary (swift build --product callbridge)" >&2; exit 1; }

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  bash scripts/install-deps.sh chromium chromium-driver
fi
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import selenium' >/dev/null 2>&1; then
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    bash scripts/install-deps.sh python3 python3-venv
  fi
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "selenium==$version"
fi

export CALLBRIDGE_BINARY="$binary"
export CONSOLE_SCREENSHOTS=${CONSOLE_SCREENSHOTS:-$(mktemp -d "${TMPDIR:-/tmp}/callbridge-console-shots.XXXXXX")}
# `timeout` bounds the run even if a browser or server hangs; the script stops what it started on exit.
exec timeout --kill-after=10 "${CONSOLE_E2E_TIMEOUT:-240}" "$venv/bin/python" scripts/console-e2e.py

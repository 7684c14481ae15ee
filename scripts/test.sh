#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, builds the callbridge
# binary (the process-level tests start it), then runs every test target.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH=/opt/swift/usr/bin:$PATH
bash scripts/install-deps.sh
swift build --product callbridge
export CALLBRIDGE_BINARY="$PWD/.build/debug/callbridge"
swift test 2>&1 | tee .build/test-output.txt
exit "${PIPESTATUS[0]}"

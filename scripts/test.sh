#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, builds the callbridge
# binary (the process-level tests start it), then runs every test target.
#
# Unless CALLBRIDGE_TEST_POSTGRES_URL is already set (point it at your own
# server to reuse one), a throw-away PostgreSQL server is started for the run
# with scripts/postgres-cluster.sh and removed on exit. CALLBRIDGE_REQUIRE_POSTGRES=1
# is then exported too, so the PostgreSQL tests fail instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH=/opt/swift/usr/bin:$PATH
bash scripts/install-deps.sh
swift build --product callbridge
export CALLBRIDGE_BINARY="$PWD/.build/debug/callbridge"
# The admin API against its own OpenAPI document (schemathesis, all checks, bounded).
bash scripts/schemathesis.sh
# Every libFuzzer target for a short smoke, so the harness cannot rot (the long runs are scripts/fuzz.sh TARGET SECONDS).
bash scripts/fuzz.sh --smoke
bash scripts/console-e2e.sh  # the operator console in headless Chromium (Selenium), against the built binary
if [ -z "${CALLBRIDGE_TEST_POSTGRES_URL:-}" ]; then
  # Under /tmp so the postgres OS user (the server runs as it when we are
  # root) can reach it whatever TMPDIR says.
  pg_dir=$(mktemp -d /tmp/callbridge-pg.XXXXXX)
  pg_cluster="$PWD/scripts/postgres-cluster.sh"
  # Set before starting, so a half-started server is cleaned up too. `|| true`:
  # a failing command in an EXIT trap would replace swift test's exit status.
  trap 'bash "$pg_cluster" stop "$pg_dir" || true' EXIT
  CALLBRIDGE_TEST_POSTGRES_URL=$(bash "$pg_cluster" start "$pg_dir")
  export CALLBRIDGE_TEST_POSTGRES_URL
  export CALLBRIDGE_REQUIRE_POSTGRES=1
  # The cluster also speaks TLS with this self-signed certificate (sslmode tests).
  export CALLBRIDGE_TEST_POSTGRES_CA="$pg_dir/server.crt"
fi
swift test 2>&1 | tee .build/test-output.txt
exit "${PIPESTATUS[0]}"

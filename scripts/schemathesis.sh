#!/usr/bin/env bash
# Runs schemathesis against the admin API of a live `callbridge serve`: every
# operation of the served OpenAPI document, every check, with the bearer
# token, and fails on any disagreement between the document and the server
# (status, body, content type, headers, accepted and refused inputs).
#
# Builds nothing: it uses ${CALLBRIDGE_BINARY:-.build/debug/callbridge}.
# Installs schemathesis (pinned) into .build-venv/ on the first run. Serves on
# a free 127.0.0.1 port with a temporary SQLite log, the shipped ./handlers and
# two loopback endpoints (a local sink that answers 200, and a closed port whose
# deliveries die quickly), seeds a few signed provider callbacks, runs
# schemathesis for at most SCHEMATHESIS_TIMEOUT seconds (default 300), then
# stops everything it started.
#
#   SCHEMATHESIS_MAX_EXAMPLES  test cases per operation and phase (default 50)
#   SCHEMATHESIS_SEED          fixed seed, to reproduce a run
#   SCHEMATHESIS_ARGS          more `schemathesis run` options (e.g. --include-path …)
#   SCHEMATHESIS_REPORT_DIR    keep a JUnit report, a HAR file of every request and
#                              the server's log there (default: dropped)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

version=4.32.5
venv="$root/.build-venv/schemathesis-$version"
binary=${CALLBRIDGE_BINARY:-.build/debug/callbridge}
case "$binary" in /*) ;; *) binary="$root/$binary" ;; esac
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-50}
time_limit=${SCHEMATHESIS_TIMEOUT:-300}

[ -x "$binary" ] || { echo "schemathesis.sh: no callbridge binary at $binary (swift build --product callbridge)" >&2; exit 1; }

if [ ! -x "$venv/bin/schemathesis" ]; then
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    bash scripts/install-deps.sh python3 python3-venv
  fi
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/callbridge-schemathesis.XXXXXX")
server_pid=""
sink_pid=""
cleanup() {
  for pid in $server_pid $sink_pid; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in $server_pid $sink_pid; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# The secrets the shipped handlers and the config read (test values only).
export JUSPAY_WEBHOOK_USERNAME=merchant_hooks
export JUSPAY_WEBHOOK_PASSWORD=s3cret-basic-pass
export JUSPAY_RESPONSE_KEY=juspay-response-key-123
export NONSTOPAY_API_KEY=nsp_live_key_abc
export LUXFIN_API_KEY=lux_test_key_123
export ORDERS_SECRET="whsec_$(printf 'orders-signing-key-32-bytes-long' | base64)"
export AUDIT_SECRET="whsec_$(printf 'audit-signing-key-32-bytes-long!' | base64)"
export CALLBRIDGE_ADMIN_TOKEN=${CALLBRIDGE_ADMIN_TOKEN:-adm_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}

# A delivery sink on loopback that answers 200 to everything.
"$venv/bin/python" - "$work/sink.port" >"$work/sink.log" 2>&1 <<'EOF' &
import http.server, sys
class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
EOF
sink_pid=$!
for _ in $(seq 100); do [ -s "$work/sink.port" ] && break; sleep 0.1; done
[ -s "$work/sink.port" ] || { echo "schemathesis.sh: the delivery sink did not start" >&2; cat "$work/sink.log" >&2; exit 1; }
sink_port=$(cat "$work/sink.port")

cat >"$work/callbridge.yaml" <<EOF
listen: {host: 127.0.0.1, port: 0}
storage: {sqlite: $work/callbridge.sqlite}
handlers: $root/handlers
dispatch: {poll_interval: 200ms, breaker_failures: 1000}
endpoints:
  - name: orders
    url: http://127.0.0.1:$sink_port/orders
    secret: \${ORDERS_SECRET}
  - name: audit
    url: http://127.0.0.1:9/audit
    secret: \${AUDIT_SECRET}
    events: ["payment.*"]
    timeout: 1s
    retry_schedule: [0s, 100ms]
admin: {token: "\${CALLBRIDGE_ADMIN_TOKEN}"}
EOF

"$binary" serve --config "$work/callbridge.yaml" >"$work/serve.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 200); do
  # The text log line: `… port=N [CallbridgeCLI] listening`.
  port=$(grep 'listening' "$work/serve.log" 2>/dev/null | grep -o 'port=[0-9]*' | head -1 | cut -d= -f2 || true)
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "schemathesis.sh: callbridge serve did not start listening" >&2
  cat "$work/serve.log" >&2
  exit 1
fi
base="http://127.0.0.1:$port"

# A few events of each channel and outcome, so listings, details, deliveries
# (succeeded, dead) and replays have something real to show.
simulate() {
  "$binary" simulate "$@" --to "$base" --handlers "$root/handlers" >>"$work/seed.log" 2>&1 || {
    echo "schemathesis.sh: callbridge simulate $* failed" >&2
    cat "$work/seed.log" >&2
    exit 1
  }
}
for scenario in succeeded failed cancelled refunded; do simulate juspay "$scenario"; done
simulate juspay succeeded --channel redirect
for scenario in succeeded pending; do simulate nonstopay "$scenario"; done
sleep 1  # let the dispatcher make its first attempts

report_args=()
if [ -n "${SCHEMATHESIS_REPORT_DIR:-}" ]; then
  mkdir -p "$SCHEMATHESIS_REPORT_DIR"
  report_dir=$(cd "$SCHEMATHESIS_REPORT_DIR" && pwd)
  report_args=(--report junit,har --report-junit-path "$report_dir/schemathesis.xml" --report-har-path "$report_dir/schemathesis.har")
fi
seed_args=()
[ -n "${SCHEMATHESIS_SEED:-}" ] && seed_args=(--seed "$SCHEMATHESIS_SEED")

echo "schemathesis $version against $base/admin/v1/openapi.yaml (max $max_examples examples, ${time_limit}s)"
status=0
# From the temporary directory, so nothing (.hypothesis/, reports) lands in the tree.
# --include-path-regex: schemathesis leaves out the operation serving the
# document unless a filter names it; this one names every admin operation.
# --workers 1: two workers crash CPython 3.11's ast.parse in hypothesis
# ("AST constructor recursion depth mismatch"), and there are only two cores.
(cd "$work" && timeout --kill-after=10 "$time_limit" "$venv/bin/schemathesis" run "$base/admin/v1/openapi.yaml" \
  --url "$base" \
  --header "Authorization: Bearer $CALLBRIDGE_ADMIN_TOKEN" \
  --checks all \
  --include-path-regex '^/admin/v1/' \
  --max-examples "$max_examples" \
  --workers 1 \
  --generation-database none \
  --no-color \
  "${seed_args[@]}" "${report_args[@]}" ${SCHEMATHESIS_ARGS:-}) || status=$?

if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "schemathesis.sh: schemathesis did not finish within ${time_limit}s" >&2
fi
[ -n "${report_dir:-}" ] && cp "$work/serve.log" "$report_dir/serve.log"
if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "schemathesis.sh: callbridge serve exited during the run" >&2
  tail -50 "$work/serve.log" >&2
  status=1
fi
exit "$status"

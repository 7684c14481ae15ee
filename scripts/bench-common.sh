# Sourced by the bench-*.sh scripts: what every benchmark needs before it
# measures. Builds release binaries, makes a scratch folder removed on exit
# (with every background process), refuses to run when the benchmark ports
# are taken, and sets the provider secrets the shipped handlers read.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH=/opt/swift/usr/bin:$PATH
bash scripts/install-deps.sh wrk
swift build -c release --product callbridge
swift build -c release --product bare-hummingbird
if curl -s -o /dev/null localhost:18181/healthz || curl -s -o /dev/null -X POST localhost:18182/bare; then
  echo "ports 18181/18182 are in use; stop the process holding them first" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'kill $(cat "$work/nginx/nginx.pid" 2>/dev/null) 2>/dev/null || true; kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export JUSPAY_WEBHOOK_USERNAME=bench JUSPAY_WEBHOOK_PASSWORD=bench-pass JUSPAY_RESPONSE_KEY=k NONSTOPAY_API_KEY=k LUXFIN_API_SECRET=k

# The references the scripts print their ratios against, measured in the same
# run. Each leaves its result in $ref_rate (requests/s) and prints wrk's report.
#
# bare_reference THREADS CONNECTIONS DURATION: wrk POSTs a Juspay-sized body
# to the bare Hummingbird server, which must be listening on 18182.
bare_reference() {
  local body='{"id":"evt_bench","date_created":"2026-11-23T09:59:58Z","event_name":"ORDER_SUCCEEDED","content":{"order":{"order_id":"ord_1","txn_id":"txn_abc","status":"CHARGED","status_id":21,"amount":100.00,"currency":"USD","customer_email":"test@example.com"}}}'
  printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [[%s]]\n' "$body" > "$work/bare.lua"
  local out
  out=$(wrk -t"$1" -c"$2" -d"$3" --latency -s "$work/bare.lua" http://127.0.0.1:18182/bare); echo "$out"
  ref_rate=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
}

# nginx_reference CONNECTIONS: nginx (one worker, proxy_pass with upstream
# keep-alive) in front of the sink on 18182, loaded by wrk -t1 with
# CONNECTIONS connections for 5 s, then stopped.
nginx_reference() {
  bash scripts/install-deps.sh nginx-light > /dev/null
  mkdir -p "$work/nginx"
  cat > "$work/nginx/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  upstream sink { server 127.0.0.1:18182; keepalive 128; }
  server {
    listen 127.0.0.1:18183;
    location / { proxy_pass http://sink/bare; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
  nginx -c "$work/nginx/nginx.conf"
  for _ in $(seq 1 50); do curl -s -o /dev/null -X POST localhost:18183/ && break; sleep 0.1; done
  local body='{"id":"evt_bench","type":"payment.succeeded","timestamp":"2026-11-23T09:59:58.000Z","data":{"provider":"juspay","order_id":"ord_1","amount":"100.00"}}'
  printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [[%s]]\n' "$body" > "$work/nginx.lua"
  local out
  out=$(wrk -t1 -c"$1" -d5s -s "$work/nginx.lua" http://127.0.0.1:18183/); echo "$out"
  kill "$(cat "$work/nginx/nginx.pid")" 2>/dev/null || true
  for _ in $(seq 1 50); do [ -e "$work/nginx/nginx.pid" ] || break; sleep 0.1; done
  ref_rate=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
}

# ratio LABEL OURS REFERENCE_LABEL REFERENCE: prints "== ratio: … ==".
ratio() {
  python3 -c "import sys; o, r = float(sys.argv[2]), float(sys.argv[4]); print(f'== ratio: {sys.argv[1]} {o:.0f}/s / {sys.argv[3]} {r:.0f}/s = {o/r:.3f} ==')" "$@"
}

# endpoint_config FOLDER MAX_IN_FLIGHT [ORDERING]: writes FOLDER/callbridge.yaml
# for a SQLite log in FOLDER (synchronous: $SYNCHRONOUS, default full) and
# one endpoint, `sink`, on the bare Hummingbird server at 18182, taking every
# event of an order (order_events: all), signed with $SINK_SECRET.
endpoint_config() {
  mkdir -p "$1"
  cat > "$1/callbridge.yaml" <<YAML
listen: {host: 127.0.0.1, port: 18181}
storage: {sqlite: $1/callbridge.sqlite, synchronous: ${SYNCHRONOUS:-full}}
handlers: $PWD/handlers
dispatch: {poll_interval: 100ms}
endpoints:
  - name: sink
    url: http://127.0.0.1:18182/bare
    secret: \${SINK_SECRET}
    max_in_flight: $2
    order_events: all
    ordering: ${3:-none}
YAML
}

# serve_folder FOLDER: starts `callbridge serve` on FOLDER/callbridge.yaml and
# waits until it answers; sets $serve_pid. stop_serve stops it.
serve_folder() {
  .build/release/callbridge serve --config "$1/callbridge.yaml" --log-level warning > "$1/serve.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 1 300); do curl -s -o /dev/null localhost:18181/healthz && return; sleep 0.1; done
  echo "callbridge did not start; see $1/serve.log" >&2; exit 1
}
stop_serve() { kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; }

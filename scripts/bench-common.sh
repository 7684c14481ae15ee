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
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export JUSPAY_WEBHOOK_USERNAME=bench JUSPAY_WEBHOOK_PASSWORD=bench-pass JUSPAY_RESPONSE_KEY=k NONSTOPAY_API_KEY=k LUXFIN_API_SECRET=k

#!/usr/bin/env bash
# Installs what is missing, builds in release mode and runs `callbridge serve`
# with callbridge.example.yaml on :8080, storing in ./data/callbridge.sqlite.
#
# Provider secrets come from the environment. For a first try, any that are
# unset are generated once into ./data/demo.env (printed below) so the shipped
# handlers accept correctly signed test requests; set real values for production.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH=/opt/swift/usr/bin:$PATH
bash scripts/install-deps.sh
swift build -c release --product callbridge
mkdir -p data
touch data/demo.env
chmod 600 data/demo.env
rand() { head -c 24 /dev/urandom | base64 | tr -d '/+=' ; }
demo_secret() {  # NAME VALUE: added once, kept across runs
  grep -q "^$1=" data/demo.env || echo "$1=$2" >> data/demo.env
}
demo_secret JUSPAY_WEBHOOK_USERNAME callbridge
demo_secret JUSPAY_WEBHOOK_PASSWORD "$(rand)"
demo_secret JUSPAY_RESPONSE_KEY "$(rand)"
demo_secret NONSTOPAY_API_KEY "$(rand)"
demo_secret LUXFIN_API_SECRET "$(rand)"
demo_secret DEMO_SINK_SECRET "whsec_$(head -c 24 /dev/urandom | base64)"
demo_secret CALLBRIDGE_ADMIN_TOKEN "$(rand)"
while IFS='=' read -r key value; do
  [ -n "$key" ] && [ -z "${!key:-}" ] && export "$key=$value"
done < data/demo.env
echo "demo secrets (unless already set in your environment): data/demo.env"
CONFIG="${CALLBRIDGE_CONFIG:-callbridge.example.yaml}"
exec .build/release/callbridge serve --config "$CONFIG" "$@"

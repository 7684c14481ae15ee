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
if [ ! -f data/demo.env ]; then
  rand() { head -c 24 /dev/urandom | base64 | tr -d '/+=' ; }
  {
    echo "JUSPAY_WEBHOOK_USERNAME=callbridge"
    echo "JUSPAY_WEBHOOK_PASSWORD=$(rand)"
    echo "JUSPAY_RESPONSE_KEY=$(rand)"
    echo "NONSTOPAY_API_KEY=$(rand)"
  } > data/demo.env
  chmod 600 data/demo.env
fi
while IFS='=' read -r key value; do
  [ -n "$key" ] && [ -z "${!key:-}" ] && export "$key=$value"
done < data/demo.env
echo "demo secrets (unless already set in your environment): data/demo.env"
CONFIG="${CALLBRIDGE_CONFIG:-callbridge.example.yaml}"
exec .build/release/callbridge serve --config "$CONFIG" "$@"

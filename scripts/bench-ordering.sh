#!/usr/bin/env bash
# What `ordering: per_order` costs against `ordering: none`, measured with
# scripts/bench-delivery.sh in one run, in two shapes:
#   distinct: every webhook its own order (the chain bookkeeping alone);
#   shared:   the webhooks share ORDERS order ids per wrk thread, so chains
#             are long and one order's deliveries go out one at a time.
# Prints each drain rate and the ratio per_order / none. Loopback only, bounded.
# Usage: scripts/bench-ordering.sh [INGEST_SECONDS] [ORDERS]
set -euo pipefail
cd "$(dirname "$0")/.."
INGEST_SECONDS="${1:-5}"
SHARED_ORDERS="${2:-100}"
rate() {  # ORDERING ORDERS -> deliveries/s
  ORDERING="$1" ORDERS="$2" bash scripts/bench-delivery.sh "$INGEST_SECONDS" 64 | tee /dev/stderr \
    | sed -n 's/.* \([0-9]*\) deliveries\/s ==/\1/p' | tail -1
}
declare -A result
for shape in distinct shared; do
  orders=0; [ "$shape" = shared ] && orders="$SHARED_ORDERS"
  for ordering in none per_order; do
    result[$shape,$ordering]=$(rate "$ordering" "$orders")
  done
done
echo
echo "== ordering cost (drain to a keep-alive sink, max_in_flight 64, same run) =="
for shape in distinct shared; do
  python3 - "$shape" "${result[$shape,none]}" "${result[$shape,per_order]}" "$SHARED_ORDERS" <<'PY'
import sys
shape, none, per = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
label = "every event its own order" if shape == "distinct" else f"{sys.argv[4]} orders per wrk thread"
print(f"{label:32s} none {none:6.0f}/s   per_order {per:6.0f}/s   ratio {per/none:.2f}")
PY
done

#!/usr/bin/env bash
# Micro-benchmarks of the hot path (ordo-one/benchmark, Benchmarks/Micro):
# parse, normalize, mask, render and sign on the providers' documented
# samples, each reported with its ratio to a Foundation reference measured in
# the same run (JSONSerialization parse of the same Juspay webhook), so a
# regression shows up without wrk and the figures compare across machines.
# Usage: scripts/bench-micro.sh [FILTER_REGEX]   (matching whole names, e.g. 'mask.*'; the references always run)
# The first run builds the benchmark package in release mode (minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH=/opt/swift/usr/bin:$PATH
bash scripts/install-deps.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
filter=()
[ $# -gt 0 ] && filter=(--filter "$1" --filter "reference:.*")
(cd Benchmarks/Micro && swift package --allow-writing-to-directory "$out" benchmark \
   --no-progress --format jmh --path "$out" "${filter[@]}" >&2)
python3 - "$out" <<'PY'
import glob, json, sys
rows = []
for path in glob.glob(sys.argv[1] + "/*.jmh*"):
    for element in json.load(open(path)):
        name = element["benchmark"].split(".", 3)[-1].replace("_", " ")  # package.benchmark.TARGET.NAME
        # The primary metric is throughput (operations per second); its median gives the time per operation.
        ops = element["primaryMetric"]["scorePercentiles"]["50.0"]
        mallocs = (element.get("secondaryMetrics") or {}).get("Malloc (total)", {}).get("scorePercentiles", {}).get("50.0")
        rows.append((name, 1e6 / ops, mallocs))
ref = next((t for n, t, _ in rows if n.startswith("reference: Foundation JSONSerialization parse")), None)
width = max(len(n) for n, _, _ in rows)
print(f"{'benchmark':<{width}}  {'µs/op (p50)':>11}  {'mallocs':>7}  × the parse reference")
for name, micros, mallocs in sorted(rows):
    ratio = f"{micros / ref:.2f}" if ref else "-"
    m = f"{mallocs:.0f}" if mallocs is not None else "-"
    print(f"{name:<{width}}  {micros:>11.2f}  {m:>7}  {ratio}")
PY

#!/usr/bin/env bash
# One command for the query-path comparison of issue 6: NSD, Knot DNS and petdns (file zone, and
# the same names through the kubernetes plugin's manifests source) on the generated cluster zone,
# interleaved repetitions, then the ratio table. Needs: apt-get install dnsperf nsd knot, and a
# Release build in build-rel/. Extra arguments go to run_anchor.sh (e.g. --reps 5, --gen-args).
#   benchmarks/dnsperf/run.sh [--out DIR] [run_anchor options]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=benchmarks/results/$(date +%Y%m%d-%H%M%S)
if [[ ${1:-} == --out ]]; then out=$2; shift 2; fi
cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-rel --target petdns >/dev/null
../shared/bench/run_anchor.sh --out "$out" --workers 1 --reps 3 --loads max,50000 \
  --extra "benchmarks/dnsperf/petdns_extra.sh {port} {zonefile} {origin} {workdir}" \
  --extra-name petdns \
  --extra "benchmarks/dnsperf/petdns_k8s_extra.sh {port} {zonefile} {origin} {workdir}" \
  --extra-name petdns-k8s "$@"
/usr/bin/python3 benchmarks/dnsperf/ratios.py "$out" | tee "$out/ratios.md"

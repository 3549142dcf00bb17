#!/usr/bin/env bash
# Instructions per query on the query path, counted by callgrind (deterministic, unlike timings).
# petdns_micro_bench --instructions builds the zone and warms up outside the measured function,
# then answers N queries inside RunMeasuredQueries; callgrind collects only inside that function
# (--toggle-collect), so total Ir / N is instructions per query with no setup to subtract.
#
#   benchmarks/micro/callgrind.sh [BUILD_DIR] [TARGET ...]
#     BUILD_DIR  default build-micro (a Release build with petdns_micro_bench)
#     TARGET     backend/case, default file/mix; e.g. kubernetes/mix file/srv file/nxdomain
#   QUERIES=100000 (per target)   TOP=25 (functions listed by callgrind_annotate)
#
# Bounded: N queries at 1.5k-11k instructions each plus the zone build: ~10-25 s per target,
# and each valgrind run is killed after 600 s.
# Needs valgrind (apt-get install valgrind). Output files go to a temporary directory.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:-$root/build-micro}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(file/mix); fi
queries="${QUERIES:-100000}"
top="${TOP:-25}"

bench="$build/benchmarks/micro/petdns_micro_bench"
if [ ! -x "$bench" ]; then
  echo "callgrind.sh: $bench not found; build it first:" >&2
  echo "  cmake -S $root -B $build -G Ninja -DCMAKE_BUILD_TYPE=Release &&" \
    "cmake --build $build --target petdns_micro_bench" >&2
  exit 1
fi
if ! command -v valgrind >/dev/null 2>&1; then
  echo "callgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2
  exit 1
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

for target in "${targets[@]}"; do
  file="$out/callgrind.${target//\//_}.out"
  timeout 600 valgrind --tool=callgrind --callgrind-out-file="$file" \
    --toggle-collect='*RunMeasuredQueries*' \
    "$bench" --instructions="$target" --queries="$queries" >"$out/stdout" 2>"$out/stderr" || {
    echo "callgrind.sh: $target failed:" >&2
    cat "$out/stdout" "$out/stderr" >&2
    exit 1
  }
  total="$(sed -n 's/^summary: *//p' "$file" | awk '{print $1}')"
  if [ -z "$total" ]; then total="$(sed -n 's/^totals: *//p' "$file" | awk '{print $1}')"; fi
  echo "== $target: $(cat "$out/stdout")"
  awk -v t="$total" -v n="$queries" \
    'BEGIN { printf "instructions: %d total, %.0f per query\n", t, (n > 0 ? t / n : 0) }'
  if [ "$top" -gt 0 ]; then
    # Inclusive cost shows which stage (parse, route, resolve, write) dominates; self cost the
    # functions to look at.
    callgrind_annotate --inclusive=no "$file" 2>/dev/null |
      grep -E '^ *[0-9,]+ ' | head -n "$top" || true  # head closing the pipe is not an error
  fi
done

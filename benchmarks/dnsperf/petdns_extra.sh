#!/usr/bin/env bash
# --extra target for ../shared/bench/run_anchor.sh: petdns in the foreground serving {zonefile}
# for {origin} on 127.0.0.1:{port} with the file plugin. Exits on SIGTERM (run_anchor stops it).
# Usage (from the repository root):
#   ../shared/bench/run_anchor.sh --out benchmarks/results/$(date +%Y%m%d-%H%M%S) \
#     --extra "benchmarks/dnsperf/petdns_extra.sh {port} {zonefile} {origin} {workdir}" \
#     --extra-name petdns
set -euo pipefail
port=$1 zone=$2 origin=${3:-cluster.local} dir=$4
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
binary=${PETDNS_BIN:-$here/build-rel/petdns}
mkdir -p "$dir"
cat > "$dir/petdns.toml" <<CONF
[global]
log_level = "warning"

[[server]]
listen = ["127.0.0.1:$port"]
zones = ["${origin%.}."]

[server.file]
path = "$zone"
reload = "0s"
CONF
exec "$binary" serve --config "$dir/petdns.toml"

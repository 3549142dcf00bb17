#!/usr/bin/env bash
# --extra target for ../shared/bench/run_anchor.sh: petdns in the foreground serving the names of
# {zonefile} through the kubernetes plugin (manifests source): the zone is first turned into
# Services and EndpointSlices (zone_to_manifests.py), so NSD, Knot and petdns answer the same
# names with the same addresses. Exits on SIGTERM (run_anchor stops it).
# Usage (from the repository root):
#   ../shared/bench/run_anchor.sh --out benchmarks/results/$(date +%Y%m%d-%H%M%S) \
#     --extra "benchmarks/dnsperf/petdns_k8s_extra.sh {port} {zonefile} {origin} {workdir}" \
#     --extra-name petdns-k8s
set -euo pipefail
port=$1 zone=$2 origin=${3:-cluster.local} dir=$4
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
binary=${PETDNS_BIN:-$here/build-rel/petdns}
mkdir -p "$dir/manifests"
/usr/bin/python3 "$here/benchmarks/dnsperf/zone_to_manifests.py" --origin "$origin" \
    "$zone" "$dir/manifests" >&2
cat > "$dir/petdns-k8s.toml" <<CONF
[global]
log_level = "warning"

[[server]]
listen = ["127.0.0.1:$port"]
zones = ["${origin%.}."]

[server.kubernetes]
manifests = "$dir/manifests"
CONF
exec "$binary" serve --config "$dir/petdns-k8s.toml"

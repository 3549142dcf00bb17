#!/usr/bin/env python3
"""Turns a zone made by ../shared/bench/gen_cluster_zone.py into Kubernetes objects (JSON lists)
that petdns's manifests source serves as the same names and addresses: one headless Service per
hs-NNNN with an EndpointSlice of its pets (hostname web-I, port "web" 80/TCP), and one ClusterIP
Service per cip-NNNNN with its address as spec.clusterIP. The harness thus compares the
Kubernetes path (ClusterView lookups over per-service fragments) on the very data the zone-file
servers answer from.

Usage: zone_to_manifests.py ZONEFILE OUTDIR [--origin cluster.local]
"""
import argparse
import collections
import json
import os


def parse_zone(path, origin):
    """(namespace, service) -> {"pets": [(hostname, ip)], "cluster_ip": ip} from A records."""
    suffix = ".svc." + origin.rstrip(".") + "."
    services = collections.defaultdict(lambda: {"pets": [], "cluster_ip": None})
    with open(path, encoding="ascii") as zone:
        for line in zone:
            fields = line.split()
            if len(fields) < 4 or fields[0].startswith((";", "$")) or fields[-2] != "A":
                continue
            owner, address = fields[0].lower(), fields[-1]
            if not owner.endswith(suffix):
                continue
            labels = owner[: -len(suffix)].split(".")
            if len(labels) == 3:  # web-I.hs-J.ns-N
                services[(labels[2], labels[1])]["pets"].append((labels[0], address))
            elif len(labels) == 2 and labels[0].startswith("cip-"):
                services[(labels[1], labels[0])]["cluster_ip"] = address
    return services


def objects_for(namespace, name, data):
    meta = {"name": name, "namespace": namespace}
    port = {"name": "web", "port": 80, "protocol": "TCP"}
    if data["cluster_ip"] is not None:
        return [{"apiVersion": "v1", "kind": "Service", "metadata": meta,
                 "spec": {"clusterIP": data["cluster_ip"], "ports": [port]}}]
    service = {"apiVersion": "v1", "kind": "Service", "metadata": meta,
               "spec": {"clusterIP": "None", "ports": [port]}}
    endpoints = [{"addresses": [ip], "hostname": host, "conditions": {"ready": True}}
                 for host, ip in sorted(data["pets"])]
    slice_ = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
              "metadata": {"name": name + "-pets", "namespace": namespace,
                           "labels": {"kubernetes.io/service-name": name}},
              "addressType": "IPv4", "endpoints": endpoints, "ports": [port]}
    return [service, slice_]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("zone")
    parser.add_argument("outdir")
    parser.add_argument("--origin", default="cluster.local")
    args = parser.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    by_namespace = collections.defaultdict(list)
    for (namespace, name), data in sorted(parse_zone(args.zone, args.origin).items()):
        by_namespace[namespace].extend(objects_for(namespace, name, data))
    # One file per namespace keeps each file small enough to reload quickly when edited.
    for namespace, items in by_namespace.items():
        with open(os.path.join(args.outdir, namespace + ".json"), "w", encoding="ascii") as out:
            json.dump({"apiVersion": "v1", "kind": "List", "items": items}, out)
    print(f"{sum(len(v) for v in by_namespace.values())} objects in {len(by_namespace)} files")


if __name__ == "__main__":
    main()

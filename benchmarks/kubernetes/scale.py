#!/usr/bin/python3
"""Kubernetes-source scale and propagation benchmark (opt-in; not part of the test suite).

Starts the fake API server (tests/fake_apiserver) with S headless services of E endpoints each,
starts petdns list+watching it, and reports:
  - initial sync time: from petdns start until the last service answers;
  - RSS after sync, and peak RSS (VmHWM) during a forced relist (410 Gone);
  - event → answer latency: an EndpointSlice update until petdns's answer changes, p50/p99,
    with a background query load running.
Everything runs on loopback and stops by itself.

    benchmarks/kubernetes/scale.py --services 10000 --endpoints 10 --events 200
"""
import argparse
import json
import os
import pathlib
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import dns.message
import dns.query
import dns.rcode

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "fake_apiserver"))
from fake_apiserver import FakeApiServer  # noqa: E402


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid, field="VmRSS"):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def service(i):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": f"svc-{i}", "namespace": f"ns-{i % 20}"},
            "spec": {"clusterIP": "None", "ports": [{"name": "web", "protocol": "TCP", "port": 80}]}}


def endpoint_slice(i, endpoints, generation=0):
    # 10.<generation:6 bits><service:14 bits><endpoint:4 bits>: every generation differs.
    base = 10 << 24 | (generation % 64) << 18 | (i & 0x3FFF) << 4
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"svc-{i}-x", "namespace": f"ns-{i % 20}",
                         "labels": {"kubernetes.io/service-name": f"svc-{i}"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [socket.inet_ntoa((base | e).to_bytes(4, "big"))],
                           "conditions": {"ready": True}, "hostname": f"svc-{i}-{e}"}
                          for e in range(endpoints)],
            "ports": [{"name": "web", "protocol": "TCP", "port": 8080}]}


def ask(port, name, rdtype="A"):
    try:
        return dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=port,
                             timeout=0.5)
    except Exception:  # noqa: BLE001
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10000)
    parser.add_argument("--endpoints", type=int, default=10, help="endpoints per service (<= 16)")
    parser.add_argument("--reverse", action="store_true", help="also serve in-addr.arpa. PTRs")
    parser.add_argument("--events", type=int, default=200, help="updates for the latency test")
    parser.add_argument("--binary", default=str(REPO / "build" / "petdns"))
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--wrap", default="", help="command to run petdns under (heaptrack)")
    args = parser.parse_args()

    api = FakeApiServer(bookmark_interval=60, history_limit=max(1000, args.events * 2))
    api.start()
    for ns in range(20):
        api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"ns-{ns}"}})
    for i in range(args.services):
        api.create(service(i))
        api.create(endpoint_slice(i, args.endpoints))
    work = pathlib.Path(tempfile.mkdtemp(prefix="petdns-scale-"))
    (work / "kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: '{api.url}'}}}}]\n"
        "users: [{name: u, user: {}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n")
    port = free_port()
    zones = '"cluster.local.", "in-addr.arpa."' if args.reverse else '"cluster.local."'
    (work / "petdns.toml").write_text(
        f'[[server]]\nlisten = ["127.0.0.1:{port}"]\n'
        f'zones = [{zones}]\n'
        '[server.kubernetes]\nkubeconfig = "kubeconfig"\n')
    last = f"svc-{args.services - 1}.ns-{(args.services - 1) % 20}.svc.cluster.local."
    start = time.monotonic()
    proc = subprocess.Popen(args.wrap.split() + [args.binary, "serve", "--config", str(work / "petdns.toml")],
                            stdout=subprocess.DEVNULL, stderr=open(work / "petdns.log", "wb"))
    results = {"services": args.services, "endpoints": args.services * args.endpoints}
    try:
        while True:
            msg = ask(port, last)
            if msg is not None and msg.rcode() == dns.rcode.NOERROR and msg.answer:
                break
            if time.monotonic() - start > args.timeout or proc.poll() is not None:
                raise SystemExit("petdns did not sync; log: " + str(work / "petdns.log"))
            time.sleep(0.02)
        results["sync_seconds"] = round(time.monotonic() - start, 3)
        time.sleep(0.5)
        results["rss_mb_after_sync"] = round(rss_kb(proc.pid) / 1024, 1)
        hwm_before = rss_kb(proc.pid, "VmHWM")

        # Event → answer latency under a background query load.
        stop = threading.Event()
        answered = [0]

        def load():
            names = [f"svc-{random.randrange(args.services)}-0.svc-{0}.ns-0.svc.cluster.local."]
            while not stop.is_set():
                if ask(port, names[0]) is not None:
                    answered[0] += 1
        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        latencies = []
        for n in range(args.events):
            i = random.randrange(args.services)
            name = f"svc-{i}-0.svc-{i}.ns-{i % 20}.svc.cluster.local."
            before = ask(port, name)
            old = sorted(r.address for rr in before.answer for r in rr) if before else []
            t0 = time.monotonic()
            api.update(endpoint_slice(i, args.endpoints, generation=n % 63 + 1))
            while True:
                msg = ask(port, name)
                now = sorted(r.address for rr in msg.answer for r in rr) if msg else old
                if now != old:
                    latencies.append((time.monotonic() - t0) * 1000)
                    break
                if time.monotonic() - t0 > 10:
                    latencies.append(10000.0)
                    break
        stop.set()
        loader.join(timeout=2)
        latencies.sort()
        results["event_to_answer_ms_p50"] = round(statistics.median(latencies), 2)
        results["event_to_answer_ms_p99"] = round(latencies[int(len(latencies) * 0.99) - 1], 2)
        results["background_queries_answered"] = answered[0]

        # Forced relist: compaction + 410 on every watch.
        api.compact()
        api.error_watches(code=410)
        time.sleep(3)
        hwm_after = rss_kb(proc.pid, "VmHWM")
        results["relist_peak_rss_increase_pct"] = round(100.0 * (hwm_after - hwm_before) /
                                                        max(hwm_before, 1), 1)
        results["rss_mb_after_relist"] = round(rss_kb(proc.pid) / 1024, 1)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
        api.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

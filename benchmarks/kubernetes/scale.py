#!/usr/bin/python3
"""Kubernetes-source scale and propagation benchmark (opt-in; not part of the test suite).

Starts the fake API server (tests/fake_apiserver) with S headless services of E endpoints each,
starts petdns list+watching it, and reports:
  - initial sync time: from petdns start until the last service answers;
  - RSS after sync, and the peak RSS during a forced relist (compaction + 410 on every watch);
  - event → answer latency: from the moment the fake server writes an EndpointSlice update to
    petdns's watch until petdns's answer changes, p50/p99/max, with a query load running and,
    with --churn, other services being updated continuously.
Everything runs on loopback and stops by itself.

    benchmarks/kubernetes/scale.py --services 10000 --endpoints 10 --events 200 --churn 100
"""
import argparse
import json
import pathlib
import random
import re
import shutil
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
import fake_apiserver  # noqa: E402
from fake_apiserver import FakeApiServer  # noqa: E402

# Probe events carry this label; the fake server's watch threads note when they wrote them.
PROBE_LABEL = "petdns-scale/probe"
_PROBE_RE = re.compile(rb'"petdns-scale/probe":"(\d+)"')
written = {}  # probe number → time.monotonic() just after the event went out on a watch
written_cond = threading.Condition()


def _timestamping_write_chunk(original):
    def write_chunk(self, data):
        original(self, data)
        if b"petdns-scale/probe" in data:
            m = _PROBE_RE.search(data)
            if m:
                now = time.monotonic()
                with written_cond:
                    written.setdefault(int(m.group(1)), now)
                    written_cond.notify_all()
    return write_chunk


fake_apiserver._Handler._write_chunk = _timestamping_write_chunk(
    fake_apiserver._Handler._write_chunk)


def _nodelay_setup(original):
    # kube-apiserver (Go) sends with TCP_NODELAY, as Go does on every TCP connection. Python does
    # not, and Nagle would hold an event back until petdns acknowledged the previous one.
    def setup(self):
        original(self)
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
    return setup


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status_kb(pid, field="VmRSS"):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak_rss(pid):
    """Resets VmHWM to the current RSS (Linux ≥ 4.0); False when not allowed."""
    try:
        pathlib.Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def service(i):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": f"svc-{i}", "namespace": f"ns-{i % 20}"},
            "spec": {"clusterIP": "None", "ports": [{"name": "web", "protocol": "TCP", "port": 80}]}}


def endpoint_slice(i, endpoints, generation=0, probe=None):
    # 10.<generation:6 bits><service:14 bits><endpoint:4 bits>: every generation differs.
    base = 10 << 24 | (generation % 64) << 18 | (i & 0x3FFF) << 4
    labels = {"kubernetes.io/service-name": f"svc-{i}"}
    if probe is not None:
        labels[PROBE_LABEL] = str(probe)
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"svc-{i}-x", "namespace": f"ns-{i % 20}", "labels": labels},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [socket.inet_ntoa((base | e).to_bytes(4, "big"))],
                           "conditions": {"ready": True}, "hostname": f"svc-{i}-{e}"}
                          for e in range(endpoints)],
            "ports": [{"name": "web", "protocol": "TCP", "port": 8080}]}


def pet_name(i, e=0):
    return f"svc-{i}-{e}.svc-{i}.ns-{i % 20}.svc.cluster.local."


class Asker:
    """DNS over UDP from one socket (a fresh socket per query costs more than the query)."""

    def __init__(self, port):
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect(("127.0.0.1", port))

    def ask(self, name, rdtype="A", timeout=0.5):
        try:
            return dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=self.port,
                                 timeout=timeout, sock=self.sock)
        except Exception:  # noqa: BLE001
            # A late reply to a timed-out query would be taken for the next one's: start afresh.
            self.sock.close()
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.connect(("127.0.0.1", self.port))
            return None

    def addresses(self, name):
        msg = self.ask(name)
        return None if msg is None else sorted(r.address for rr in msg.answer for r in rr)


class QueryLoad:
    """Background queries for existing pet names: dnsperf at a fixed rate if installed (its own
    process, so the Python threads that measure are not slowed down), else a Python thread."""

    def __init__(self, port, services, qps, work):
        self.port, self.services, self.qps, self.work = port, services, qps, work
        self.proc = None
        self.thread = None
        self.stop_event = threading.Event()
        self.answered = 0

    def start(self):
        if self.qps <= 0:
            return
        dnsperf = shutil.which("dnsperf")
        if dnsperf:
            queries = self.work / "queries.txt"
            rng = random.Random(1)
            with open(queries, "w") as f:
                for _ in range(10000):
                    i = rng.randrange(self.services)
                    f.write(f"{pet_name(i, rng.randrange(4))} A\n")
            self.proc = subprocess.Popen(
                [dnsperf, "-s", "127.0.0.1", "-p", str(self.port), "-d", str(queries),
                 "-l", "3600", "-Q", str(self.qps), "-c", "1", "-T", "1"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            return

        def load():
            asker = Asker(self.port)
            while not self.stop_event.is_set():
                if asker.ask(pet_name(random.randrange(self.services))) is not None:
                    self.answered += 1
        self.thread = threading.Thread(target=load, daemon=True)
        self.thread.start()

    def stop(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)
            try:
                out, _ = self.proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                out, _ = self.proc.communicate()
            m = re.search(r"Queries completed:\s+(\d+)", out or "")
            self.answered = int(m.group(1)) if m else -1
            self.proc = None
        if self.thread is not None:
            self.stop_event.set()
            self.thread.join(timeout=2)
            self.thread = None


class Churn:
    """Updates random services' EndpointSlices at `rate` per second (never the probed one)."""

    def __init__(self, api, services, endpoints, rate):
        self.api, self.services, self.endpoints, self.rate = api, services, endpoints, rate
        self.stop_event = threading.Event()
        self.busy = set()  # services being probed
        self.count = 0
        self.thread = None

    def start(self):
        if self.rate <= 0:
            return

        def run():
            rng = random.Random(2)
            interval = 1.0 / self.rate
            next_at = time.monotonic()
            while not self.stop_event.is_set():
                i = rng.randrange(self.services)
                if i not in self.busy:
                    self.api.update(endpoint_slice(i, self.endpoints, rng.randrange(1, 64)))
                    self.count += 1
                next_at += interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    self.stop_event.wait(delay)
                else:
                    next_at = time.monotonic()  # behind: do not burst to catch up
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def stop(self):
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout=5)


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values))) - 1))
    return sorted_values[k]


def measure_propagation(args, api, port, asker, churn):
    """Probe updates one at a time; returns latencies (ms) from the watch write and from the
    update call, and how many probes timed out."""
    from_write, from_call, timeouts = [], [], 0
    rng = random.Random(3)
    for n in range(args.events):
        i = rng.randrange(args.services)
        churn.busy.add(i)
        time.sleep(0.02)  # a churn update of this service already under way lands first
        name = pet_name(i)
        old = asker.addresses(name) or ["10.0.0.0"]
        generation = (int.from_bytes(socket.inet_aton(old[0]), "big") >> 18 & 63) % 63 + 1
        slice_ = endpoint_slice(i, args.endpoints, generation=generation, probe=n)
        expected = [slice_["endpoints"][0]["addresses"][0]]
        t_call = time.monotonic()
        api.update(slice_)
        seen = None
        while time.monotonic() - t_call < 10:
            if asker.addresses(name) == expected:
                seen = time.monotonic()
                break
        churn.busy.discard(i)
        with written_cond:
            written_cond.wait_for(lambda: n in written, timeout=1)
            t_write = written.pop(n, None)
        if seen is None or t_write is None:
            timeouts += 1
            continue
        from_write.append((seen - t_write) * 1000)
        from_call.append((seen - t_call) * 1000)
        if args.pause:
            time.sleep(args.pause)
    return sorted(from_write), sorted(from_call), timeouts


def count_lines(path, pattern):
    try:
        return len(re.findall(pattern, path.read_text(errors="replace")))
    except OSError:
        return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10000)
    parser.add_argument("--endpoints", type=int, default=10, help="endpoints per service (<= 16)")
    parser.add_argument("--reverse", action="store_true", help="also serve in-addr.arpa. PTRs")
    parser.add_argument("--events", type=int, default=200, help="probed updates (latency)")
    parser.add_argument("--churn", type=float, default=0,
                        help="other EndpointSlice updates per second during the latency test")
    parser.add_argument("--qps", type=int, default=2000,
                        help="background query rate during the latency test (0: none)")
    parser.add_argument("--pause", type=float, default=0.0,
                        help="seconds between probes (spreads them over the churn)")
    parser.add_argument("--rebuild-delay", default="",
                        help="rebuild_delay for petdns.toml (default: petdns's default)")
    parser.add_argument("--no-relist", action="store_true", help="skip the forced relist")
    parser.add_argument("--nagle", action="store_true",
                        help="leave Nagle on in the fake server (Python's default; the real "
                             "API server sends with TCP_NODELAY)")
    parser.add_argument("--binary", default=str(REPO / "build" / "petdns"))
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--wrap", default="", help="command to run petdns under (heaptrack)")
    args = parser.parse_args()
    sys.setswitchinterval(0.0005)  # the measuring thread must not wait 5 ms for the GIL
    if not args.nagle:
        fake_apiserver._Handler.setup = _nodelay_setup(fake_apiserver._Handler.setup)

    api = FakeApiServer(bookmark_interval=60,
                        history_limit=max(1000, (args.events * 2) + int(args.churn * 120)))
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
    extra = f'rebuild_delay = "{args.rebuild_delay}"\n' if args.rebuild_delay else ""
    (work / "petdns.toml").write_text(
        f'[[server]]\nlisten = ["127.0.0.1:{port}"]\n'
        f'zones = [{zones}]\n'
        '[server.kubernetes]\nkubeconfig = "kubeconfig"\n' + extra)
    log = work / "petdns.log"
    last = pet_name(args.services - 1).split(".", 1)[1]
    start = time.monotonic()
    proc = subprocess.Popen(args.wrap.split() + [args.binary, "serve", "--config",
                                                 str(work / "petdns.toml")],
                            stdout=subprocess.DEVNULL, stderr=open(log, "wb"))
    results = {"services": args.services, "endpoints": args.services * args.endpoints}
    asker = Asker(port)
    load = QueryLoad(port, args.services, args.qps, work)
    churn = Churn(api, args.services, args.endpoints, args.churn)
    try:
        while True:
            msg = asker.ask(last)
            if msg is not None and msg.rcode() == dns.rcode.NOERROR and msg.answer:
                break
            if time.monotonic() - start > args.timeout or proc.poll() is not None:
                raise SystemExit("petdns did not sync; log: " + str(log))
            time.sleep(0.02)
        results["sync_seconds"] = round(time.monotonic() - start, 3)
        time.sleep(0.5)
        results["rss_mb_after_sync"] = round(proc_status_kb(proc.pid) / 1024, 1)
        hwm_sync = proc_status_kb(proc.pid, "VmHWM")
        results["peak_rss_mb_during_sync"] = round(hwm_sync / 1024, 1)

        load.start()
        churn.start()
        time.sleep(0.5)  # let the load and the churn reach their pace
        from_write, from_call, timeouts = measure_propagation(args, api, port, asker, churn)
        churn.stop()
        load.stop()
        results["event_to_answer_ms_p50"] = round(statistics.median(from_write), 2)
        results["event_to_answer_ms_p90"] = round(percentile(from_write, 90), 2)
        results["event_to_answer_ms_p99"] = round(percentile(from_write, 99), 2)
        results["event_to_answer_ms_max"] = round(from_write[-1], 2)
        results["event_to_answer_ms_over_10"] = sum(1 for v in from_write if v > 10)
        results["event_to_answer_ms_slowest"] = [round(v, 1) for v in from_write[-5:]]
        results["update_call_to_answer_ms_p50"] = round(statistics.median(from_call), 2)
        results["update_call_to_answer_ms_p99"] = round(percentile(from_call, 99), 2)
        results["probe_timeouts"] = timeouts
        results["churn_updates"] = churn.count
        results["background_queries_answered"] = load.answered

        if not args.no_relist:
            # Forced relist: compaction + 410 on every watch. The peak is measured from the RSS
            # just before it (VmHWM reset), so it is the relist's own cost.
            time.sleep(0.5)
            rss_before = proc_status_kb(proc.pid)
            hwm_reset = reset_peak_rss(proc.pid)
            listed = count_lines(log, r"listed \d+ objects")
            api.compact()
            api.error_watches(code=410)
            deadline = time.monotonic() + args.timeout
            while count_lines(log, r"listed \d+ objects") < listed + 3:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("petdns did not relist; log: " + str(log))
                time.sleep(0.05)
            time.sleep(1.5)  # rebuilds, if any, and the trim after them
            hwm_relist = proc_status_kb(proc.pid, "VmHWM")
            if hwm_reset:
                results["relist_peak_rss_increase_pct"] = round(
                    100.0 * (hwm_relist - rss_before) / max(rss_before, 1), 1)
            # The older measure: how far the relist's peak rose above the initial sync's.
            results["relist_peak_above_sync_peak_pct"] = round(
                100.0 * (max(hwm_relist, hwm_sync) - hwm_sync) / max(hwm_sync, 1), 1)
            results["rss_mb_after_relist"] = round(proc_status_kb(proc.pid) / 1024, 1)
    finally:
        churn.stop()
        load.stop()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30 if args.wrap else 5)
        except subprocess.TimeoutExpired:
            proc.kill()
        api.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Soak run: petdns on the kubernetes API source (tests/fake_apiserver with a few hundred
services) under a steady query load, continuous EndpointSlice churn and periodic whole-config
reloads, for a bounded time. Samples petdns's VmRSS and open file descriptors every second.

Fails (exit 1) when any query fails or times out, when RSS grows by more than 10 % + 2 MiB from
the first third of the run (after warm-up) to the last third, or when the open descriptors grow.
Prints one line per 10 s and a JSON summary at the end. See README.md next to this file.

    /usr/bin/python3 tests/soak/soak.py --petdns build/petdns --seconds 180
"""
import argparse
import json
import os
import pathlib
import random
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "tests" / "fake_apiserver"))
from fake_apiserver import FakeApiServer  # noqa: E402

TOKEN = "soak-token"


# ---- the cluster -----------------------------------------------------------------------------

def service(i):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": f"svc-{i}", "namespace": f"ns-{i % 5}"},
            "spec": {"clusterIP": f"10.96.{i // 250}.{i % 250 + 1}", "type": "ClusterIP",
                     "ports": [{"name": "http", "protocol": "TCP", "port": 80}]}}


def pets_service(i):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": f"pets-{i}", "namespace": "stateful"},
            "spec": {"clusterIP": "None", "ports": [{"name": "web", "protocol": "TCP",
                                                      "port": 80}]}}


def endpoint_slice(name, ns, pets, generation):
    """pets endpoints web-0..; `generation` moves every address, so each update is a change."""
    third = sum(name.encode()) % 250
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{name}-x", "namespace": ns,
                         "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [f"10.{100 + generation % 100}.{third}.{j + 1}"],
                           "conditions": {"ready": True}, "hostname": f"web-{j}"}
                          for j in range(pets)],
            "ports": [{"name": "web", "protocol": "TCP", "port": 80}]}


def seed(api, services, churned):
    for n in range(5):
        api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"ns-{n}"}})
    api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "stateful"}})
    for i in range(services):
        api.create(service(i))
        api.create(endpoint_slice(f"svc-{i}", f"ns-{i % 5}", 2, 0))
    for i in range(churned):
        api.create(pets_service(i))
        api.create(endpoint_slice(f"pets-{i}", "stateful", 3, 0))


# ---- queries ---------------------------------------------------------------------------------

def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def make_query(name, qtype):
    return struct.pack("!HHHHHH", 0, 0x0100, 1, 0, 0, 0) + encode_name(name) + \
        struct.pack("!HH", qtype, 1)


def stable_queries(services):
    """Names whose answers never change during the run: the ClusterIP services' A records."""
    return [(f"svc-{i}.ns-{i % 5}.svc.cluster.local.", 1) for i in range(services)]


class PyLoad:
    """A UDP load loop: `threads` senders, each with one query outstanding at a time, paced to
    `qps` in total. Each reply must carry the ID, QR, NOERROR and at least one answer."""

    def __init__(self, port, queries, qps, threads=4, timeout=2.0):
        self.port, self.queries, self.timeout = port, queries, timeout
        self.interval = threads / max(qps, 1)
        self.sent = self.ok = 0
        self.failures = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(k,), daemon=True)
                         for k in range(threads)]

    def _run(self, k):
        rnd = random.Random(k)
        wires = [make_query(n, t) for n, t in self.queries]
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("127.0.0.1", self.port))
        s.settimeout(self.timeout)
        next_at = time.monotonic()
        while not self._stop.is_set():
            i = rnd.randrange(len(wires))
            qid = rnd.randrange(65536)
            s.send(struct.pack("!H", qid) + wires[i][2:])
            why = None
            deadline = time.monotonic() + self.timeout
            while True:
                try:
                    data = s.recv(4096)
                except socket.timeout:
                    why = "timeout"
                    break
                except OSError as err:
                    why = f"error {err}"
                    break
                if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == qid:
                    flags, _, ancount = struct.unpack("!HHH", data[2:8])
                    if not flags & 0x8000:
                        why = "not a response"
                    elif flags & 0xF:
                        why = f"rcode {flags & 0xF}"
                    elif ancount == 0:
                        why = "no answer"
                    break
                if time.monotonic() > deadline:  # only stale replies: count as a timeout
                    why = "timeout"
                    break
            with self._lock:
                self.sent += 1
                if why is None:
                    self.ok += 1
                else:
                    self.failures.append((round(time.monotonic(), 3), self.queries[i][0], why))
            next_at += self.interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                next_at = time.monotonic()
        s.close()

    def start(self):
        for t in self._threads:
            t.start()

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout + 1)
        return {"sent": self.sent, "ok": self.ok, "failed": len(self.failures),
                "first_failures": self.failures[:10]}


class DnsperfLoad:
    """dnsperf for the whole run: -l seconds, -Q qps; its 'Queries lost' must be 0 and every
    reply NOERROR."""

    def __init__(self, port, queries, qps, seconds, workdir):
        self.path = workdir / "queries.txt"
        qtypes = {1: "A", 33: "SRV"}
        self.path.write_text("".join(f"{n} {qtypes[t]}\n" for n, t in queries))
        self.cmd = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(self.path),
                    "-l", str(seconds), "-Q", str(qps), "-t", "2", "-c", "2"]
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)

    def stop(self):
        try:
            out, _ = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()

        def number(label):
            for line in out.splitlines():
                if line.strip().startswith(label):
                    return int(line.split(":")[1].split()[0])
            return -1
        sent, completed, lost = number("Queries sent"), number("Queries completed"), \
            number("Queries lost")
        noerror = -1
        for line in out.splitlines():
            if "Response codes:" in line:
                codes = dict((c.split()[0], int(c.split()[1])) for c in
                             line.split(":", 1)[1].split(",") if c.strip())
                noerror = codes.get("NOERROR", 0)
        failed = (lost if lost >= 0 else sent) + (completed - noerror if noerror >= 0 else 0)
        return {"sent": sent, "ok": noerror, "failed": failed, "dnsperf": out[-1500:]}


# ---- the run ---------------------------------------------------------------------------------

def sample(pid):
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])  # kB
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def write_config(path, port, metrics_port, generation):
    # The comment changes every time, so the file's size or mtime changes and petdns reloads.
    path.write_text(f"# generation {generation}\n"
                    f'[[server]]\nlisten = ["127.0.0.1:{port}"]\n'
                    'zones = ["cluster.local."]\n'
                    '[server.kubernetes]\nkubeconfig = "kubeconfig"\n'
                    f'[server.metrics]\nlisten = "127.0.0.1:{metrics_port}"\n')


def free_port():
    for _ in range(50):
        t = socket.socket()
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError("no free port")


def wait_answer(port, name, timeout):
    wire = make_query(name, 1)
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        while time.monotonic() < deadline:
            s.sendto(wire, ("127.0.0.1", port))
            try:
                data, _ = s.recvfrom(4096)
                if len(data) >= 12 and data[3] & 0xF == 0 and struct.unpack("!H", data[6:8])[0]:
                    return True
            except socket.timeout:
                pass
            time.sleep(0.05)
    return False


def run(args):
    work = pathlib.Path(tempfile.mkdtemp(prefix="petdns-soak-"))
    api = FakeApiServer(token=TOKEN, bookmark_interval=1.0)
    api.start()
    proc = None
    try:
        seed(api, args.services, args.churned)
        (work / "kubeconfig").write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
            f"clusters: [{{name: c, cluster: {{server: '{api.url}'}}}}]\n"
            f"users: [{{name: u, user: {{token: {TOKEN}}}}}]\n"
            "contexts: [{name: c, context: {cluster: c, user: u}}]\n")
        port, metrics_port = free_port(), free_port()
        config = work / "petdns.toml"
        write_config(config, port, metrics_port, 0)
        log = open(work / "petdns.log", "wb")
        proc = subprocess.Popen([args.petdns, "serve", "--config", str(config)], cwd=work,
                                stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if not wait_answer(port, f"svc-{args.services - 1}.ns-{(args.services - 1) % 5}"
                                 ".svc.cluster.local.", 15):
            raise RuntimeError("petdns did not sync within 15 s:\n" +
                               (work / "petdns.log").read_text()[-3000:])

        queries = stable_queries(args.services)
        use_dnsperf = args.load == "dnsperf" or (args.load == "auto" and shutil.which("dnsperf"))
        load = (DnsperfLoad(port, queries, args.qps, args.seconds, work) if use_dnsperf
                else PyLoad(port, queries, args.qps))
        stop = threading.Event()
        churn = {"updates": 0}

        def churner():
            rnd = random.Random(7)
            generation = 0
            next_at = time.monotonic()
            while not stop.is_set():
                generation += 1
                i = rnd.randrange(args.churned)
                api.update(endpoint_slice(f"pets-{i}", "stateful", rnd.randint(1, 4),
                                          generation))
                churn["updates"] += 1
                next_at += 1.0 / args.churn
                stop.wait(max(0.0, next_at - time.monotonic()))

        reloads = {"done": 0, "at": []}

        def reloader():
            generation = 0
            while not stop.wait(args.reload_every):
                generation += 1
                if generation % 2:
                    write_config(config, port, metrics_port, generation)  # picked up in ≤ 2 s
                    reloads["at"].append((time.monotonic(), 2.0))
                else:
                    proc.send_signal(signal.SIGHUP)
                    reloads["at"].append((time.monotonic(), 0.0))
                reloads["done"] += 1

        samples = []
        started = time.monotonic()
        load.start()
        threads = [threading.Thread(target=f, daemon=True) for f in (churner, reloader)]
        for t in threads:
            t.start()
        while time.monotonic() - started < args.seconds:
            if proc.poll() is not None:
                raise RuntimeError(f"petdns exited with {proc.returncode}")
            rss, fds = sample(proc.pid)
            samples.append((time.monotonic() - started, rss, fds))
            if len(samples) % 10 == 0:
                print(f"t={samples[-1][0]:5.0f}s rss={rss / 1024:.1f}MiB fds={fds} "
                      f"churn={churn['updates']} reloads={reloads['done']}", flush=True)
            time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join(5)
        result = load.stop()
        if args.reload_grace > 0 and isinstance(load, PyLoad):
            # Known issue: a reload swaps in a kubernetes plugin that has not listed yet, which
            # answers SERVFAIL until it has. Counted apart (and reported) instead of failing.
            def after_reload(t):
                return any(at <= t <= at + pickup + args.reload_grace
                           for at, pickup in reloads["at"])
            excused = [f for f in load.failures if f[2] == "rcode 2" and after_reload(f[0])]
            result["failed"] -= len(excused)
            result["servfail_after_reload"] = len(excused)
        alive = proc.poll() is None
        log_text = (work / "petdns.log").read_text(errors="replace")

        warm = [s for s in samples if s[0] >= args.warmup] or samples
        third = max(1, len(warm) // 3)
        first, last = warm[:third], warm[-third:]
        rss_first = statistics.mean(s[1] for s in first)
        rss_last = statistics.mean(s[1] for s in last)
        # A reload keeps the old generation's API connections open until it is retired 5 s
        # later (two overlap when reloads come faster), so descriptors saw-tooth: a leak shows
        # in the floor. The peaks are reported.
        fds_first = (min(s[2] for s in first), max(s[2] for s in first))
        fds_last = (min(s[2] for s in last), max(s[2] for s in last))
        rss_limit = rss_first * 1.10 + 2048
        summary = {
            "seconds": args.seconds, "services": args.services, "churned": args.churned,
            "load": "dnsperf" if use_dnsperf else "python", "queries": result,
            "churn_updates": churn["updates"], "reloads_requested": reloads["done"],
            "reloads_logged": log_text.count("configuration reloaded"),
            "rss_kib": {"first_third_mean": round(rss_first), "last_third_mean": round(rss_last),
                        "limit": round(rss_limit), "max": max(s[1] for s in samples)},
            "fds": {"first_third_min_max": fds_first, "last_third_min_max": fds_last,
                    "max": max(s[2] for s in samples)},
            "alive": alive, "workdir": str(work),
        }
        problems = []
        if not alive:
            problems.append("petdns died")
        if result["failed"] != 0 or result["sent"] <= 0:
            problems.append(f"{result['failed']} of {result['sent']} queries failed")
        if rss_last > rss_limit:
            problems.append(f"RSS grew from {rss_first:.0f} to {rss_last:.0f} KiB "
                            f"(limit {rss_limit:.0f})")
        if fds_last[0] > fds_first[0] + args.fd_slack:
            problems.append(f"open fds grew from {fds_first[0]} to {fds_last[0]} (floor of the "
                            "first and last third)")
        if summary["reloads_logged"] == 0 and args.seconds > 2 * args.reload_every + 2:
            problems.append("no configuration reload happened")
        summary["problems"] = problems
        if result.get("servfail_after_reload"):
            print(f"WARNING: {result['servfail_after_reload']} SERVFAIL within "
                  f"{args.reload_grace:g} s of a reload (known issue: a reloaded kubernetes "
                  "plugin answers SERVFAIL until its first list)", flush=True)
        print(json.dumps(summary, indent=2))
        if problems:
            print("SOAK FAILED: " + "; ".join(problems) + "\n--- petdns log (tail) ---\n" +
                  log_text[-4000:], flush=True)
            return 1
        print("SOAK OK", flush=True)
        shutil.rmtree(work, ignore_errors=True)
        return 0
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        api.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--petdns", default=os.environ.get("PETDNS_BIN", str(REPO / "build" / "petdns")))
    p.add_argument("--seconds", type=float, default=180, help="duration (default 180)")
    p.add_argument("--warmup", type=float, default=10, help="seconds left out of the RSS check")
    p.add_argument("--services", type=int, default=300, help="ClusterIP services (queried)")
    p.add_argument("--churned", type=int, default=50, help="headless services whose "
                   "EndpointSlices are rewritten")
    p.add_argument("--churn", type=float, default=20, help="EndpointSlice updates per second")
    p.add_argument("--reload-every", type=float, default=10,
                   help="seconds between reloads (alternately a config edit and SIGHUP)")
    p.add_argument("--qps", type=int, default=500, help="query rate")
    p.add_argument("--load", choices=["auto", "python", "dnsperf"], default="auto",
                   help="dnsperf when installed (auto), else a Python UDP loop")
    p.add_argument("--reload-grace", type=float, default=0,
                   help="seconds after a reload in which SERVFAIL is counted apart instead of "
                   "failing the run (python load only; a known issue, see README.md)")
    p.add_argument("--fd-slack", type=float, default=2,
                   help="open descriptors the last third's floor may have above the first "
                   "third's")
    args = p.parse_args()
    args.petdns = os.path.abspath(args.petdns)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

"""Shared fixtures for the petdns end-to-end suite.

Each server runs the real binary on loopback with a config written into a
pytest tmp dir. Ports come from binding port 0 (UDP and TCP both free), the
server is polled until it answers (bounded), and always killed at teardown.
"""

import ctypes
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import threading
import time

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
TESTDATA = HERE / "testdata"

QUERY_TIMEOUT = 2.0   # every single query is bounded by this
START_TIMEOUT = 5.0   # a server must answer within this after start


def petdns_bin():
    env = os.environ.get("PETDNS_BIN")
    if env:
        return env
    found = sorted(REPO.glob("build*/petdns"), key=lambda p: p.stat().st_mtime, reverse=True)
    found = [p for p in found if os.access(p, os.X_OK)]
    if not found:
        pytest.exit("petdns binary not found: set PETDNS_BIN or build into build*/", 2)
    return str(found[0])


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (and ::1 when present)."""
    for _ in range(50):
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.bind(("127.0.0.1", 0))
        port = tcp.getsockname()[1]
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            udp.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            udp.close()
            tcp.close()
        if HAVE_IPV6:
            ok = True
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                s = socket.socket(socket.AF_INET6, kind)
                try:
                    s.bind(("::1", port))
                except OSError:
                    ok = False
                finally:
                    s.close()
            if not ok:
                continue
        return port
    raise RuntimeError("no free port")


def _ipv6_available():
    if not socket.has_ipv6:
        return False
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


HAVE_IPV6 = _ipv6_available()


class Server:
    """A running petdns process."""

    def __init__(self, proc, port, config, log_path, workdir):
        self.proc = proc
        self.port = port
        self.config = config
        self.log_path = log_path
        self.workdir = workdir
        self.host = "127.0.0.1"

    def log(self):
        return self.log_path.read_text(errors="replace")

    def udp(self, q, host=None, timeout=QUERY_TIMEOUT, **kw):
        return dns.query.udp(q, host or self.host, timeout=timeout, port=self.port, **kw)

    def tcp(self, q, host=None, timeout=QUERY_TIMEOUT, **kw):
        return dns.query.tcp(q, host or self.host, timeout=timeout, port=self.port, **kw)

    def query(self, name, rdtype="A", transport="udp", **make_kw):
        q = dns.message.make_query(name, rdtype, **make_kw)
        return getattr(self, transport)(q)

    def raw_udp(self, payload, timeout=1.0, host=None):
        """Send raw bytes over UDP; return the reply bytes or None on timeout."""
        fam = socket.AF_INET6 if (host or self.host) == "::1" else socket.AF_INET
        with socket.socket(fam, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(payload, (host or self.host, self.port))
            try:
                data, _ = s.recvfrom(65535)
                return data
            except socket.timeout:
                return None

    def tcp_connect(self, timeout=QUERY_TIMEOUT):
        s = socket.create_connection((self.host, self.port), timeout=timeout)
        s.settimeout(timeout)
        return s

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        q = dns.message.make_query("petdns-ready.invalid.", "A")
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"petdns exited with {self.proc.returncode}:\n{self.log()}")
            try:
                dns.query.udp(q, self.host, timeout=0.2, port=self.port)
                return
            except (dns.exception.Timeout, OSError):
                time.sleep(0.05)
        raise RuntimeError(f"petdns did not answer within {timeout}s:\n{self.log()}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=3)


def wait_for(predicate, timeout=5.0, interval=0.05, what="condition"):
    """Polls `predicate` until it is true (an exception counts as not yet). Returns True, or
    raises AssertionError naming `what` once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return True
        except Exception:  # noqa: BLE001 - keep polling until the deadline
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout:.1f}s")
        time.sleep(interval)


def copy_testdata(dest, *names):
    for name in names:
        shutil.copy(TESTDATA / name, dest / name)


def server_config(port, blocks, global_=None, ipv6=True):
    """TOML text. blocks: list of dicts with zones, path, and optional file keys."""
    listen = [f'"127.0.0.1:{port}"']
    if ipv6 and HAVE_IPV6:
        listen.append(f'"[::1]:{port}"')
    out = []
    if global_:
        out.append("[global]")
        out += [f"{k} = {v}" for k, v in global_.items()]
        out.append("")
    for b in blocks:
        out.append("[[server]]")
        out.append(f"listen = [{', '.join(listen)}]")
        out.append("zones = [" + ", ".join(f'"{z}"' for z in b["zones"]) + "]")
        out.append("[server.file]")
        for k, v in b.items():
            if k == "zones":
                continue
            out.append(f"{k} = {v}")
        out.append("")
    return "\n".join(out)


@pytest.fixture(scope="session")
def binary():
    return petdns_bin()


def _die_with_parent():
    """In the child: get SIGKILL when pytest dies, so no server outlives a killed run."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start_server(binary, workdir, config_text, wait=True):
    workdir = pathlib.Path(workdir)
    config = workdir / "petdns.toml"
    config.write_text(config_text)
    log_path = workdir / "petdns.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen([binary, "serve", "--config", str(config)],
                            stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
                            preexec_fn=_die_with_parent)
    log.close()
    port = int(config_text.split("127.0.0.1:")[1].split('"')[0])
    srv = Server(proc, port, config, log_path, workdir)
    if wait:
        try:
            srv.wait_ready()
        except Exception:
            srv.stop()
            raise
    return srv


def start_on_free_port(binary, workdir, make_config, wait=True, attempts=3):
    """start_server with a fresh port; retried if another process took the port meanwhile."""
    for attempt in range(attempts):
        try:
            return start_server(binary, workdir, make_config(free_port()), wait=wait)
        except RuntimeError as err:
            if attempt == attempts - 1 or "in use" not in str(err).lower():
                raise


def start_example_org(binary, workdir, global_toml=""):
    """petdns serving the example.org test zone on a free port, with /metrics on another
    (srv.metrics_port). `global_toml` ([global], [global.rrl] tables) comes first."""
    copy_testdata(workdir, "example.org.zone")
    metrics_port = free_port()

    def make(port):
        return f"""{global_toml}
[[server]]
listen = ["127.0.0.1:{port}"]
zones = ["example.org."]
[server.file]
path = "example.org.zone"
[server.metrics]
listen = "127.0.0.1:{metrics_port}"
"""
    srv = start_on_free_port(binary, workdir, make)
    srv.metrics_port = metrics_port
    return srv


def answer_of(msg, rdtype):
    """The sorted rdata texts of `msg`'s answer records of type `rdtype`."""
    t = dns.rdatatype.from_text(rdtype)
    return sorted(r.to_text() for rrset in msg.answer if rrset.rdtype == t for r in rrset)


class Prober:
    """Asks for every (name, type) of `records` ({(name, type): sorted rdata texts}) every
    20 ms on its own thread while a `with` block runs; anything but exactly that answer (a
    timeout, SERVFAIL, NXDOMAIN, other data) is a failure, and the block fails if any came."""

    def __init__(self, srv, records):
        self.srv, self.records = srv, records
        self.failures, self.queries = [], 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for (name, rdtype), want in self.records.items():
                try:
                    r = dns.query.udp(dns.message.make_query(name, rdtype), self.srv.host,
                                      port=self.srv.port, timeout=1.0)
                    got = answer_of(r, rdtype)
                    if r.rcode() != dns.rcode.NOERROR or got != want:
                        self.failures.append((time.monotonic(), name,
                                              dns.rcode.to_text(r.rcode()), got))
                except (dns.exception.DNSException, OSError) as err:
                    self.failures.append((time.monotonic(), name, type(err).__name__, None))
                self.queries += 1
            self._stop.wait(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        if exc[0] is None:
            assert self.queries > 0
            assert not self.failures, f"{len(self.failures)} of {self.queries} probes failed: " \
                                      f"{self.failures[:5]}\n{self.srv.log()[-3000:]}"


@pytest.fixture
def launch(binary, tmp_path):
    """Factory: launch(config_text_for_port) -> Server; all stopped at teardown."""
    servers = []

    def _launch(make_config, files=("example.org.zone",), wait=True):
        copy_testdata(tmp_path, *files)
        srv = start_on_free_port(binary, tmp_path, make_config, wait=wait)
        servers.append(srv)
        return srv

    _launch.tmp_path = tmp_path
    yield _launch
    for s in servers:
        s.stop()


def main_config(port):
    return server_config(port, [
        {"zones": ["example.org."], "path": '"example.org.zone"',
         "transfer_to": '["127.0.0.1/32", "::1/128"]'},
        {"zones": ["sub2.example.org."], "path": '"sub2.example.org.zone"'},
    ])


@pytest.fixture(scope="session")
def server(binary, tmp_path_factory):
    """One shared server with example.org. and sub2.example.org. on one address."""
    workdir = tmp_path_factory.mktemp("shared")
    copy_testdata(workdir, "example.org.zone", "sub2.example.org.zone")
    srv = start_on_free_port(binary, workdir, main_config)
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _server_still_alive(request):
    """After each test that used the shared server, it must still be running."""
    yield
    if "server" in request.fixturenames:
        srv = request.getfixturevalue("server")
        assert srv.proc.poll() is None, f"petdns died:\n{srv.log()}"


def run_tool(args, timeout=10):
    """Run dig/kdig; return stdout (asserting exit 0)."""
    tool = shutil.which(args[0])
    if tool is None:
        pytest.skip(f"{args[0]} not installed")
    res = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{args} -> {res.returncode}\n{res.stdout}\n{res.stderr}"
    return res.stdout


def rrsets_of(msg, section, rdtype=None):
    rrs = getattr(msg, section)
    if rdtype is not None:
        rrs = [r for r in rrs if r.rdtype == dns.rdatatype.from_text(rdtype)]
    return rrs

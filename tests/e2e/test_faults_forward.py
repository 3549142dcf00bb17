"""Fault injection, forward plugin: a fake upstream DNS server in Python (UDP and TCP on one port)
that answers correctly, then times out, sends garbage bytes, answers under the wrong ID, or cuts
its answer in the middle of a record; then answers correctly again.

Each case checks: names answered before the fault keep answering (the cache serves them stale
once their TTL ran out, `petdns_cache_served_stale_total` counts it); a new name gets SERVFAIL
within the timeout, never a broken message; the log says `IP:port: marked down after 2 failures
(last: REASON)`; `/metrics` shows attempts without valid responses and failed health probes; once
the upstream is sound again `IP:port: healthy again` is logged and new names resolve. With a good
second upstream no query fails at all.
"""
import re
import socket
import struct
import threading
import time

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rrset
import pytest

from conftest import free_port, wait_for
from test_metrics_health import http_get, parse_metrics, value

MODES = ["timeout", "garbage", "wrong_id", "truncated"]
REASONS = {"timeout": r"upstream timeout", "garbage": r"[^)]*", "wrong_id": r"[^)]*",
           "truncated": r"[^)]*"}


class FakeUpstream:
    """A DNS server on 127.0.0.1 (UDP and TCP, one port) whose behaviour can be switched:
    ok (A 192.0.2.1 for every name, TTL 1), timeout (silence), garbage (random bytes),
    wrong_id (a correct answer under another ID), truncated (the answer cut inside its record,
    TC clear)."""

    def __init__(self):
        self.mode = "ok"
        self.port = free_port()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.udp.settimeout(0.1)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(16)
        self.tcp.settimeout(0.1)
        self.received = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=f, daemon=True)
                         for f in (self._serve_udp, self._serve_tcp)]
        for t in self._threads:
            t.start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def reply(self, data):
        self.received += 1
        mode = self.mode
        if mode == "timeout":
            return None
        if mode == "garbage":
            return bytes((i * 37 + 11) & 0xFF for i in range(29))
        try:
            q = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None
        r = dns.message.make_response(q)
        r.answer.append(dns.rrset.from_text(q.question[0].name, 1, "IN", "A", "192.0.2.1"))
        wire = r.to_wire()
        if mode == "wrong_id":
            wire = struct.pack("!H", (q.id + 1) & 0xFFFF) + wire[2:]
        elif mode == "truncated":
            wire = wire[:-2]  # inside the A record's address
        return wire

    def _serve_udp(self):
        while not self._stop.is_set():
            try:
                data, peer = self.udp.recvfrom(4096)
            except (socket.timeout, OSError):
                continue
            out = self.reply(data)
            if out is not None:
                self.udp.sendto(out, peer)

    def _serve_tcp(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.tcp.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._serve_conn, args=(conn,), daemon=True).start()

    def _serve_conn(self, conn):
        conn.settimeout(3)
        try:
            head = conn.recv(2)
            if len(head) < 2:
                return
            need = struct.unpack("!H", head)[0]
            data = b""
            while len(data) < need:
                more = conn.recv(need - len(data))
                if not more:
                    return
                data += more
            out = self.reply(data)
            if out is None:
                time.sleep(3)  # hold the connection: the client must time out
                return
            conn.sendall(struct.pack("!H", len(out)) + out)
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(2)
        self.udp.close()
        self.tcp.close()


@pytest.fixture
def upstreams():
    made = []

    def make():
        u = FakeUpstream()
        made.append(u)
        return u
    yield make
    for u in made:
        u.stop()


def start_forwarder(launch, to, extra=""):
    metrics_port = free_port()
    listed = ", ".join(f'"{u.address}"' for u in to)

    def config(port):
        return (f'[[server]]\nlisten = ["127.0.0.1:{port}"]\nzones = ["."]\n'
                f'[server.forward]\nto = [{listed}]\ntimeout = "500ms"\nmax_fails = 2\n'
                f'health_check = "200ms"\npolicy = "sequential"\n{extra}\n'
                f'[server.metrics]\nlisten = "127.0.0.1:{metrics_port}"\n')
    srv = launch(config, files=())

    def metric(name, **labels):
        status, text = http_get(metrics_port, "/metrics")
        assert status == 200
        return value(parse_metrics(text)[1], name, **labels)
    srv.metric = metric
    return srv


def a_records(msg):
    return sorted(r.to_text() for rrset in msg.answer for r in rrset if rrset.rdtype == 1)


def ask(srv, name, transport="udp"):
    """The reply; a reply that does not parse fails the test (never relay a broken message)."""
    return srv.query(name, "A", transport)


@pytest.mark.parametrize("mode", MODES)
def test_bad_upstream_keeps_cached_names_and_recovers(launch, upstreams, mode):
    up = upstreams()
    srv = start_forwarder(launch, [up], extra='\n[server.cache]\nserve_stale = "1h"\n'
                                              'stale_ttl = "5s"\n')
    to = up.address
    for name in ("a.test.", "b.test."):
        assert a_records(ask(srv, name)) == ["192.0.2.1"]
    responses = srv.metric("petdns_forward_responses_total", to=to)

    up.mode = mode
    time.sleep(1.2)  # the cached answers (TTL 1) expire
    for transport in ("udp", "tcp"):
        for name in ("a.test.", "b.test."):
            r = ask(srv, name, transport)
            assert r.rcode() == dns.rcode.NOERROR and a_records(r) == ["192.0.2.1"], \
                f"{name} {transport}: {r}\n{srv.log()}"
    started = time.monotonic()
    r = ask(srv, "new.test.")
    assert r.rcode() == dns.rcode.SERVFAIL, r
    assert time.monotonic() - started < 1.9  # one timeout of 500 ms (+ the probe's share)
    r = ask(srv, "new.test.", "tcp")
    assert r.rcode() == dns.rcode.SERVFAIL, r
    pattern = rf"{re.escape(to)}: marked down after \d+ failures \(last: {REASONS[mode]}\)"
    wait_for(lambda: re.search(pattern, srv.log()), what=f"/{pattern}/ in\n{srv.log()}")
    wait_for(lambda: srv.metric("petdns_forward_healthcheck_failures_total", to=to) >= 1,
             what="failed probes counted")
    assert srv.metric("petdns_forward_responses_total", to=to) == responses
    assert srv.metric("petdns_forward_requests_total", to=to) > responses
    assert srv.metric("petdns_cache_served_stale_total") >= 4

    up.mode = "ok"
    wait_for(lambda: f"{to}: healthy again" in srv.log(), what=f"healthy again:\n{srv.log()}")
    assert a_records(ask(srv, "new.test.")) == ["192.0.2.1"]
    assert a_records(ask(srv, "other.test.", "tcp")) == ["192.0.2.1"]
    assert srv.proc.poll() is None


@pytest.mark.parametrize("mode", MODES)
def test_bad_first_upstream_fails_over_without_a_failed_query(launch, upstreams, mode):
    bad, good = upstreams(), upstreams()
    srv = start_forwarder(launch, [bad, good])
    assert a_records(ask(srv, "warm.test.")) == ["192.0.2.1"]
    bad.mode = mode
    for i in range(6):
        for transport in ("udp", "tcp"):
            r = ask(srv, f"n{i}.{transport}.test.", transport)
            assert r.rcode() == dns.rcode.NOERROR and a_records(r) == ["192.0.2.1"], r
    assert re.search(rf"{re.escape(bad.address)}: marked down after \d+ failures", srv.log())
    # Once down, the bad upstream is skipped: no more query waits for it.
    started = time.monotonic()
    assert a_records(ask(srv, "fast.test.")) == ["192.0.2.1"]
    assert time.monotonic() - started < 0.4
    bad.mode = "ok"
    wait_for(lambda: f"{bad.address}: healthy again" in srv.log(), what="healthy again")

"""TCP framing, pipelining, idle timeout (rule 13) and IPv6 loopback (rule 14)."""

import socket
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

import wire
from conftest import HAVE_IPV6, server_config


def framed(qname, rdtype="A", qid=None):
    q = dns.message.make_query(qname, rdtype)
    if qid is not None:
        q.id = qid
    return q, wire.tcp_frame(q.to_wire())


def read_reply(sock):
    return dns.message.from_wire(wire.recv_frame(sock))


def test_pipelined_queries_in_one_write_get_all_answers(server):
    names = {0x1001: ("www.example.org.", "192.0.2.10"),
             0x1002: ("mail.example.org.", "192.0.2.25"),
             0x1003: ("ns1.example.org.", "192.0.2.1")}
    with server.tcp_connect() as s:
        s.sendall(b"".join(framed(n, qid=i)[1] for i, (n, _) in names.items()))
        got = {}
        for _ in names:
            r = read_reply(s)
            got[r.id] = r
    assert set(got) == set(names)  # replies may come in any order; IDs match
    for qid, (qname, addr) in names.items():
        r = got[qid]
        assert r.question[0].name.to_text() == qname
        assert [rd.to_text() for rd in r.answer[0]] == [addr]


def test_two_pipelined_queries_same_name_distinct_ids(server):
    with server.tcp_connect() as s:
        _, a = framed("www.example.org.", qid=7)
        _, b = framed("www.example.org.", "AAAA", qid=8)
        s.sendall(a + b)
        replies = {r.id: r for r in (read_reply(s), read_reply(s))}
    assert set(replies) == {7, 8}
    assert replies[7].answer[0].rdtype == dns.rdatatype.A
    assert replies[8].answer[0].rdtype == dns.rdatatype.AAAA


@pytest.mark.parametrize("split_at", [1, 2, 7, -3])
def test_query_split_across_writes(server, split_at):
    q, data = framed("www.example.org.")
    with server.tcp_connect() as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(data[:split_at])
        time.sleep(0.15)
        s.sendall(data[split_at:])
        r = read_reply(s)
    assert r.id == q.id
    assert [rd.to_text() for rd in r.answer[0]] == ["192.0.2.10"]


def test_sequential_queries_reuse_one_connection(server):
    with server.tcp_connect() as s:
        for i in range(20):
            q, data = framed("www.example.org.", qid=i)
            s.sendall(data)
            r = read_reply(s)
            assert r.id == i and r.rcode() == dns.rcode.NOERROR


def test_large_answer_over_tcp_in_pipeline(server):
    with server.tcp_connect() as s:
        s.sendall(framed("bigtxt.example.org.", "TXT", qid=1)[1] + framed("www.example.org.", qid=2)[1])
        replies = {r.id: r for r in (read_reply(s), read_reply(s))}
    assert len(replies[1].answer[0]) == 60
    assert len(replies[2].answer[0]) == 1


def test_idle_timeout_closes_idle_connection(launch):
    srv = launch(lambda port: server_config(port, [
        {"zones": ["example.org."], "path": '"example.org.zone"'}],
        global_={"tcp_idle_timeout": '"1s"'}))
    with srv.tcp_connect(timeout=5.0) as s:
        s.sendall(framed("www.example.org.")[1])
        read_reply(s)
        start = time.monotonic()
        s.settimeout(5.0)
        try:
            data = s.recv(1)
        except ConnectionResetError:
            data = b""
        elapsed = time.monotonic() - start
    assert data == b"", "server must close, not send"
    assert 0.7 <= elapsed <= 3.0, f"closed after {elapsed:.2f}s, idle timeout is 1s"


def test_idle_timeout_spares_active_connection(launch):
    srv = launch(lambda port: server_config(port, [
        {"zones": ["example.org."], "path": '"example.org.zone"'}],
        global_={"tcp_idle_timeout": '"1s"'}))
    with srv.tcp_connect(timeout=3.0) as s:
        for i in range(6):  # 6 x 0.4 s = 2.4 s in all, never 1 s idle
            s.sendall(framed("www.example.org.", qid=i)[1])
            assert read_reply(s).id == i
            time.sleep(0.4)


def test_idle_connection_before_first_query_is_closed(launch):
    srv = launch(lambda port: server_config(port, [
        {"zones": ["example.org."], "path": '"example.org.zone"'}],
        global_={"tcp_idle_timeout": '"1s"'}))
    with srv.tcp_connect(timeout=5.0) as s:
        s.sendall(b"\x00")  # half a length prefix, then nothing
        start = time.monotonic()
        try:
            data = s.recv(1)
        except ConnectionResetError:
            data = b""
        assert data == b""
        assert time.monotonic() - start <= 3.0
    # And the server is fine.
    assert srv.query("www.example.org.", "A", "tcp").rcode() == dns.rcode.NOERROR


def test_tcp_max_connections_closes_the_extra_connection(launch):
    srv = launch(lambda port: server_config(port, [
        {"zones": ["example.org."], "path": '"example.org.zone"'}],
        global_={"tcp_max_connections": "2"}))
    conns = [srv.tcp_connect() for _ in range(3)]
    try:
        for i in range(2):
            conns[i].sendall(framed("www.example.org.", qid=i)[1])
            assert read_reply(conns[i]).id == i
        conns[2].sendall(framed("www.example.org.", qid=2)[1])
        with pytest.raises((ConnectionError, OSError)):
            read_reply(conns[2])  # over the limit: closed without an answer
        conns[0].close()
        time.sleep(0.2)
        # A slot is free again.
        assert srv.query("www.example.org.", "A", "tcp").rcode() == dns.rcode.NOERROR
    finally:
        for c in conns:
            c.close()


def test_zero_length_frame_gets_no_reply(server):
    with server.tcp_connect() as s:
        s.settimeout(0.5)
        s.sendall(b"\x00\x00")
        try:
            data = s.recv(100)  # closed (b"") or silent (timeout): both fine, a reply is not
        except (ConnectionResetError, socket.timeout):
            data = b""
        assert data == b""
    assert server.query("www.example.org.", "A", "tcp").rcode() == dns.rcode.NOERROR


# --- rule 14: IPv6 --------------------------------------------------------

@pytest.mark.skipif(not HAVE_IPV6, reason="::1 is not available")
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_ipv6_loopback_answers(server, transport):
    r = getattr(server, transport)(dns.message.make_query("www.example.org.", "AAAA"), host="::1")
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AA
    assert [rd.to_text() for rd in r.answer[0]] == ["2001:db8::10"]


@pytest.mark.skipif(not HAVE_IPV6, reason="::1 is not available")
@pytest.mark.parametrize("zone", ["example.org.",        # transfer_to lists ::1/128
                                  "sub2.example.org."])  # default transfer_to includes ::1
def test_ipv6_axfr_allowed_by_transfer_to(server, zone):
    msgs = list(dns.query.xfr("::1", zone, port=server.port, timeout=2.0, lifetime=10.0))
    assert msgs and msgs[0].answer[0].rdtype == dns.rdatatype.SOA


@pytest.mark.skipif(not HAVE_IPV6, reason="::1 is not available")
def test_ipv6_with_dig(server):
    import re
    from conftest import run_tool
    out = run_tool(["dig", "-6", "-p", str(server.port), "@::1", "+norec", "+time=2", "+tries=1",
                    "ns2.example.org", "AAAA"])
    assert re.search(r"^ns2\.example\.org\.\s+3600\s+IN\s+AAAA\s+2001:db8::2$", out, re.M), out
    assert "SERVER: ::1#" in out


def test_hundred_pipelined_queries(server):
    with server.tcp_connect(timeout=5.0) as s:
        s.sendall(b"".join(framed("www.example.org.", qid=i)[1] for i in range(100)))
        ids = sorted(read_reply(s).id for _ in range(100))
    assert ids == list(range(100))

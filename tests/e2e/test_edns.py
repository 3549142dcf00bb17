"""EDNS0 (RFC 6891): OPT echo, payload, DO, BADVERS and malformed OPT use (rule 6)."""

import re

import dns.flags
import dns.message
import dns.rcode
import pytest

import wire
from conftest import run_tool

TRANSPORTS = ["udp", "tcp"]


def send_raw(server, transport, payload):
    if transport == "udp":
        return server.raw_udp(payload, timeout=wire.QUERY_TIMEOUT)
    return wire.raw_tcp(server.host, server.port, payload)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("client_payload", [512, 1232, 4096])
def test_opt_echoed_with_server_payload(server, transport, client_payload):
    r = server.query("www.example.org.", "A", transport, use_edns=0, payload=client_payload)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.edns == 0, "response must carry an OPT record (version 0)"
    assert r.payload == 1232  # the server's udp_max_payload, not the client's
    assert len(r.answer) == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_no_opt_in_response_without_opt_in_query(server, transport):
    r = server.query("www.example.org.", "A", transport)
    assert r.edns == -1
    assert [rr for rr in r.additional if rr.rdtype == 41] == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_do_bit_echoed(server, transport):
    r = server.query("www.example.org.", "A", transport, want_dnssec=True)
    assert r.edns == 0
    assert r.ednsflags & dns.flags.DO
    r = server.query("www.example.org.", "A", transport, use_edns=0)
    assert r.edns == 0
    assert not r.ednsflags & dns.flags.DO


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("version", [1, 255])
def test_unknown_edns_version_is_badvers(server, transport, version):
    # make_query(use_edns=1) would send version 0 (1 == True in dnspython 2.3).
    q = dns.message.make_query("www.example.org.", "A")
    q.use_edns(edns=version)
    assert q.to_wire()[-5] == version  # OPT TTL: ext-rcode, VERSION, flags; rdlen
    r = getattr(server, transport)(q)
    assert r.rcode() == dns.rcode.BADVERS  # extended rcode 16: header 0 + OPT high bits 1
    assert r.edns == 0, "BADVERS must carry an OPT with the version the server speaks"
    assert r.answer == []
    assert not r.flags & dns.flags.AA


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("packet", [
    pytest.param(wire.header(ar=2) + wire.question() + wire.opt_rr() + wire.opt_rr(), id="two-opt"),
    pytest.param(wire.header(an=1) + wire.question() + wire.opt_rr(), id="opt-in-answer"),
    pytest.param(wire.header(ns=1) + wire.question() + wire.opt_rr(), id="opt-in-authority"),
    pytest.param(wire.header(ar=1) + wire.question() + wire.opt_rr(owner=b"\xc0\x0c"),
                 id="opt-owner-not-root"),
])
def test_misplaced_or_duplicate_opt_is_formerr(server, transport, packet):
    data = send_raw(server, transport, packet)
    assert data is not None, "expected a FORMERR reply"
    h = wire.parse_header(data)
    assert h["id"] == 0x1234 and h["qr"]
    assert h["rcode"] == dns.rcode.FORMERR
    assert h["an"] == 0
    # The server still answers afterwards.
    assert server.query("www.example.org.", "A", transport).rcode() == dns.rcode.NOERROR


def test_edns_with_dig(server):
    out = run_tool(["dig", "-p", str(server.port), "@127.0.0.1", "+norec", "+time=2", "+tries=1",
                    "+bufsize=4096", "+dnssec", "+nocookie", "www.example.org", "A"])
    assert re.search(r"EDNS: version: 0, flags: do; udp: 1232", out), out
    assert "status: NOERROR" in out


def test_badvers_with_kdig(server):
    out = run_tool(["kdig", "-p", str(server.port), "@127.0.0.1", "+norec", "+timeout=2",
                    "+retry=0", "+edns=1", "www.example.org", "A"])
    assert "status: BADVERS" in out, out

"""Malformed packets, bad counts, opcodes and classes (rules 8 and 9)."""

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import pytest

import wire

TRANSPORTS = ["udp", "tcp"]

FORMERR_PACKETS = [
    pytest.param(wire.header(qd=0), id="qdcount-0"),
    pytest.param(wire.header(qd=2) + wire.question() + wire.question("mail.example.org."),
                 id="qdcount-2"),
    pytest.param(wire.header(), id="header-only"),
    pytest.param(wire.header() + wire.question()[:8], id="truncated-qname"),
    pytest.param(wire.header() + wire.question()[:-2], id="truncated-qclass"),
    pytest.param(wire.header() + b"\xc0\x0c\x00\x01\x00\x01", id="pointer-loop-self"),
    pytest.param(wire.header() + b"\x01a\xc0\x0c\x00\x01\x00\x01", id="pointer-loop-two-hops"),
    pytest.param(wire.header() + b"\xc0\x40\x00\x01\x00\x01", id="pointer-past-end"),
    pytest.param(wire.header() + bytes([64]) + b"a" * 64 + b"\x00\x00\x01\x00\x01", id="label-64"),
    pytest.param(wire.header() + bytes([0x80]) + b"a" * 10 + b"\x00\x00\x01\x00\x01",
                 id="label-type-10"),
    pytest.param(wire.header() + (bytes([63]) + b"a" * 63) * 4 + b"\x00\x00\x01\x00\x01",
                 id="name-over-255"),
    pytest.param(wire.header(an=3) + wire.question(), id="ancount-lies"),
    pytest.param(wire.header(ns=2) + wire.question(), id="nscount-lies"),
    pytest.param(wire.header(ar=1) + wire.question(), id="arcount-lies"),
    pytest.param(wire.header(ar=1) + wire.question() + wire.opt_rr()[:-3], id="truncated-opt"),
]


def send_raw(server, transport, payload):
    if transport == "udp":
        return server.raw_udp(payload, timeout=wire.QUERY_TIMEOUT)
    return wire.raw_tcp(server.host, server.port, payload)


def assert_still_answers(server, transport="udp"):
    r = server.query("www.example.org.", "A", transport)
    assert r.rcode() == dns.rcode.NOERROR
    assert [rd.to_text() for rd in r.answer[0]] == ["192.0.2.10"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("packet", FORMERR_PACKETS)
def test_malformed_query_is_formerr(server, transport, packet):
    data = send_raw(server, transport, packet)
    assert data is not None, "expected a FORMERR reply, got none"
    h = wire.parse_header(data)
    assert h["id"] == 0x1234
    assert h["qr"]
    assert h["rcode"] == dns.rcode.FORMERR
    assert h["an"] == 0 and h["ns"] == 0
    assert_still_answers(server, transport)


@pytest.mark.parametrize("packet", [
    pytest.param(b"", id="empty"),
    pytest.param(b"\x12", id="1-byte"),
    pytest.param(wire.header()[:11], id="11-bytes"),
    pytest.param(wire.header(flags=0x8000) + wire.question(), id="qr-set"),
    pytest.param(wire.header(flags=0x8000, qd=0), id="qr-set-header-only"),
    pytest.param(wire.header(flags=0x8000 | (4 << 11)) + wire.question(), id="qr-set-notify"),
])
def test_runt_or_response_packet_gets_no_reply_udp(server, packet):
    assert server.raw_udp(packet, timeout=0.5) is None
    assert_still_answers(server)


@pytest.mark.parametrize("packet", [
    pytest.param(wire.header()[:11], id="11-bytes"),
    pytest.param(wire.header(flags=0x8000) + wire.question(), id="qr-set"),
])
def test_runt_or_response_packet_gets_no_reply_tcp(server, packet):
    import socket
    with server.tcp_connect() as s:
        s.settimeout(0.5)
        s.sendall(wire.tcp_frame(packet))
        try:
            data = s.recv(65535)
        except socket.timeout:
            data = b""
        except ConnectionResetError:
            data = b""
        assert data == b"", f"unexpected reply {data!r}"
    assert_still_answers(server, "tcp")


def test_many_bad_packets_then_good_query(server):
    for p in FORMERR_PACKETS:
        server.raw_udp(p.values[0], timeout=0.2)
    for junk in (b"\xff" * 12, b"\x00" * 512, bytes(range(256)) * 4):
        server.raw_udp(junk, timeout=0.2)
    assert_still_answers(server)
    assert_still_answers(server, "tcp")


# --- rule 9: opcodes and classes ------------------------------------------

@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("opcode", [dns.opcode.IQUERY, dns.opcode.STATUS, dns.opcode.NOTIFY,
                                    dns.opcode.UPDATE])
def test_other_opcodes_are_notimp(server, transport, opcode):
    q = dns.message.make_query("example.org.", "SOA")
    q.set_opcode(opcode)
    r = getattr(server, transport)(q)
    assert r.rcode() == dns.rcode.NOTIMP
    assert r.opcode() == opcode, "opcode must be echoed"
    assert r.id == q.id
    assert r.answer == []
    assert_still_answers(server, transport)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("opcode", [3, 7, 15])
def test_unassigned_opcodes_are_notimp(server, transport, opcode):
    data = send_raw(server, transport, wire.header(flags=opcode << 11) + wire.question())
    assert data is not None
    h = wire.parse_header(data)
    assert h["id"] == 0x1234 and h["qr"]
    assert h["opcode"] == opcode
    assert h["rcode"] == dns.rcode.NOTIMP
    assert h["an"] == 0
    assert_still_answers(server, transport)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("rdclass", [dns.rdataclass.CH, dns.rdataclass.HS, dns.rdataclass.NONE])
def test_other_classes_are_refused(server, transport, rdclass):
    for qname, qtype in (("www.example.org.", "A"), ("version.bind.", "TXT")):
        q = dns.message.make_query(qname, qtype, rdclass)
        r = getattr(server, transport)(q)
        assert r.rcode() == dns.rcode.REFUSED, r.to_text()
        assert r.answer == []
        assert r.question[0].rdclass == rdclass


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_qclass_any_is_answered(server, transport):
    q = dns.message.make_query("www.example.org.", "A", dns.rdataclass.ANY)
    r = getattr(server, transport)(q)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AA
    assert len(r.answer) == 1
    assert r.answer[0].rdclass == dns.rdataclass.IN
    assert [rd.to_text() for rd in r.answer[0]] == ["192.0.2.10"]

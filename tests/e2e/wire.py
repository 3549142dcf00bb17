"""Hand-made DNS packets for the malformed-input and EDNS tests."""

import socket
import struct

import dns.message
import dns.rcode

QUERY_TIMEOUT = 2.0


def header(qid=0x1234, flags=0x0000, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def name(text):
    out = b""
    for label in text.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def question(qname="www.example.org.", qtype=1, qclass=1):
    return name(qname) + struct.pack("!HH", qtype, qclass)


def opt_rr(payload=1232, ext_rcode=0, version=0, flags=0, owner=b"\x00", rdata=b""):
    ttl = (ext_rcode << 24) | (version << 16) | flags
    return owner + struct.pack("!HHIH", 41, payload, ttl, len(rdata)) + rdata


def a_rr(owner=b"\xc0\x0c", addr="192.0.2.1", ttl=60):
    return owner + struct.pack("!HHIH", 1, 1, ttl, 4) + socket.inet_aton(addr)


def parse_header(data):
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", data[:12])
    return {
        "id": qid, "qr": bool(flags & 0x8000), "opcode": (flags >> 11) & 0xF,
        "aa": bool(flags & 0x0400), "tc": bool(flags & 0x0200), "rd": bool(flags & 0x0100),
        "rcode": flags & 0xF, "qd": qd, "an": an, "ns": ns, "ar": ar,
    }


def tcp_frame(payload):
    return struct.pack("!H", len(payload)) + payload


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def recv_frame(sock):
    (length,) = struct.unpack("!H", recv_exact(sock, 2))
    return recv_exact(sock, length)


def raw_tcp(host, port, payload, timeout=QUERY_TIMEOUT):
    """One framed query over a fresh TCP connection; the reply bytes, or None if
    the server closed the connection without answering."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(tcp_frame(payload))
        try:
            return recv_frame(s)
        except ConnectionError:
            return None


def full_rcode(data):
    """rcode including the EDNS extended bits (parses the message)."""
    return dns.message.from_wire(data).rcode()

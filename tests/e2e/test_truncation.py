"""UDP truncation: TC at an RRset boundary, full answer over TCP (rule 7)."""

import re

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from conftest import run_tool


def udp_raw(server, q):
    """Send q over UDP; return (wire bytes, parsed message). Parsing must succeed:
    a truncated reply is still a well-formed message."""
    data = server.raw_udp(q.to_wire(), timeout=2.0)
    assert data is not None, "no UDP reply"
    return data, dns.message.from_wire(data)


def rrset_sizes(msg, section="answer"):
    return {(rr.name.to_text().lower(), rr.rdtype): len(rr) for rr in getattr(msg, section)}


def assert_whole_rrsets(truncated, full):
    """Every RRset present in the truncated reply is complete (as over TCP)."""
    full_sizes = {}
    for section in ("answer", "authority", "additional"):
        full_sizes.update(rrset_sizes(full, section))
    for section in ("answer", "authority", "additional"):
        for key, n in rrset_sizes(truncated, section).items():
            if key[1] == dns.rdatatype.OPT:
                continue
            assert key in full_sizes, f"{key} not in the full answer"
            assert n == full_sizes[key], f"partial RRset {key}: {n} of {full_sizes[key]} records"


@pytest.mark.parametrize("qname,rdtype,edns,limit,records", [
    ("bigA.example.org.", "A", None, 512, 60),         # ~1 KB: over 512
    ("bigtxt.example.org.", "TXT", 1232, 1232, 60),    # ~4 KB: over 1232
    ("bigtxt.example.org.", "TXT", 512, 512, 60),      # EDNS payload below 512 counts as 512
    # The client offers 4096 but the server's udp_max_payload (1232) caps the reply.
    ("midtxt.example.org.", "TXT", 4096, 1232, 25),
])
def test_oversized_udp_answer_is_truncated_and_tcp_has_it_all(server, qname, rdtype, edns, limit,
                                                            records):
    kw = {} if edns is None else {"use_edns": 0, "payload": edns}
    q = dns.message.make_query(qname, rdtype, **kw)
    data, r = udp_raw(server, q)
    assert r.flags & dns.flags.TC, "TC must be set"
    assert len(data) <= limit
    assert r.id == q.id
    assert r.question[0].name.to_text() == qname
    full = server.tcp(q)
    assert not full.flags & dns.flags.TC
    assert full.rcode() == dns.rcode.NOERROR
    assert len(full.answer) == 1 and len(full.answer[0]) == records
    assert_whole_rrsets(r, full)
    # Either no records of the RRset, or all of them (which cannot fit here).
    assert sum(len(rr) for rr in r.answer) == 0


def test_cname_plus_big_rrset_truncates_at_rrset_boundary(server):
    q = dns.message.make_query("bigalias.example.org.", "TXT")  # no EDNS: 512
    data, r = udp_raw(server, q)
    assert r.flags & dns.flags.TC
    assert len(data) <= 512
    full = server.tcp(q)
    assert [rr.rdtype for rr in full.answer] == [dns.rdatatype.CNAME, dns.rdatatype.TXT]
    assert len(full.answer[1]) == 60
    assert_whole_rrsets(r, full)
    # The CNAME may stay; the TXT RRset must be gone entirely.
    assert [rr.rdtype for rr in r.answer] in ([], [dns.rdatatype.CNAME])


@pytest.mark.parametrize("qname,rdtype,edns", [
    ("bigA.example.org.", "A", 1232),        # ~1 KB fits in 1232
    ("www.example.org.", "TXT", None),
    ("example.org.", "NS", None),
])
def test_answer_that_fits_is_not_truncated(server, qname, rdtype, edns):
    kw = {} if edns is None else {"use_edns": 0, "payload": edns}
    q = dns.message.make_query(qname, rdtype, **kw)
    data, r = udp_raw(server, q)
    assert not r.flags & dns.flags.TC
    assert r.rcode() == dns.rcode.NOERROR
    assert r.answer == server.tcp(q).answer
    if qname.startswith("bigA"):
        assert len(r.answer[0]) == 60
        assert len(data) > 512


def test_dig_retries_over_tcp_and_gets_full_answer(server):
    out = run_tool(["dig", "-p", str(server.port), "@127.0.0.1", "+norec", "+time=2", "+tries=1",
                    "+noedns", "bigA.example.org", "A"])
    assert "Truncated, retrying in TCP mode" in out, out
    assert re.search(r"ANSWER: 60,", out), out
    addrs = re.findall(r"^bigA\.example\.org\.\s+\d+\s+IN\s+A\s+(\S+)$", out, re.M)
    assert sorted(addrs) == sorted(f"10.0.0.{i}" for i in range(1, 61))
    assert re.search(r"\(TCP\)", out), out


def test_dig_ignore_shows_tc_flag(server):
    out = run_tool(["dig", "-p", str(server.port), "@127.0.0.1", "+norec", "+time=2", "+tries=1",
                    "+ignore", "+bufsize=1232", "+nocookie", "bigtxt.example.org", "TXT"])
    flags = re.search(r";; flags: ([a-z ]+);", out).group(1).split()
    assert "tc" in flags, out


def test_kdig_falls_back_to_tcp(server):
    out = run_tool(["kdig", "-p", str(server.port), "@127.0.0.1", "+norec", "+timeout=2",
                    "+retry=0", "bigtxt.example.org", "TXT"])
    assert re.search(r"ANSWER: 60;", out), out
    assert "(TCP)" in out, out

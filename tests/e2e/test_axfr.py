"""Zone transfer (AXFR) over TCP, refused over UDP and to unlisted clients (rule 11)."""

import re

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest

from conftest import TESTDATA, run_tool, server_config


def zone_from_testdata(name):
    return dns.zone.from_file(str(TESTDATA / f"{name}zone"), origin=name, relativize=False)


def xfr_rrsets(server, zone, host=None):
    """All RRsets of an AXFR, in the order received, over as many messages as sent."""
    out = []
    for msg in dns.query.xfr(host or server.host, zone, port=server.port, timeout=2.0,
                             lifetime=10.0, relativize=False):
        assert msg.rcode() == dns.rcode.NOERROR
        out.extend(msg.answer)
    return out


def records(rrsets):
    return sorted((rr.name.to_text().lower(), rr.rdtype, rd.to_text())
                  for rr in rrsets for rd in rr)


@pytest.mark.parametrize("zone", ["example.org.", "sub2.example.org."])
def test_axfr_over_tcp_has_soa_first_and_last_and_every_record(server, zone):
    rrsets = xfr_rrsets(server, zone)
    assert rrsets[0].rdtype == dns.rdatatype.SOA
    assert rrsets[-1].rdtype == dns.rdatatype.SOA
    assert rrsets[0].name == rrsets[-1].name == dns.name.from_text(zone)
    assert rrsets[0] == rrsets[-1]
    body = rrsets[1:-1]
    assert all(rr.rdtype != dns.rdatatype.SOA for rr in body), "SOA only at the ends"
    expected = zone_from_testdata(zone)
    want = sorted((name.to_text().lower(), rd.rdtype, rd.to_text())
                  for name, _ttl, rd in expected.iterate_rdatas() if rd.rdtype != dns.rdatatype.SOA)
    assert records(body) == want
    # TTLs too: every record keeps its TTL.
    for rr in body:
        assert rr.ttl == expected.find_rdataset(rr.name, rr.rdtype).ttl


def test_axfr_with_dnspython_zone_from_xfr(server):
    got = dns.zone.from_xfr(dns.query.xfr(server.host, "example.org.", port=server.port,
                                          timeout=2.0, lifetime=10.0, relativize=False),
                             relativize=False)
    expected = zone_from_testdata("example.org.")
    assert got == expected
    assert got.get_rdataset("bigtxt.example.org.", "TXT") is not None
    assert len(got.get_rdataset("bigtxt.example.org.", "TXT")) == 60


def test_axfr_with_dig(server):
    out = run_tool(["dig", "-p", str(server.port), "@127.0.0.1", "+time=2", "+tries=1",
                    "example.org", "AXFR"])
    lines = [l for l in out.splitlines() if l and not l.startswith(";")]
    assert "Transfer failed" not in out, out
    assert lines[0].split()[3] == "SOA" and lines[-1].split()[3] == "SOA", out
    total = len(list(zone_from_testdata("example.org.").iterate_rdatas()))
    assert len(lines) == total + 1  # SOA appears twice
    m = re.search(r"XFR size: (\d+) records", out)
    assert m and int(m.group(1)) == total + 1, out
    assert any(re.match(r"^www\.example\.org\.\s+3600\s+IN\s+A\s+192\.0\.2\.10$", l) for l in lines)


def test_axfr_with_kdig(server):
    out = run_tool(["kdig", "-p", str(server.port), "@127.0.0.1", "+timeout=2", "+retry=0",
                    "sub2.example.org", "AXFR"])
    lines = [l for l in out.splitlines() if l and not l.startswith(";")]
    types = [l.split()[3] for l in lines]
    assert types[0] == "SOA" and types[-1] == "SOA", out
    assert sorted(types[1:-1]) == ["A", "A", "NS"]


def test_axfr_over_udp_is_refused(server):
    q = dns.message.make_query("example.org.", "AXFR")
    r = server.udp(q)
    assert r.rcode() == dns.rcode.REFUSED or sum(len(rr) for rr in r.answer) <= 1, r.to_text()
    assert r.rcode() == dns.rcode.REFUSED


def test_axfr_refused_when_client_not_in_transfer_to(launch):
    srv = launch(lambda port: server_config(port, [
        {"zones": ["example.org."], "path": '"example.org.zone"',
         "transfer_to": '["192.0.2.0/24", "2001:db8::/32"]'}]))
    r = srv.tcp(dns.message.make_query("example.org.", "AXFR"))
    assert r.rcode() == dns.rcode.REFUSED
    assert r.answer == []
    with pytest.raises(dns.query.TransferError):
        list(dns.query.xfr(srv.host, "example.org.", port=srv.port, timeout=2.0, lifetime=5.0))
    out = run_tool(["dig", "-p", str(srv.port), "@127.0.0.1", "+time=2", "+tries=1",
                    "example.org", "AXFR"])
    assert "Transfer failed" in out, out
    # Ordinary queries still work for that client.
    assert srv.query("www.example.org.", "A", "tcp").rcode() == dns.rcode.NOERROR

"""Zone transfer (AXFR) over TCP, refused over UDP and to unlisted clients (rule 11)."""

import re

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest

import wire
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
    # REFUSED, or at least never the zone: at most its SOA.
    assert r.rcode() == dns.rcode.REFUSED or (
        sum(len(rr) for rr in r.answer) <= 1 and all(rr.rdtype == dns.rdatatype.SOA
                                                     for rr in r.answer)), r.to_text()


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


def test_axfr_of_large_zone_spans_messages_of_at_most_16k(launch):
    # ~3000 records, ~130 KB: more than one message, more than one 64 KiB TCP frame.
    lines = ["$ORIGIN big.test.", "$TTL 300",
             "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300", "@ IN NS ns1", "ns1 IN A 192.0.2.1"]
    lines += [f'h{i:04d} IN TXT "host number {i:04d} with some padding to make the record longer"'
              for i in range(3000)]
    (launch.tmp_path / "big.test.zone").write_text("\n".join(lines) + "\n")
    srv = launch(lambda port: server_config(port, [
        {"zones": ["big.test."], "path": '"big.test.zone"'}]), files=())
    sizes, rrsets = raw_axfr(srv, "big.test.")
    assert len(sizes) > 1, "a 130 KB zone cannot fit one message"
    assert max(sizes) <= 16384, sizes  # messages of up to 16 KiB
    assert rrsets[0].rdtype == dns.rdatatype.SOA and rrsets[-1].rdtype == dns.rdatatype.SOA
    names = {rr.name.to_text() for rr in rrsets[1:-1] if rr.rdtype == dns.rdatatype.TXT}
    assert len(names) == 3000
    assert sum(1 for rr in rrsets for _ in rr) == 3000 + 2 + 2  # TXT + NS + A + SOA twice


def raw_axfr(srv, zone):
    """AXFR over one raw TCP connection: (wire size of each message, all RRsets in order)."""
    q = dns.message.make_query(zone, "AXFR")
    sizes, rrsets, soas = [], [], 0
    with srv.tcp_connect(timeout=5.0) as s:
        s.sendall(wire.tcp_frame(q.to_wire()))
        while soas < 2:
            frame = wire.recv_frame(s)
            msg = dns.message.from_wire(frame, xfr=True)
            assert msg.id == q.id and msg.rcode() == dns.rcode.NOERROR
            sizes.append(len(frame))
            rrsets.extend(msg.answer)
            soas += sum(1 for rr in msg.answer if rr.rdtype == dns.rdatatype.SOA)
            assert len(sizes) < 1000
    return sizes, rrsets


def ixfr_query(serial):
    q = dns.message.make_query("example.org.", "IXFR")
    q.authority.append(dns.rrset.from_text(
        "example.org.", 0, "IN", "SOA", f"ns1.example.org. hostmaster.example.org. {serial} 1 1 1 1"))
    return q


def test_ixfr_over_udp_returns_just_the_soa(server):
    r = server.udp(ixfr_query(1))
    assert r.rcode() == dns.rcode.NOERROR
    assert len(r.answer) == 1 and r.answer[0].rdtype == dns.rdatatype.SOA
    assert len(r.answer[0]) == 1 and r.answer[0][0].serial == 2026112201


def test_ixfr_over_tcp_is_a_full_transfer(server):
    rrsets = []
    for msg in dns.query.xfr(server.host, "example.org.", rdtype="IXFR", serial=1, port=server.port,
                             timeout=2.0, lifetime=10.0, relativize=False):
        assert msg.rcode() == dns.rcode.NOERROR
        rrsets.extend(msg.answer)
    assert rrsets[0].rdtype == dns.rdatatype.SOA and rrsets[-1].rdtype == dns.rdatatype.SOA
    expected = zone_from_testdata("example.org.")
    assert records(rrsets[1:-1]) == sorted(
        (n.to_text().lower(), rd.rdtype, rd.to_text())
        for n, _t, rd in expected.iterate_rdatas() if rd.rdtype != dns.rdatatype.SOA)


def test_axfr_of_a_name_that_is_not_a_zone_apex_is_not_a_transfer(server):
    r = server.tcp(dns.message.make_query("www.example.org.", "AXFR"))
    assert r.rcode() in (dns.rcode.NOTAUTH, dns.rcode.REFUSED, dns.rcode.FORMERR,
                         dns.rcode.NOTIMP), r.to_text()
    assert r.answer == []

"""Authoritative answers: AA, case, negative answers, CNAMEs, wildcards,
delegations, ANY, and routing between [[server]] blocks (rules 1-5, 10, 12)."""

import re

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

from conftest import run_tool

TRANSPORTS = ["udp", "tcp"]


def answer_text(msg):
    """Answer section as sorted (owner, type, rdata) strings, owner lower-cased."""
    out = []
    for rrset in msg.answer:
        for rd in rrset:
            out.append(f"{rrset.name.to_text().lower()} {dns.rdatatype.to_text(rrset.rdtype)} {rd.to_text()}")
    return sorted(out)


def soa_only_authority(msg, zone):
    """Authority holds exactly one SOA record of zone; returns it."""
    assert len(msg.authority) == 1, msg.to_text()
    rrset = msg.authority[0]
    assert rrset.rdtype == dns.rdatatype.SOA, msg.to_text()
    assert len(rrset) == 1, msg.to_text()
    assert rrset.name == dns.name.from_text(zone)
    return rrset


# --- rule 1: AA and case --------------------------------------------------

@pytest.mark.parametrize("transport", TRANSPORTS)
def test_aa_set_on_authoritative_answer(server, transport):
    r = server.query("www.example.org.", "A", transport)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AA
    assert r.flags & dns.flags.QR
    assert answer_text(r) == ["www.example.org. A 192.0.2.10"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_question_case_echoed_in_question_and_owner(server, transport):
    qname = "WwW.ExAmPlE.oRg."
    r = server.query(qname, "A", transport)
    assert r.flags & dns.flags.AA
    # dns.name comparisons are case-insensitive: compare the text.
    assert r.question[0].name.to_text() == qname
    assert len(r.answer) == 1
    assert r.answer[0].name.to_text() == qname
    assert [rd.to_text() for rd in r.answer[0]] == ["192.0.2.10"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("qname", ["ChAiN.example.org.", "X.ApPs.ExAmPlE.OrG."])
def test_case_echoed_on_cname_and_wildcard_owner(server, transport, qname):
    r = server.query(qname, "A", transport)
    assert r.question[0].name.to_text() == qname
    assert r.answer[0].name.to_text() == qname


def test_case_echoed_with_dig(server):
    out = run_tool(["dig", "-p", str(server.port), "@127.0.0.1", "+norec", "+time=2", "+tries=1",
                    "WwW.ExAmPlE.oRg", "A"])
    assert re.search(r"flags: qr aa;", out), out
    assert re.search(r"^;WwW\.ExAmPlE\.oRg\.\s+IN\s+A$", out, re.M), out
    assert re.search(r"^WwW\.ExAmPlE\.oRg\.\s+3600\s+IN\s+A\s+192\.0\.2\.10$", out, re.M), out


# --- rule 2: negative answers ---------------------------------------------

@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("qname,rdtype,rcode", [
    ("nope.example.org.", "A", dns.rcode.NXDOMAIN),
    ("www.example.org.", "MX", dns.rcode.NOERROR),        # NODATA
    ("b.c.example.org.", "A", dns.rcode.NOERROR),         # empty non-terminal
    ("c.example.org.", "TXT", dns.rcode.NOERROR),         # empty non-terminal
])
def test_negative_answer_has_one_soa_with_min_ttl(server, transport, qname, rdtype, rcode):
    r = server.query(qname, rdtype, transport)
    assert r.rcode() == rcode, r.to_text()
    assert r.flags & dns.flags.AA
    assert r.answer == []
    soa = soa_only_authority(r, "example.org.")
    assert soa.ttl == 300  # min(SOA TTL 3600, MINIMUM 300)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_negative_ttl_is_soa_ttl_when_smaller_than_minimum(server, transport):
    r = server.query("nope.sub2.example.org.", "A", transport)
    assert r.rcode() == dns.rcode.NXDOMAIN
    soa = soa_only_authority(r, "sub2.example.org.")
    assert soa.ttl == 60  # min(SOA TTL 60, MINIMUM 600)


def test_empty_non_terminal_is_nodata_with_kdig(server):
    out = run_tool(["kdig", "-p", str(server.port), "@127.0.0.1", "+norec", "+timeout=2",
                    "+retry=0", "b.c.example.org", "A"])
    assert "status: NOERROR" in out, out
    assert re.search(r"^example\.org\.\s+300\s+IN\s+SOA\s", out, re.M), out


# --- rule 3: CNAMEs -------------------------------------------------------

@pytest.mark.parametrize("transport", TRANSPORTS)
def test_in_zone_cname_chain_followed(server, transport):
    r = server.query("chain.example.org.", "A", transport)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AA
    assert answer_text(r) == sorted([
        "chain.example.org. CNAME alias.example.org.",
        "alias.example.org. CNAME www.example.org.",
        "www.example.org. A 192.0.2.10",
    ])
    # The chain is in order: each CNAME before its target.
    assert [str(rr.name).lower() for rr in r.answer] == [
        "chain.example.org.", "alias.example.org.", "www.example.org."]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_cname_to_out_of_zone_target_returns_just_the_cname(server, transport):
    r = server.query("outside.example.org.", "A", transport)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AA
    assert answer_text(r) == ["outside.example.org. CNAME www.example.net."]
    assert r.authority == []


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("qname,expected", [
    ("loop1.example.org.", ["loop1.example.org. CNAME loop2.example.org.",
                            "loop2.example.org. CNAME loop1.example.org."]),
    ("self.example.org.", ["self.example.org. CNAME self.example.org."]),
])
def test_cname_loop_terminates(server, transport, qname, expected):
    r = server.query(qname, "A", transport)
    assert r.rcode() in (dns.rcode.NOERROR, dns.rcode.SERVFAIL), r.to_text()
    assert answer_text(r) == sorted(expected)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_cname_to_missing_in_zone_name_is_nxdomain_with_cname(server, transport):
    r = server.query("dangling.example.org.", "A", transport)
    assert r.rcode() == dns.rcode.NXDOMAIN  # RFC 6604: rcode of the last name
    assert r.flags & dns.flags.AA
    assert answer_text(r) == ["dangling.example.org. CNAME missing.example.org."]
    soa_only_authority(r, "example.org.")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_cname_query_for_cname_type_is_not_followed(server, transport):
    r = server.query("chain.example.org.", "CNAME", transport)
    assert answer_text(r) == ["chain.example.org. CNAME alias.example.org."]


def test_cname_chain_with_dig_tcp(server):
    out = run_tool(["dig", "-p", str(server.port), "@127.0.0.1", "+tcp", "+norec", "+time=2",
                    "+tries=1", "+short", "chain.example.org", "A"])
    assert out.split() == ["alias.example.org.", "www.example.org.", "192.0.2.10"]


# --- rule 4: wildcards ----------------------------------------------------

@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("qname", ["anything.apps.example.org.", "AnyThing.Apps.example.org.",
                                   "deep.er.apps.example.org."])
def test_wildcard_synthesises_with_query_name_as_owner(server, transport, qname):
    r = server.query(qname, "A", transport)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AA
    assert len(r.answer) == 1
    assert r.answer[0].name.to_text() == qname  # never "*.apps"
    assert [rd.to_text() for rd in r.answer[0]] == ["192.0.2.80"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_wildcard_nodata_for_other_type(server, transport):
    r = server.query("anything.apps.example.org.", "TXT", transport)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.answer == []
    soa_only_authority(r, "example.org.")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_name_under_existing_empty_non_terminal_does_not_match_higher_wildcard(server, transport):
    # ent.apps exists (as an ENT, because of host.ent.apps); the closest encloser of
    # foo.ent.apps is ent.apps, which has no *.ent.apps -> NXDOMAIN, not *.apps.
    r = server.query("foo.ent.apps.example.org.", "A", transport)
    assert r.rcode() == dns.rcode.NXDOMAIN, r.to_text()
    assert r.answer == []
    soa_only_authority(r, "example.org.")
    # And the ENT itself is NODATA, not a wildcard match.
    r = server.query("ent.apps.example.org.", "A", transport)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.answer == []
    soa_only_authority(r, "example.org.")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_wildcard_does_not_apply_to_existing_names(server, transport):
    r = server.query("real.apps.example.org.", "A", transport)
    assert answer_text(r) == ["real.apps.example.org. A 192.0.2.82"]
    r = server.query("real.apps.example.org.", "AAAA", transport)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.answer == []  # NODATA, not the wildcard's (absent) AAAA nor its A
    soa_only_authority(r, "example.org.")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_wildcard_cname_is_synthesised_and_followed(server, transport):
    r = server.query("q.wild.example.org.", "A", transport)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.answer[0].name.to_text() == "q.wild.example.org."
    assert answer_text(r) == sorted(["q.wild.example.org. CNAME www.example.org.",
                                     "www.example.org. A 192.0.2.10"])


def test_wildcard_with_kdig(server):
    out = run_tool(["kdig", "-p", str(server.port), "@127.0.0.1", "+norec", "+timeout=2",
                    "+retry=0", "Zed.apps.example.org", "A"])
    assert "status: NOERROR" in out
    assert re.search(r"Flags: qr aa;", out), out
    # kdig prints names lower-cased, so only the synthesised data is checked here.
    assert re.search(r"^zed\.apps\.example\.org\.\s+3600\s+IN\s+A\s+192\.0\.2\.80$", out,
                     re.M | re.I), out


# --- rule 5: delegation ---------------------------------------------------

@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("qname,rdtype", [
    ("sub.example.org.", "A"),
    ("sub.example.org.", "NS"),
    ("www.sub.example.org.", "A"),
    ("a.b.c.sub.example.org.", "AAAA"),
])
def test_delegation_gives_referral_with_glue(server, transport, qname, rdtype):
    r = server.query(qname, rdtype, transport)
    assert r.rcode() == dns.rcode.NOERROR, r.to_text()
    assert not r.flags & dns.flags.AA, "referral must not be authoritative"
    assert r.answer == []
    assert len(r.authority) == 1
    ns = r.authority[0]
    assert ns.rdtype == dns.rdatatype.NS and ns.name == dns.name.from_text("sub.example.org.")
    assert [rd.to_text() for rd in ns] == ["ns.sub.example.org."]
    glue = [rr for rr in r.additional if rr.rdtype == dns.rdatatype.A]
    assert len(glue) == 1 and glue[0].name == dns.name.from_text("ns.sub.example.org.")
    assert [rd.to_text() for rd in glue[0]] == ["192.0.2.53"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_ds_at_cut_answered_by_parent(server, transport):
    r = server.query("sub.example.org.", "DS", transport)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AA
    assert r.answer == []
    soa_only_authority(r, "example.org.")


def test_referral_with_dig(server):
    out = run_tool(["dig", "-p", str(server.port), "@127.0.0.1", "+norec", "+time=2", "+tries=1",
                    "host.sub.example.org", "A"])
    flags = re.search(r";; flags: ([a-z ]+);", out).group(1).split()
    assert "aa" not in flags, out
    assert re.search(r"ANSWER: 0, AUTHORITY: 1", out), out
    assert re.search(r"^sub\.example\.org\.\s+\d+\s+IN\s+NS\s+ns\.sub\.example\.org\.$", out, re.M)
    assert re.search(r"^ns\.sub\.example\.org\.\s+\d+\s+IN\s+A\s+192\.0\.2\.53$", out, re.M)


# --- rule 10: ANY ---------------------------------------------------------

@pytest.mark.parametrize("transport", TRANSPORTS)
def test_qtype_any_returns_one_rrset(server, transport):
    # www has A, AAAA and TXT; RFC 8482 lets us return just one of them.
    r = server.query("www.example.org.", "ANY", transport)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AA
    assert len(r.answer) == 1, r.to_text()
    rrset = r.answer[0]
    assert rrset.name == dns.name.from_text("www.example.org.")
    full = server.query("www.example.org.", rrset.rdtype, transport)
    assert full.answer[0] == rrset  # a whole RRset, not a part


# --- rule 12: routing between blocks --------------------------------------

@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("qname", ["example.com.", "org.", ".", "example.org.example.net."])
def test_name_in_no_zone_is_refused(server, transport, qname):
    r = server.query(qname, "A", transport)
    assert r.rcode() == dns.rcode.REFUSED
    assert not r.flags & dns.flags.AA
    assert r.answer == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_longest_zone_wins(server, transport):
    # The example.org. zone also has www.sub2 (192.0.2.99); the sub2 block must win.
    r = server.query("www.sub2.example.org.", "A", transport)
    assert r.flags & dns.flags.AA
    assert answer_text(r) == ["www.sub2.example.org. A 198.51.100.2"]
    r = server.query("sub2.example.org.", "SOA", transport)
    assert [rd.serial for rd in r.answer[0]] == [7]
    r = server.query("example.org.", "SOA", transport)
    assert [rd.serial for rd in r.answer[0]] == [2026112201]
    r = server.query("www.example.org.", "A", transport)
    assert answer_text(r) == ["www.example.org. A 192.0.2.10"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_apex_records(server, transport):
    r = server.query("example.org.", "NS", transport)
    assert answer_text(r) == ["example.org. NS ns1.example.org.", "example.org. NS ns2.example.org."]
    r = server.query("example.org.", "MX", transport)
    assert answer_text(r) == ["example.org. MX 10 mail.example.org."]
    r = server.query("_http._tcp.example.org.", "SRV", transport)
    assert answer_text(r) == ["_http._tcp.example.org. SRV 0 10 80 www.example.org."]


# --- additional-section processing (README: SRV/MX/NS targets' addresses) --

@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("qname,rdtype,additional", [
    ("_http._tcp.example.org.", "SRV", ["www.example.org. A 192.0.2.10",
                                        "www.example.org. AAAA 2001:db8::10"]),
    ("example.org.", "MX", ["mail.example.org. A 192.0.2.25"]),
    ("example.org.", "NS", ["ns1.example.org. A 192.0.2.1", "ns2.example.org. A 192.0.2.2",
                            "ns2.example.org. AAAA 2001:db8::2"]),
])
def test_additional_section_has_target_addresses(server, transport, qname, rdtype, additional):
    r = server.query(qname, rdtype, transport)
    assert r.flags & dns.flags.AA
    got = sorted(f"{rr.name.to_text().lower()} {dns.rdatatype.to_text(rr.rdtype)} {rd.to_text()}"
                 for rr in r.additional for rd in rr)
    assert got == sorted(additional)

"""The hosts, log and errors plugins on the real binary: hosts file and inline entries over UDP
and TCP (A, AAAA, PTR), reload on change, fallthrough to a file zone, CoreDNS-style query log
lines with class filters, the errors plugin's rate limit, and every README TOML example of the
three plugins passing `petdns check`."""

import re
import signal
import subprocess
import time
import urllib.request

import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from conftest import HAVE_IPV6, REPO, TESTDATA, free_port, wait_for

HOSTS = """# test hosts file
10.0.0.1    db.example.org db
2001:db8::1 db.example.org
10.0.0.2    web.example.org
not-an-ip   broken.example.org
"""


def config(port, hosts_table, extra="", zones='"example.org.", "in-addr.arpa.", "ip6.arpa."',
           file_zone=False):
    listen = [f'"127.0.0.1:{port}"'] + ([f'"[::1]:{port}"'] if HAVE_IPV6 else [])
    out = ["[[server]]", f"listen = [{', '.join(listen)}]", f"zones = [{zones}]",
           "[server.hosts]", hosts_table]
    if file_zone:
        out += ["[server.file]", 'path = "example.org.zone"', 'origin = "example.org."']
    out.append(extra)
    return "\n".join(out) + "\n"


def write_hosts(launch, text=HOSTS):
    (launch.tmp_path / "hosts").write_text(text)


def answers(msg):
    return sorted(rr.to_text() for rrset in msg.answer for rr in rrset)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_hosts_file_and_inline_entries(launch, transport):
    write_hosts(launch)
    srv = launch(lambda p: config(p, 'path = "hosts"\nttl = 60\n'
                                  'entries = ["192.0.2.50 inline.example.org"]'))
    r = srv.query("db.example.org.", "A", transport)
    assert r.rcode() == dns.rcode.NOERROR and answers(r) == ["10.0.0.1"]
    assert r.answer[0].ttl == 60
    assert answers(srv.query("db.example.org.", "AAAA", transport)) == ["2001:db8::1"]
    assert answers(srv.query("inline.example.org.", "A", transport)) == ["192.0.2.50"]
    assert answers(srv.query("2.0.0.10.in-addr.arpa.", "PTR", transport)) == ["web.example.org."]
    assert answers(srv.query("50.2.0.192.in-addr.arpa.", "PTR", transport)) == \
        ["inline.example.org."]
    v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."
    assert answers(srv.query(v6, "PTR", transport)) == ["db.example.org."]
    nodata = srv.query("web.example.org.", "AAAA", transport)
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer and not nodata.authority
    assert srv.query("nope.example.org.", "A", transport).rcode() == dns.rcode.NXDOMAIN
    assert re.search(r"hosts:5: invalid address 'not-an-ip'", srv.log())


def test_hosts_file_edit_is_picked_up_within_the_reload_interval(launch):
    write_hosts(launch)
    srv = launch(lambda p: config(p, 'path = "hosts"\nreload = "200ms"'))
    assert answers(srv.query("web.example.org.")) == ["10.0.0.2"]
    time.sleep(0.05)  # a new mtime even on coarse-grained file systems
    write_hosts(launch, "10.0.0.3 web.example.org\n10.0.0.4 new.example.org\n")
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and answers(srv.query("web.example.org.")) != ["10.0.0.3"]:
        time.sleep(0.05)
    assert answers(srv.query("web.example.org.")) == ["10.0.0.3"]
    assert answers(srv.query("new.example.org.")) == ["10.0.0.4"]
    assert srv.query("db.example.org.").rcode() == dns.rcode.NXDOMAIN


def test_hosts_sighup_reloads_when_polling_is_off(launch):
    write_hosts(launch)
    srv = launch(lambda p: config(p, 'path = "hosts"\nreload = "0s"'))
    write_hosts(launch, "10.0.0.7 web.example.org\n")
    time.sleep(0.3)
    assert answers(srv.query("web.example.org.")) == ["10.0.0.2"]  # no polling
    srv.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: answers(srv.query("web.example.org.")) == ["10.0.0.7"])


def test_hosts_metrics(launch):
    write_hosts(launch)
    mport = free_port()
    srv = launch(lambda p: config(p, 'path = "hosts"',
                                  extra=f'[server.metrics]\nlisten = "127.0.0.1:{mport}"'))
    if "not available in this build" in srv.log():
        pytest.skip("metrics plugin not in this build")
    text = ""
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and "petdns_hosts_entries" not in text:
        try:
            text = urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=1).read()
            text = text.decode()
        except OSError:
            time.sleep(0.05)
    m = re.search(r'^petdns_hosts_entries\{[^}]*\} (\S+)$', text, re.M)
    assert m and float(m.group(1)) == 3, text  # db A, db AAAA, web A ("db." is outside)
    m = re.search(r'^petdns_hosts_reload_timestamp_seconds\{[^}]*\} (\S+)$', text, re.M)
    assert m and abs(float(m.group(1)) - time.time()) < 60


def test_fallthrough_to_a_file_zone(launch):
    write_hosts(launch)
    srv = launch(lambda p: config(p, 'path = "hosts"\nfallthrough = true', zones='"example.org."',
                                  file_zone=True))
    assert answers(srv.query("db.example.org.")) == ["10.0.0.1"]  # hosts first
    r = srv.query("www.example.org.", "A", "tcp")  # not in hosts: the file zone answers
    assert answers(r) == ["192.0.2.10"]
    nx = srv.query("nope.example.org.")
    assert nx.rcode() == dns.rcode.NXDOMAIN and nx.authority  # file zone's NXDOMAIN with SOA


LINE = re.compile(r'\[INFO\] (\S+):(\d+) - (\d+) "(\S+) IN (\S+) (udp|tcp) (\d+) (true|false) '
                  r'(\d+)" (\S+) (\S+) (\d+) (\d+\.\d+)s')


def log_lines(srv, name):
    return [m for m in LINE.finditer(srv.log()) if m.group(5) == name]



def test_log_lines_have_coredns_fields(launch):
    write_hosts(launch)
    srv = launch(lambda p: config(p, 'path = "hosts"', extra="[server.log]"))
    q = dns.message.make_query("DB.example.org.", "A", use_edns=0, payload=1232, want_dnssec=True)
    r = srv.tcp(q)
    assert wait_for(lambda: log_lines(srv, "db.example.org."))
    m = log_lines(srv, "db.example.org.")[0]
    assert m.group(1) == "127.0.0.1"
    assert int(m.group(3)) == q.id
    assert m.group(4) == "A" and m.group(6) == "tcp"
    assert int(m.group(7)) == len(q.to_wire())
    assert m.group(8) == "true" and m.group(9) == "1232"
    assert m.group(10) == "NOERROR" and m.group(11) == "qr,aa,rd"
    assert int(m.group(12)) == len(r.to_wire())
    srv.query("nope.example.org.", "AAAA")
    assert wait_for(lambda: log_lines(srv, "nope.example.org."))
    m = log_lines(srv, "nope.example.org.")[0]
    assert m.group(10) == "NXDOMAIN" and m.group(6) == "udp" and m.group(9) == "512"


def test_log_class_filter(launch):
    write_hosts(launch)
    srv = launch(lambda p: config(p, 'path = "hosts"', extra='[server.log]\nclasses = ["denial"]'))
    srv.query("db.example.org.")                    # success: not logged
    srv.query("nope.example.org.")                  # NXDOMAIN: denial
    srv.query("web.example.org.", "AAAA")           # NODATA: denial
    assert wait_for(lambda: log_lines(srv, "web.example.org."))
    assert log_lines(srv, "nope.example.org.")
    assert not log_lines(srv, "db.example.org.")
    assert not log_lines(srv, "petdns-ready.invalid.")  # REFUSED is an error


def test_errors_plugin_rate_limit(launch):
    write_hosts(launch)
    # A PTR without entries goes past hosts to the end of the chain: SERVFAIL.
    srv = launch(lambda p: config(p, 'path = "hosts"',
                                  extra='[server.errors]\nlimit = 3\ninterval = "1s"'))
    for i in range(10):
        assert srv.query(f"{i}.9.9.9.in-addr.arpa.", "PTR").rcode() == dns.rcode.SERVFAIL
    assert wait_for(lambda: "7 more errors suppressed" in srv.log(), timeout=3)
    reported = re.findall(r"\[ERROR\] plugin/errors: 2 \d\.9\.9\.9\.in-addr\.arpa\. PTR",
                          srv.log())
    assert len(reported) == 3


def readme_blocks():
    out = []
    for name in ("hosts", "log", "errors"):
        readme = REPO / "plugins" / name / "README.md"
        for i, block in enumerate(re.findall(r"```toml\n(.*?)```", readme.read_text(), re.S)):
            if "[[server]]" in block:
                out.append(pytest.param(block, id=f"{name}-{i}"))
    return out


@pytest.mark.parametrize("block", readme_blocks())
def test_readme_examples_pass_check(binary, tmp_path, block):
    for path in re.findall(r'path\s*=\s*"([^"/][^"]*)"', block):
        dest = tmp_path / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        src = TESTDATA / "example.org.zone"
        dest.write_text(src.read_text() if path.endswith(".zone") else HOSTS)
    (tmp_path / "petdns.toml").write_text(block)
    res = subprocess.run([binary, "check", "--config", str(tmp_path / "petdns.toml")],
                         capture_output=True, text=True, timeout=10)
    assert res.returncode == 0, f"{block}\n{res.stderr}"

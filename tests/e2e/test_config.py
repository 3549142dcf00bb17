"""Configuration that changes what is served: udp_max_payload, default_ttl, origin,
start-up with bad data, and the file plugin README's TOML examples."""

import re
import subprocess

import dns.flags
import dns.message
import dns.rcode
import pytest

from conftest import REPO, TESTDATA, copy_testdata, server_config


def test_udp_max_payload_is_advertised_and_used(launch):
    srv = launch(lambda port: server_config(port, [
        {"zones": ["example.org."], "path": '"example.org.zone"'}],
        global_={"udp_max_payload": "4096"}))
    q = dns.message.make_query("midtxt.example.org.", "TXT", use_edns=0, payload=4096)
    r = srv.udp(q)
    assert r.payload == 4096
    assert not r.flags & dns.flags.TC  # ~1.7 KB fits in 4096
    assert len(r.answer[0]) == 25
    # The client's smaller size still wins.
    q = dns.message.make_query("midtxt.example.org.", "TXT", use_edns=0, payload=1232)
    data = srv.raw_udp(q.to_wire())
    assert len(data) <= 1232
    assert dns.message.from_wire(data).flags & dns.flags.TC


def test_default_ttl_and_origin(launch):
    zone = launch.tmp_path / "other.zone"
    zone.write_text("@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
                    "@ IN NS ns1\n"
                    "ns1 IN A 192.0.2.1\n"
                    "$TTL 60\n"
                    "late IN A 192.0.2.2\n")
    srv = launch(lambda port: server_config(port, [
        {"zones": ["example.org.", "example.net."], "path": '"other.zone"',
         "origin": '"example.net."', "default_ttl": "1234"}]), files=())
    r = srv.query("ns1.example.net.", "A")
    assert r.answer[0].ttl == 1234  # before any $TTL line
    r = srv.query("late.example.net.", "A")
    assert r.answer[0].ttl == 60
    # example.org. is in the block's zones but has no data: not an answer from example.net.
    r = srv.query("ns1.example.org.", "A")
    assert r.answer == []


def test_serve_refuses_to_start_with_broken_zone(binary, tmp_path):
    copy_testdata(tmp_path, "example.org.zone")
    zone = tmp_path / "example.org.zone"
    lines = zone.read_text().splitlines()
    lines[19] = "www IN A 192.0.2.300"
    zone.write_text("\n".join(lines) + "\n")
    (tmp_path / "petdns.toml").write_text(server_config(1, [
        {"zones": ["example.org."], "path": '"example.org.zone"'}], ipv6=False))
    res = subprocess.run([binary, "serve", "--config", str(tmp_path / "petdns.toml")],
                         capture_output=True, text=True, timeout=10)
    assert res.returncode != 0
    assert re.search(r"example\.org\.zone:20:", res.stderr), res.stderr


def readme_examples():
    out = []
    for readme in sorted((REPO / "plugins").glob("*/README.md")):
        for i, block in enumerate(re.findall(r"```toml\n(.*?)```", readme.read_text(), re.S)):
            if "[[server]]" in block:
                out.append(pytest.param(readme, block, id=f"{readme.parent.name}-{i}"))
    return out or [pytest.param(None, None, marks=pytest.mark.skip("no plugin README"))]


# Only the file plugin's README for now: other plugins' examples need their own fixtures.
@pytest.mark.parametrize("readme,block", [p for p in readme_examples()
                                          if p.id is None or p.id.startswith("file-")] or
                         [pytest.param(None, None, marks=pytest.mark.skip("no file README"))])
def test_plugin_readme_example_passes_check(binary, tmp_path, readme, block):
    for path in re.findall(r'path\s*=\s*"([^"]+\.zone)"', block):
        dest = tmp_path / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text((TESTDATA / "example.org.zone").read_text())
    (tmp_path / "petdns.toml").write_text(block)
    res = subprocess.run([binary, "check", "--config", str(tmp_path / "petdns.toml")],
                         capture_output=True, text=True, timeout=10)
    assert res.returncode == 0, f"{readme}:\n{block}\n{res.stderr}"

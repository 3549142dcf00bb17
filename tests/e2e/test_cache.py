"""The cache plugin in front of a zone file: repeated answers come from the cache with TTLs that
count down, a reloaded zone shows through only after the (capped) TTL, denials are capped at
denial_ttl, and the README's TOML examples pass `petdns check`."""

import re
import subprocess
import time

import dns.message
import dns.rcode
import pytest

from conftest import HAVE_IPV6, REPO, TESTDATA, wait_for

ZONE = "example.org.zone"


def cache_config(cache, reload="200ms"):
    def make(port):
        listen = [f'"127.0.0.1:{port}"'] + ([f'"[::1]:{port}"'] if HAVE_IPV6 else [])
        lines = ["[[server]]", f"listen = [{', '.join(listen)}]", 'zones = ["example.org."]',
                 "[server.cache]"]
        lines += [f"{k} = {v}" for k, v in cache.items()]
        lines += ["[server.file]", f'path = "{ZONE}"', f'reload = "{reload}"', ""]
        return "\n".join(lines)
    return make


def answer(srv, name, rdtype="A", transport="udp"):
    r = srv.query(name, rdtype, transport)
    assert r.rcode() == dns.rcode.NOERROR, r
    return [rd.to_text() for rd in r.answer[0]], r.answer[0].ttl



def edit(srv, old, new):
    path = srv.workdir / ZONE
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_ttl_counts_down_between_queries(launch, transport):
    srv = launch(cache_config({"success_ttl": '"3600s"'}))
    first, ttl1 = answer(srv, "www.example.org.", "A", transport)
    time.sleep(1.1)
    second, ttl2 = answer(srv, "www.example.org.", "A", transport)
    assert first == second == ["192.0.2.10"]
    assert ttl1 == 3600 and 3597 <= ttl2 < ttl1


def test_cached_answer_outlives_reload_until_capped_ttl(launch):
    srv = launch(cache_config({"success_ttl": '"3s"', "prefetch": "0"}))
    assert answer(srv, "www.example.org.")[0] == ["192.0.2.10"]
    start = time.monotonic()
    edit(srv, "www     IN A    192.0.2.10", "www     IN A    192.0.2.99")
    edit(srv, "mail    IN A    192.0.2.25", "mail    IN A    192.0.2.26")
    # mail was never cached: once it changes, the reload has happened.
    assert wait_for(lambda: answer(srv, "mail.example.org.")[0] == ["192.0.2.26"], 5)
    if time.monotonic() - start < 2.5:
        got, ttl = answer(srv, "www.example.org.")
        assert got == ["192.0.2.10"] and ttl <= 3  # still the cached copy
    assert wait_for(lambda: answer(srv, "www.example.org.")[0] == ["192.0.2.99"], 5)
    assert time.monotonic() - start <= 5


def test_denials_are_capped_at_denial_ttl(launch):
    srv = launch(cache_config({"denial_ttl": '"2s"'}))
    r = srv.query("new-pet.example.org.", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert r.authority[0].ttl == 300  # a miss passes the chain's answer through unchanged
    cached = srv.query("new-pet.example.org.", "A")
    assert cached.rcode() == dns.rcode.NXDOMAIN
    assert cached.authority[0].ttl <= 2  # from the cache: capped at denial_ttl
    path = srv.workdir / ZONE
    path.write_text(path.read_text() + "new-pet IN A 192.0.2.77\n")
    assert wait_for(lambda: srv.query("new-pet.example.org.", "A").rcode() == dns.rcode.NOERROR,
                    5)


def test_question_case_and_id_are_the_askers(launch):
    srv = launch(cache_config({}))
    srv.query("www.example.org.", "A")
    q = dns.message.make_query("WwW.ExAmPlE.oRg.", "A")
    r = srv.udp(q)
    assert r.id == q.id
    assert r.question[0].name.to_text() == "WwW.ExAmPlE.oRg."
    assert [rd.to_text() for rd in r.answer[0]] == ["192.0.2.10"]


def readme_blocks():
    text = (REPO / "plugins" / "cache" / "README.md").read_text()
    return [b for b in re.findall(r"```toml\n(.*?)```", text, re.S) if "[[server]]" in b]


@pytest.mark.parametrize("block", readme_blocks())
def test_readme_example_passes_check(binary, tmp_path, block):
    for path in re.findall(r'path\s*=\s*"([^"]+\.zone)"', block):
        (tmp_path / path).write_text((TESTDATA / ZONE).read_text())
    (tmp_path / "petdns.toml").write_text(block)
    res = subprocess.run([binary, "check", "--config", str(tmp_path / "petdns.toml")],
                         capture_output=True, text=True, timeout=10)
    assert res.returncode == 0, res.stderr

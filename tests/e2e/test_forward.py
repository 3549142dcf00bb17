"""The forward plugin against real upstreams: petdns A serves example.org. from a file, petdns B
forwards "." to it (and serves sub2.example.org. itself). UDP and TCP, TC from A retried over TCP,
A gone → SERVFAIL within the timeout, a black-hole upstream first → failover, README examples."""

import re
import socket
import subprocess
import time

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from conftest import (REPO, QUERY_TIMEOUT, copy_testdata, server_config,
                      start_on_free_port)


def forwarder_config(port, upstreams, extra=""):
    to = ", ".join(f'"{u}"' for u in upstreams)
    return (f'[[server]]\nlisten = ["127.0.0.1:{port}"]\nzones = ["."]\n'
            f'[server.forward]\nto = [{to}]\n{extra}\n'
            f'[[server]]\nlisten = ["127.0.0.1:{port}"]\nzones = ["sub2.example.org."]\n'
            f'[server.file]\npath = "sub2.example.org.zone"\n')


@pytest.fixture
def servers(binary, tmp_path):
    """start(name, make_config, wait=True) -> Server, each in its own folder; all stopped after."""
    started = []

    def start(name, make_config, wait=True):
        work = tmp_path / name
        work.mkdir()
        copy_testdata(work, "example.org.zone", "sub2.example.org.zone")
        srv = start_on_free_port(binary, work, make_config, wait=wait)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


def upstream(servers, global_=None):
    return servers("a", lambda port: server_config(
        port, [{"zones": ["example.org."], "path": '"example.org.zone"'}], global_=global_,
        ipv6=False))


def wait_answer(srv, name, timeout=5.0):
    """Polls (each query bounded) until srv answers; for servers started with wait=False."""
    deadline = time.monotonic() + timeout
    q = dns.message.make_query(name, "A")
    while time.monotonic() < deadline:
        assert srv.proc.poll() is None, srv.log()
        try:
            return dns.query.udp(q, srv.host, timeout=QUERY_TIMEOUT, port=srv.port)
        except (dns.exception.Timeout, OSError):
            time.sleep(0.05)
    raise AssertionError(f"no answer within {timeout}s:\n{srv.log()}")


def test_forwards_over_udp_and_tcp(servers):
    a = upstream(servers)
    b = servers("b", lambda port: forwarder_config(port, [f"127.0.0.1:{a.port}"]))
    for transport in ("udp", "tcp"):
        q = dns.message.make_query("WWW.Example.ORG.", "A")
        r = getattr(b, transport)(q)
        assert r.id == q.id
        assert r.rcode() == dns.rcode.NOERROR
        assert [rr.to_text() for rr in r.answer[0]] == ["192.0.2.10"], transport
        assert r.flags & dns.flags.AA  # A's answer, relayed as is
        nx = b.query("nope.example.org.", transport=transport)
        assert nx.rcode() == dns.rcode.NXDOMAIN and nx.authority
    # The block with the longer zone is still served by B itself.
    assert b.query("www.sub2.example.org.").answer


def test_truncated_upstream_answer_is_retried_over_tcp(servers):
    # A truncates anything over 512 bytes over UDP; B (1232) can hand the whole answer on.
    a = upstream(servers, global_={"udp_max_payload": 512})
    b = servers("b", lambda port: forwarder_config(port, [f"127.0.0.1:{a.port}"]))
    direct = a.query("bigA.example.org.", use_edns=0, payload=4096)
    assert direct.flags & dns.flags.TC  # what B gets from A over UDP first
    r = b.query("bigA.example.org.", use_edns=0, payload=4096)
    assert not r.flags & dns.flags.TC
    assert len(r.answer) == 1 and len(r.answer[0]) == 60
    # A client without EDNS gets TC from B, then everything from B over TCP.
    small = b.query("bigA.example.org.")
    assert small.flags & dns.flags.TC
    full = b.query("bigA.example.org.", transport="tcp")
    assert not full.flags & dns.flags.TC and len(full.answer[0]) == 60


def test_dead_upstream_gives_servfail_and_b_keeps_serving(servers):
    a = upstream(servers)
    b = servers("b", lambda port: forwarder_config(port, [f"127.0.0.1:{a.port}"],
                                                   'timeout = "1s"'))
    assert b.query("www.example.org.").answer
    a.stop()
    for transport in ("udp", "tcp", "udp"):
        started = time.monotonic()
        r = b.query("www.example.org.", transport=transport)
        assert r.rcode() == dns.rcode.SERVFAIL
        assert time.monotonic() - started < 1.8
        assert b.query("www.sub2.example.org.").answer  # the file block is unaffected
    assert b.proc.poll() is None


def test_black_hole_first_fails_over_to_the_second(servers):
    a = upstream(servers)
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 0))
    try:
        hole_port = hole.getsockname()[1]
        # max_fails = 0: the hole is never marked down, so every query goes through it first.
        b = servers("b", lambda port: forwarder_config(
            port, [f"127.0.0.1:{hole_port}", f"127.0.0.1:{a.port}"],
            'policy = "sequential"\ntimeout = "500ms"\nmax_fails = 0'), wait=False)
        wait_answer(b, "www.example.org.")
        for _ in range(2):
            started = time.monotonic()
            r = b.query("www.example.org.")
            took = time.monotonic() - started
            assert r.rcode() == dns.rcode.NOERROR and r.answer
            assert 0.4 <= took < 1.5, took
    finally:
        hole.close()


def test_down_upstream_is_skipped_after_max_fails(servers):
    a = upstream(servers)
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 0))
    try:
        hole_port = hole.getsockname()[1]
        b = servers("b", lambda port: forwarder_config(
            port, [f"127.0.0.1:{hole_port}", f"127.0.0.1:{a.port}"],
            'policy = "sequential"\ntimeout = "300ms"\nmax_fails = 2'), wait=False)
        for _ in range(3):
            wait_answer(b, "www.example.org.")
        started = time.monotonic()
        assert b.query("www.example.org.").answer
        assert time.monotonic() - started < 0.25  # straight to the healthy upstream
    finally:
        hole.close()


def readme_examples():
    text = (REPO / "plugins" / "forward" / "README.md").read_text()
    blocks = [b for b in re.findall(r"```toml\n(.*?)```", text, re.S) if "[[server]]" in b]
    assert len(blocks) >= 2
    return blocks


@pytest.mark.parametrize("example", readme_examples())
def test_readme_example_passes_check(binary, tmp_path, example):
    config = tmp_path / "petdns.toml"
    config.write_text(example)
    res = subprocess.run([binary, "check", "--config", str(config)], capture_output=True,
                         text=True, timeout=10)
    assert res.returncode == 0, f"{example}\n{res.stdout}{res.stderr}"

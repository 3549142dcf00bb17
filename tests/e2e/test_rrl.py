"""Response rate limiting for UDP ([global.rrl], issue 8): a flood from one client netblock gets
about responses_per_second answers per second plus truncated "slips"; a client in another
netblock, an exempt client and TCP are unaffected; both outcomes are counted in /metrics.
"""

import re
import socket
import time
import urllib.request

import dns.flags
import dns.message
import dns.rcode
import pytest

import wire
from conftest import start_example_org

RATE = 20
FLOOD_SECONDS = 2.0


GLOBAL = f"""[global.rrl]
responses_per_second = {RATE}
slip = 2
exempt = ["127.0.2.0/24"]
"""


@pytest.fixture
def limited(binary, tmp_path):
    srv = start_example_org(binary, tmp_path, GLOBAL)
    yield srv
    srv.stop()


def metric(srv, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{srv.metrics_port}/metrics", timeout=2) as r:
        text = r.read().decode()
    m = re.search(r"^%s (\S+)$" % name, text, re.M)
    return float(m.group(1)) if m else 0.0


def flood(srv, source, seconds, rate_per_second=1000):
    """Sends www.example.org A from `source` at about rate_per_second for `seconds`; returns
    (sent, full answers, truncated answers)."""
    query = dns.message.make_query("www.example.org.", "A")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        s.setblocking(False)
        sent = full = truncated = 0
        start = time.monotonic()
        end = start + seconds
        while True:
            now = time.monotonic()
            if now < end and sent < (now - start) * rate_per_second:
                query.id = sent & 0xFFFF
                s.sendto(query.to_wire(), (srv.host, srv.port))
                sent += 1
            try:
                data, _ = s.recvfrom(4096)
                h = wire.parse_header(data)
                if h["tc"]:
                    assert h["an"] == 0 and h["qd"] == 1
                    truncated += 1
                else:
                    assert h["rcode"] == dns.rcode.NOERROR and h["an"] == 1
                    full += 1
            except BlockingIOError:
                if now > end + 0.3:
                    return sent, full, truncated
                time.sleep(0.0005)


def ask_udp_from(srv, source, count=30):
    answered = 0
    q = dns.message.make_query("www.example.org.", "A")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        s.settimeout(1.0)
        for _ in range(count):
            s.sendto(q.to_wire(), (srv.host, srv.port))
            r = dns.message.from_wire(s.recvfrom(4096)[0])
            if not r.flags & dns.flags.TC and r.answer:
                answered += 1
    return answered


def test_flood_is_limited_with_slips_and_others_are_not(limited):
    sent, full, truncated = flood(limited, "127.0.0.1", FLOOD_SECONDS)
    assert sent >= 1000
    # RATE per started second, the first second included.
    assert RATE <= full <= RATE * (FLOOD_SECONDS + 2), (sent, full, truncated)
    limited_count = sent - full
    # slip = 2: about every second limited answer comes back truncated.
    assert abs(truncated - limited_count / 2) <= limited_count * 0.1 + 5, (sent, full, truncated)
    assert metric(limited, "petdns_rrl_slipped_total") == truncated
    assert metric(limited, "petdns_rrl_dropped_total") >= limited_count - truncated - 5
    # The flooded client still gets its answer over TCP, at once and every time.
    for _ in range(30):
        r = limited.query("www.example.org.", "A", "tcp")
        assert r.rcode() == dns.rcode.NOERROR and r.answer
    # Another /24 is a separate account; an exempt netblock is never limited.
    assert ask_udp_from(limited, "127.0.1.1", count=RATE) == RATE
    assert ask_udp_from(limited, "127.0.2.1", count=100) == 100


def test_rrl_is_off_by_default(launch):
    from conftest import server_config
    srv = launch(lambda port: server_config(port, [
        {"zones": ["example.org."], "path": '"example.org.zone"'}], ipv6=False))
    sent, full, truncated = flood(srv, "127.0.0.1", 0.5)
    assert truncated == 0 and full >= sent - 5

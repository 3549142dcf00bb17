"""Whole-configuration reload: SIGHUP or an edited config file swaps in the new configuration while
the listeners stay up; a continuous query load sees no failure; a bad new config is reported and
the running one stays."""
import signal
import threading
import time

import dns.message
import dns.query
import dns.rcode
import pytest

from conftest import copy_testdata, free_port, start_server, wait_for


def config(port, extra_block=""):
    return f"""
[[server]]
listen = ["127.0.0.1:{port}"]
zones = ["example.org."]
[server.file]
path = "example.org.zone"
{extra_block}
"""


SUB2_BLOCK = """
[[server]]
listen = ["127.0.0.1:{port}"]
zones = ["sub2.example.org."]
[server.file]
path = "sub2.example.org.zone"
"""


class Load:
    """Queries www.example.org. continuously over UDP; counts answers and failures."""

    def __init__(self, port):
        self.port = port
        self.ok = 0
        self.failed = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        q = dns.message.make_query("www.example.org.", "A")
        while not self.stop.is_set():
            try:
                r = dns.query.udp(q, "127.0.0.1", port=self.port, timeout=1.0)
                if r.rcode() == dns.rcode.NOERROR and r.answer:
                    self.ok += 1
                else:
                    self.failed.append(dns.rcode.to_text(r.rcode()))
            except Exception as e:  # noqa: BLE001 - any failure counts
                self.failed.append(repr(e))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=5)



def rcode_of(port, name):
    q = dns.message.make_query(name, "A")
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=1.0).rcode()


@pytest.fixture
def reloadable(binary, tmp_path):
    copy_testdata(tmp_path, "example.org.zone", "sub2.example.org.zone")
    port = free_port()
    srv = start_server(binary, tmp_path, config(port))
    yield srv
    srv.stop()


def test_sighup_reloads_under_load_without_a_failed_query(reloadable):
    server = reloadable
    with Load(server.port) as load:
        for _ in range(3):
            time.sleep(0.3)
            server.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: server.log().count("configuration reloaded") >= 3)
        time.sleep(0.3)
    assert load.ok > 50
    assert load.failed == []


def test_edited_config_file_takes_effect_with_listeners_up(reloadable):
    server = reloadable
    assert rcode_of(server.port, "www.sub2.example.org.") == dns.rcode.NOERROR  # example.org's data
    with Load(server.port) as load:
        server.config.write_text(config(server.port, SUB2_BLOCK.format(port=server.port)))
        wait_for(lambda: "configuration reloaded" in server.log(), timeout=6)
        time.sleep(0.3)
    assert load.failed == []
    # The new block now answers its zone (routed by longest zone) from its own file.
    q = dns.message.make_query("sub2.example.org.", "SOA")
    r = dns.query.udp(q, "127.0.0.1", port=server.port, timeout=1.0)
    assert r.answer and "sub2.example.org." in r.answer[0].to_text()


def test_invalid_new_config_keeps_the_running_one(reloadable):
    server = reloadable
    server.config.write_text(config(server.port) + "\nbogus_key = 1\n")
    server.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload failed" in server.log())
    assert "bogus_key" in server.log()
    assert rcode_of(server.port, "www.example.org.") == dns.rcode.NOERROR
    # A broken zone file in the new config is refused the same way.
    server.config.write_text(config(server.port).replace("example.org.zone", "missing.zone"))
    server.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: server.log().count("reload failed") >= 2)
    assert rcode_of(server.port, "www.example.org.") == dns.rcode.NOERROR
    assert server.proc.poll() is None


def test_new_listen_address_is_opened_and_old_one_closed(reloadable):
    server = reloadable
    other = free_port()
    server.config.write_text(config(other))
    server.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "configuration reloaded" in server.log())
    assert rcode_of(other, "www.example.org.") == dns.rcode.NOERROR
    with pytest.raises(Exception):
        rcode_of(server.port, "www.example.org.")

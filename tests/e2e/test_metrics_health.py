"""metrics, health and ready: /metrics counts real UDP and TCP queries with CoreDNS-like labels
and names that follow CONVENTIONS.md §2, /health and /ready answer, lame duck keeps DNS answering
after SIGTERM, and every plugin README's TOML example passes `petdns check`.
"""
import pathlib
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request

import dns.message
import pytest

from conftest import HAVE_IPV6, free_port

REPO = pathlib.Path(__file__).resolve().parents[2]
HTTP_TIMEOUT = 2.0


def http_get(port, path):
    """(status, body) of GET http://127.0.0.1:port/path."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=HTTP_TIMEOUT) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def wait_http(port, path, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return http_get(port, path)
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def parse_metrics(text):
    """{name: type} from # TYPE lines and a list of (name, {labels}, value) samples."""
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)", line)
        assert m, line
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        samples.append((m.group(1), labels, float(m.group(3))))
    return types, samples


def value(samples, name, **labels):
    return sum(v for n, l, v in samples
               if n == name and all(l.get(k) == w for k, w in labels.items()))


class Ports:
    def __init__(self):
        self.metrics = free_port()
        self.health = free_port()
        self.ready = free_port()


def make_config(ports, lameduck=None):
    def config(port):
        listen = [f'"127.0.0.1:{port}"'] + ([f'"[::1]:{port}"'] if HAVE_IPV6 else [])
        health = f'listen = "127.0.0.1:{ports.health}"'
        if lameduck:
            health += f'\nlameduck = "{lameduck}"'
        return f"""
[[server]]
listen = [{", ".join(listen)}]
zones = ["example.org."]
[server.file]
path = "example.org.zone"
[server.metrics]
listen = "127.0.0.1:{ports.metrics}"
[server.health]
{health}
[server.ready]
listen = "127.0.0.1:{ports.ready}"
"""
    return config


@pytest.fixture
def observed(launch):
    ports = Ports()
    srv = launch(make_config(ports))
    return srv, ports


def test_metrics_count_udp_and_tcp_queries(observed):
    srv, ports = observed
    for _ in range(3):
        assert srv.query("www.example.org.", "A").answer
    assert srv.query("www.example.org.", "AAAA", transport="tcp").answer
    srv.query("nope.example.org.", "MX")  # NXDOMAIN
    if HAVE_IPV6:
        srv.udp(dns.message.make_query("www.example.org.", "A"), host="::1")

    status, text = wait_http(ports.metrics, "/metrics")
    assert status == 200
    types, samples = parse_metrics(text)
    server = f"dns://127.0.0.1:{srv.port}"
    common = {"server": server, "zone": "example.org."}
    assert value(samples, "petdns_dns_requests_total", proto="udp", family="1", type="A",
                 **common) == 3
    assert value(samples, "petdns_dns_requests_total", proto="tcp", family="1", type="AAAA",
                 **common) == 1
    assert value(samples, "petdns_dns_requests_total", proto="udp", type="MX", **common) == 1
    if HAVE_IPV6:
        assert value(samples, "petdns_dns_requests_total", proto="udp", family="2", type="A",
                     **common) == 1
    assert value(samples, "petdns_dns_responses_total", rcode="NOERROR", plugin="file",
                 **common) >= 4
    assert value(samples, "petdns_dns_responses_total", rcode="NXDOMAIN", plugin="file",
                 **common) == 1
    total = value(samples, "petdns_dns_requests_total", **common)
    assert value(samples, "petdns_dns_request_duration_seconds_count", **common) == total
    assert value(samples, "petdns_dns_request_size_bytes_count", **common) == total
    assert value(samples, "petdns_dns_response_size_bytes_sum", proto="tcp", **common) > 0
    assert value(samples, "petdns_build_info") == 1
    # CPU seconds count in 10 ms clock ticks: a server this idle may not have used one yet.
    assert value(samples, "process_cpu_seconds_total") >= 0
    for name in ("process_resident_memory_bytes", "process_open_fds",
                 "process_start_time_seconds"):
        assert value(samples, name) > 0, name
    assert value(samples, "process_start_time_seconds") > time.time() - 3600

    # Counters only grow.
    srv.query("www.example.org.", "A")
    _, later = parse_metrics(http_get(ports.metrics, "/metrics")[1])
    assert value(later, "petdns_dns_requests_total", **common) == total + 1


def test_metric_names_follow_the_convention(observed):
    srv, ports = observed
    srv.query("www.example.org.", "A")
    types, samples = parse_metrics(wait_http(ports.metrics, "/metrics")[1])
    assert types, "no metric families"
    for name, kind in types.items():
        # Standard names: the Prometheus process collector's and prometheus-cpp's own exposer's.
        if name.startswith("process_") or name.startswith("exposer_"):
            continue
        assert name.startswith("petdns_"), name
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        if kind == "counter":
            assert name.endswith("_total"), name
        if kind == "histogram":
            assert name.endswith("_seconds") or name.endswith("_bytes"), name
        assert not name.endswith("_total") or kind == "counter", name
    for _, labels, _ in samples:
        assert "qname" not in labels and "name" not in labels


def test_health_and_ready(observed):
    _, ports = observed
    assert wait_http(ports.health, "/health") == (200, "OK")
    assert http_get(ports.health, "/nothing")[0] == 404
    assert wait_http(ports.ready, "/ready") == (200, "OK")
    assert http_get(ports.ready, "/health")[0] == 404


def test_ready_lists_plugins_not_ready(launch):
    """A kubernetes block whose API server never answers keeps /ready at 503."""
    ports = Ports()
    dead = free_port()  # nothing listens here

    (launch.tmp_path / "kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{dead}'}}}}]\n"
        "users: [{name: u, user: {}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n")

    def config(port):
        return make_config(ports)(port) + f"""
[[server]]
listen = ["127.0.0.1:{port}"]
zones = ["cluster.local."]
[server.kubernetes]
kubeconfig = "kubeconfig"
"""
    srv = launch(config)
    assert srv.proc.poll() is None
    status, body = wait_http(ports.ready, "/ready")
    assert status == 503
    assert "kubernetes" in body.splitlines()
    assert wait_http(ports.health, "/health") == (200, "OK")


def test_lame_duck_keeps_answering_then_exits_zero(launch):
    ports = Ports()
    srv = launch(make_config(ports, lameduck="1500ms"))
    assert srv.query("www.example.org.").answer
    started = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert srv.proc.poll() is None, "exited before the lame-duck period ended"
    assert srv.query("www.example.org.").answer
    assert srv.query("www.example.org.", transport="tcp").answer
    assert http_get(ports.health, "/health") == (200, "OK")  # CoreDNS: health stays OK
    assert http_get(ports.ready, "/ready")[0] == 503           # ready does not
    assert srv.proc.wait(timeout=5) == 0
    assert time.monotonic() - started >= 1.4


def readme_examples():
    for name in ("metrics", "health", "ready"):
        text = (REPO / "plugins" / name / "README.md").read_text()
        blocks = re.findall(r"```toml\n(.*?)```", text, re.S)
        full = [b for b in blocks if "[[server]]" in b]
        assert full, f"{name}: README has no complete TOML example"
        for i, block in enumerate(full):
            yield pytest.param(name, block, id=f"{name}-{i}")


@pytest.mark.parametrize("name,example", readme_examples())
def test_readme_example_passes_check(binary, tmp_path, name, example):
    (tmp_path / "example.org.zone").write_text(
        (REPO / "tests" / "e2e" / "testdata" / "example.org.zone").read_text())
    config = tmp_path / "petdns.toml"
    config.write_text(example)
    res = subprocess.run([binary, "check", "--config", str(config)], capture_output=True,
                         text=True, timeout=10)
    assert res.returncode == 0, f"{name}:\n{example}\n{res.stdout}{res.stderr}"

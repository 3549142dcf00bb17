"""Node-local mode on loopback: a node-local petdns (cache + forward) in front of a cluster petdns
(the kubernetes plugin on the example manifests) and of an upstream petdns for other names.
Killing the upstream leaves stale answers served; a new pet becomes resolvable through the node
cache within the denial cap."""
import pathlib
import shutil
import time

import dns.rcode
import pytest

from conftest import copy_testdata, free_port, start_server, wait_for

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "deploy" / "examples"
DENIAL_CAP = 2



@pytest.fixture
def chain(binary, tmp_path):
    servers = []
    upstream_dir = tmp_path / "upstream"
    cluster_dir = tmp_path / "cluster"
    node_dir = tmp_path / "node"
    for d in (upstream_dir, cluster_dir, node_dir):
        d.mkdir()
    copy_testdata(upstream_dir, "example.org.zone")
    upstream_port, cluster_port, node_port = free_port(), free_port(), free_port()
    upstream = start_server(binary, upstream_dir, f"""
[[server]]
listen = ["127.0.0.1:{upstream_port}"]
zones = ["example.org."]
[server.file]
path = "example.org.zone"
""")
    servers.append(upstream)
    manifests = cluster_dir / "manifests"
    manifests.mkdir()
    for f in EXAMPLES.glob("*.yaml"):
        shutil.copy(f, manifests / f.name)
    cluster = start_server(binary, cluster_dir, f"""
[[server]]
listen = ["127.0.0.1:{cluster_port}"]
zones = ["cluster.local."]
[server.kubernetes]
manifests = "manifests"
""")
    servers.append(cluster)
    node_config = (REPO / "deploy" / "node-local" / "petdns.toml").read_text()
    node_config = (node_config.replace("169.254.20.10:53", f"127.0.0.1:{node_port}")
                   .replace("169.254.20.10:9253", f"127.0.0.1:{free_port()}")
                   .replace("169.254.20.10:8080", f"127.0.0.1:{free_port()}")
                   .replace("10.96.0.10:53", f"127.0.0.1:{cluster_port}")
                   .replace('"/etc/resolv.conf"', f'"127.0.0.1:{upstream_port}"')
                   .replace('denial_ttl = "5s"', f'denial_ttl = "{DENIAL_CAP}s"')
                   .replace('success_ttl = "30s"\ndenial_ttl = "30s"',
                            'success_ttl = "1s"\ndenial_ttl = "30s"')
                   .replace('timeout = "2s"', 'timeout = "500ms"'))
    node = start_server(binary, node_dir, node_config)
    servers.append(node)
    wait_for(lambda: cluster.query("web-0.nginx.default.svc.cluster.local.").answer,
             timeout=8)
    yield upstream, cluster, node, manifests
    for s in servers:
        s.stop()


def test_node_cache_answers_cluster_and_other_names(chain):
    _, _, node, _ = chain
    srv = node.query("nginx.default.svc.cluster.local.", "SRV")
    assert srv.rcode() == dns.rcode.NOERROR and len(srv.answer[0]) == 2
    assert node.query("web-0.nginx.default.svc.cluster.local.", transport="tcp").answer
    assert node.query("www.example.org.").answer


def test_stale_answers_when_the_upstream_dies(chain):
    upstream, _, node, _ = chain
    assert node.query("www.example.org.").answer
    upstream.stop()
    time.sleep(1.5)  # past the 1 s success cap: the entry has expired
    msg = node.query("www.example.org.")
    assert msg.rcode() == dns.rcode.NOERROR and msg.answer, msg
    assert node.proc.poll() is None


def test_new_pet_resolvable_within_the_denial_cap(chain):
    _, cluster, node, manifests = chain
    name = "web-4.nginx.default.svc.cluster.local."
    assert node.query(name).rcode() == dns.rcode.NXDOMAIN  # now cached as a denial
    path = manifests / "nginx-web.yaml"
    path.write_text(path.read_text().replace("replicas: 2", "replicas: 5"))
    wait_for(lambda: cluster.query(name).rcode() == dns.rcode.NOERROR, timeout=8)
    seen = time.monotonic()
    wait_for(lambda: node.query(name).rcode() == dns.rcode.NOERROR, timeout=DENIAL_CAP + 3)
    assert time.monotonic() - seen <= DENIAL_CAP + 1.0

"""The kubernetes plugin on its manifests source: petdns serving deploy/examples/ as a cluster.

Every test copies the example manifests into its own folder, starts the real binary on it and
queries it over UDP and TCP (dnspython) and with dig.
"""
import pathlib
import re
import shutil
import subprocess
import time

import dns.rcode
import dns.rdatatype
import pytest

from conftest import HAVE_IPV6, run_tool, wait_for

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "deploy" / "examples"
TRANSPORTS = ["udp", "tcp"]


def manifests_config(port, extra=""):
    listen = [f'"127.0.0.1:{port}"'] + ([f'"[::1]:{port}"'] if HAVE_IPV6 else [])
    return f"""
[[server]]
listen = [{", ".join(listen)}]
zones = ["cluster.local.", "in-addr.arpa."]
[server.kubernetes]
manifests = "manifests"
{extra}
"""


@pytest.fixture
def cluster(launch):
    """petdns serving a private copy of deploy/examples/*.yaml."""
    manifests = launch.tmp_path / "manifests"
    manifests.mkdir()
    for f in EXAMPLES.glob("*.yaml"):
        shutil.copy(f, manifests / f.name)
    srv = launch(manifests_config, files=())
    wait_for(lambda: srv.query("web-0.nginx.default.svc.cluster.local.").rcode() == dns.rcode.NOERROR
             and srv.query("web-0.nginx.default.svc.cluster.local.").answer)
    srv.manifests = manifests
    return srv



def srv_targets(msg):
    return sorted(str(r.target) for rrset in msg.answer if rrset.rdtype == dns.rdatatype.SRV
                  for r in rrset)


def addresses(msg, rdtype=dns.rdatatype.A):
    return sorted(r.address for rrset in msg.answer if rrset.rdtype == rdtype for r in rrset)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_srv_on_governing_service_lists_every_pet(cluster, transport):
    msg = cluster.query("nginx.default.svc.cluster.local.", "SRV", transport=transport)
    assert msg.rcode() == dns.rcode.NOERROR
    assert msg.flags & dns.flags.AA
    assert srv_targets(msg) == ["web-0.nginx.default.svc.cluster.local.",
                                "web-1.nginx.default.svc.cluster.local."]
    assert all(r.port == 80 and r.priority == 0 for rrset in msg.answer for r in rrset)
    glue = sorted(str(rrset.name) for rrset in msg.additional if rrset.rdtype == dns.rdatatype.A)
    assert glue == ["web-0.nginx.default.svc.cluster.local.", "web-1.nginx.default.svc.cluster.local."]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_stable_pet_names_and_headless_service_addresses(cluster, transport):
    web0 = addresses(cluster.query("web-0.nginx.default.svc.cluster.local.", transport=transport))
    web1 = addresses(cluster.query("web-1.nginx.default.svc.cluster.local.", transport=transport))
    assert len(web0) == 1 and len(web1) == 1 and web0 != web1
    assert all(a.startswith("10.244.") for a in web0 + web1)
    service = addresses(cluster.query("nginx.default.svc.cluster.local.", transport=transport))
    assert service == sorted(web0 + web1)
    named = cluster.query("_web._tcp.nginx.default.svc.cluster.local.", "SRV", transport=transport)
    assert len(srv_targets(named)) == 2


def test_dig_readme_examples(cluster):
    out = run_tool(["dig", "@127.0.0.1", "-p", str(cluster.port), "+short", "SRV",
                    "nginx.default.svc.cluster.local"])
    assert "web-0.nginx.default.svc.cluster.local." in out
    assert "web-1.nginx.default.svc.cluster.local." in out
    out = run_tool(["dig", "@127.0.0.1", "-p", str(cluster.port), "+short", "A",
                    "web-0.nginx.default.svc.cluster.local"])
    assert re.fullmatch(r"10\.244\.\d+\.\d+\n", out), out


def test_tolerate_unready_annotation_publishes_not_ready_pets(cluster):
    # ub-vm.yaml marks only vm-0 ready, and the ub service carries the legacy annotation.
    msg = cluster.query("ub.default.svc.cluster.local.", "SRV")
    assert srv_targets(msg) == ["vm-0.ub.default.svc.cluster.local.",
                                "vm-1.ub.default.svc.cluster.local."]
    assert addresses(cluster.query("vm-1.ub.default.svc.cluster.local."))


def test_not_ready_pets_are_hidden_without_the_annotation(cluster):
    text = (cluster.manifests / "ub-vm.yaml").read_text()
    text = text.replace('service.alpha.kubernetes.io/tolerate-unready-endpoints: "true"',
                        'example.com/unrelated: "true"')
    (cluster.manifests / "ub-vm.yaml").write_text(text)
    wait_for(lambda: srv_targets(cluster.query("ub.default.svc.cluster.local.", "SRV"))
             == ["vm-0.ub.default.svc.cluster.local."])
    assert cluster.query("vm-1.ub.default.svc.cluster.local.").rcode() == dns.rcode.NXDOMAIN


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_scaling_replicas_from_2_to_5_makes_new_pets_resolvable(cluster, transport):
    path = cluster.manifests / "nginx-web.yaml"
    assert cluster.query("web-4.nginx.default.svc.cluster.local.").rcode() == dns.rcode.NXDOMAIN
    before = addresses(cluster.query("web-0.nginx.default.svc.cluster.local."))
    path.write_text(path.read_text().replace("replicas: 2", "replicas: 5"))
    started = time.monotonic()
    wait_for(lambda: cluster.query("web-4.nginx.default.svc.cluster.local.",
                                   transport=transport).rcode() == dns.rcode.NOERROR, timeout=5)
    assert time.monotonic() - started < 2.0  # "within a second", with slack for a loaded CI box
    msg = cluster.query("nginx.default.svc.cluster.local.", "SRV", transport=transport)
    assert len(srv_targets(msg)) == 5
    assert addresses(cluster.query("web-0.nginx.default.svc.cluster.local.")) == before
    path.write_text(path.read_text().replace("replicas: 5", "replicas: 1"))
    wait_for(lambda: len(srv_targets(cluster.query("nginx.default.svc.cluster.local.", "SRV"))) == 1)


def test_broken_manifest_is_reported_and_old_records_kept(cluster):
    path = cluster.manifests / "nginx-web.yaml"
    good = path.read_text()
    path.write_text(good + "\n---\nkind: [unclosed\n")
    wait_for(lambda: "nginx-web.yaml" in cluster.log() and "ERROR" in cluster.log())
    time.sleep(0.7)  # past another poll: the broken file must not have dropped anything
    assert len(srv_targets(cluster.query("nginx.default.svc.cluster.local.", "SRV"))) == 2
    assert addresses(cluster.query("web-1.nginx.default.svc.cluster.local."))
    path.write_text(good.replace("replicas: 2", "replicas: 3"))
    wait_for(lambda: addresses(cluster.query("web-2.nginx.default.svc.cluster.local.")))


def test_invalid_object_is_skipped_and_the_rest_served(cluster):
    (cluster.manifests / "extra.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: bad\nspec:\n  ports:\n  - port: eighty\n"
        "---\n"
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: shop\n"
        "spec:\n  clusterIP: 10.96.7.7\n  ports:\n  - name: http\n    port: 8080\n")
    wait_for(lambda: addresses(cluster.query("api.shop.svc.cluster.local.")) == ["10.96.7.7"])
    assert "extra.yaml" in cluster.log()
    assert cluster.query("bad.default.svc.cluster.local.").rcode() == dns.rcode.NXDOMAIN
    srv = cluster.query("_http._tcp.api.shop.svc.cluster.local.", "SRV")
    assert srv_targets(srv) == ["api.shop.svc.cluster.local."]
    assert cluster.query("shop.svc.cluster.local.").rcode() == dns.rcode.NOERROR


@pytest.mark.parametrize("name,rcode", [
    ("cluster.local.", dns.rcode.NOERROR),
    ("svc.cluster.local.", dns.rcode.NOERROR),
    ("default.svc.cluster.local.", dns.rcode.NOERROR),
    ("nosuchns.svc.cluster.local.", dns.rcode.NXDOMAIN),
    ("nosuch.default.svc.cluster.local.", dns.rcode.NXDOMAIN),
    ("web-9.nginx.default.svc.cluster.local.", dns.rcode.NXDOMAIN),
    ("nginx.default.svc.cluster.local.svc.cluster.local.", dns.rcode.NXDOMAIN),
    ("nginx.default.svc.cluster.local.default.svc.cluster.local.", dns.rcode.NXDOMAIN),
])
def test_nxdomain_versus_nodata_carry_the_soa(cluster, name, rcode):
    msg = cluster.query(name, "A")
    assert msg.rcode() == rcode
    assert not msg.answer
    assert len(msg.authority) == 1 and msg.authority[0].rdtype == dns.rdatatype.SOA
    assert msg.authority[0].ttl == 5  # negative_ttl defaults to ttl


def test_dns_version_and_soa(cluster):
    txt = cluster.query("dns-version.cluster.local.", "TXT")
    assert [r.strings for rrset in txt.answer for r in rrset] == [(b"1.1.0",)]
    soa = cluster.query("cluster.local.", "SOA")
    assert str(soa.answer[0][0].mname) == "ns.dns.cluster.local."


def test_serial_increases_when_data_changes(cluster):
    serial = cluster.query("cluster.local.", "SOA").answer[0][0].serial
    path = cluster.manifests / "nginx-web.yaml"
    path.write_text(path.read_text().replace("replicas: 2", "replicas: 3"))
    wait_for(lambda: cluster.query("cluster.local.", "SOA").answer[0][0].serial > serial)


def test_ptr_for_pet_addresses(cluster):
    address = addresses(cluster.query("web-0.nginx.default.svc.cluster.local."))[0]
    reverse = ".".join(reversed(address.split("."))) + ".in-addr.arpa."
    msg = cluster.query(reverse, "PTR")
    assert [str(r.target) for rrset in msg.answer for r in rrset] == \
        ["web-0.nginx.default.svc.cluster.local."]


def test_negative_ttl_option(launch):
    manifests = launch.tmp_path / "manifests"
    manifests.mkdir()
    shutil.copy(EXAMPLES / "nginx-web.yaml", manifests)
    srv = launch(lambda port: manifests_config(port, "ttl = 30\nnegative_ttl = 2"), files=())
    wait_for(lambda: addresses(srv.query("web-0.nginx.default.svc.cluster.local.")))
    assert srv.query("web-0.nginx.default.svc.cluster.local.").answer[0].ttl == 30
    assert srv.query("web-7.nginx.default.svc.cluster.local.").authority[0].ttl == 2


def test_check_reports_manifest_errors(binary, tmp_path):
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "bad.yaml").write_text("kind: Service\nmetadata: [\n")
    config = tmp_path / "petdns.toml"
    config.write_text(manifests_config(1053))
    res = subprocess.run([binary, "check", "--config", str(config)], capture_output=True,
                         text=True, timeout=10)
    assert res.returncode == 1
    assert re.search(r"manifests/bad\.yaml:\d+: ", res.stderr), res.stderr


def test_readme_example_config_serves_the_examples(binary, tmp_path):
    # The plugin README's example: manifests = "." beside the config.
    for f in EXAMPLES.glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    config = tmp_path / "petdns.toml"
    config.write_text('[[server]]\nlisten = ["127.0.0.1:1053"]\nzones = ["cluster.local."]\n\n'
                      '[server.kubernetes]\nmanifests = "."\n')
    res = subprocess.run([binary, "check", "--config", str(config)], capture_output=True,
                         text=True, timeout=10)
    assert res.returncode == 0, res.stderr

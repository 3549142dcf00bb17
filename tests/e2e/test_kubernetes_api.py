"""The kubernetes plugin on a live API server: petdns list+watches the fake API server
(tests/fake_apiserver), objects are created, changed and deleted through it, and the DNS answers
follow. Fault injection checks that petdns keeps serving what it had."""
import pathlib
import sys
import time

import dns.rcode
import dns.rdatatype
import pytest

from conftest import HAVE_IPV6, wait_for

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fake_apiserver"))
from fake_apiserver import FakeApiServer  # noqa: E402

TOKEN = "s3cr3t-token-for-tests"


def namespace(name):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def headless(name, ns="default", annotations=None, publish=False, port=80):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "annotations": annotations or {}},
            "spec": {"clusterIP": "None", "clusterIPs": ["None"], "publishNotReadyAddresses": publish,
                     "ports": [{"name": "web", "protocol": "TCP", "port": port}]}}


def cluster_ip(name, ip, ns="default"):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"clusterIP": ip, "clusterIPs": [ip], "type": "ClusterIP",
                     "ports": [{"name": "http", "protocol": "TCP", "port": 80}]}}


def slice_for(service, pets, ns="default", port=8080):
    """pets: list of (hostname, ip, ready)."""
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": service + "-abc", "namespace": ns,
                         "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [ip], "conditions": {"ready": ready}, "hostname": host,
                           "targetRef": {"kind": "Pod", "name": host, "namespace": ns}}
                          for host, ip, ready in pets],
            "ports": [{"name": "web", "protocol": "TCP", "port": port}]}



def targets(msg):
    return sorted(str(r.target) for rrset in msg.answer if rrset.rdtype == dns.rdatatype.SRV
                  for r in rrset)


def addresses(msg):
    return sorted(r.address for rrset in msg.answer if rrset.rdtype == dns.rdatatype.A
                  for r in rrset)


@pytest.fixture
def api():
    srv = FakeApiServer(token=TOKEN, bookmark_interval=1.0)
    srv.start()
    srv.create(namespace("default"))
    srv.create(namespace("kube-system"))
    yield srv
    srv.stop()


def kubeconfig_text(api_server):
    return f"""apiVersion: v1
kind: Config
current-context: test
clusters:
- name: test
  cluster:
    server: {api_server.url}
users:
- name: test
  user:
    token: {TOKEN}
contexts:
- name: test
  context: {{cluster: test, user: test}}
"""


@pytest.fixture
def start_petdns(launch, api):
    def _start(extra="", wait_synced=True):
        (launch.tmp_path / "kubeconfig").write_text(kubeconfig_text(api))

        def config(port):
            listen = [f'"127.0.0.1:{port}"'] + ([f'"[::1]:{port}"'] if HAVE_IPV6 else [])
            return (f'[[server]]\nlisten = [{", ".join(listen)}]\n'
                    'zones = ["cluster.local.", "in-addr.arpa."]\n'
                    f'[server.kubernetes]\nkubeconfig = "kubeconfig"\n{extra}\n')

        srv = launch(config, files=())
        if wait_synced:
            wait_for(lambda: srv.query("nosuch.default.svc.cluster.local.").rcode()
                     == dns.rcode.NXDOMAIN)
        return srv
    return _start


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_objects_created_changed_and_deleted_through_the_api(api, start_petdns, transport):
    api.create(headless("nginx"))
    api.create(slice_for("nginx", [("web-0", "10.244.1.5", True), ("web-1", "10.244.2.9", True)]))
    srv = start_petdns()
    ask = lambda name, t="A": srv.query(name, t, transport=transport)  # noqa: E731
    wait_for(lambda: targets(ask("nginx.default.svc.cluster.local.", "SRV")) ==
             ["web-0.nginx.default.svc.cluster.local.", "web-1.nginx.default.svc.cluster.local."])
    assert addresses(ask("web-1.nginx.default.svc.cluster.local.")) == ["10.244.2.9"]

    # A watch event: a third pet joins.
    api.update(slice_for("nginx", [("web-0", "10.244.1.5", True), ("web-1", "10.244.2.9", True),
                                   ("web-2", "10.244.3.3", True)]))
    wait_for(lambda: addresses(ask("web-2.nginx.default.svc.cluster.local.")) == ["10.244.3.3"])
    # A pet stops being ready: it leaves DNS.
    api.update(slice_for("nginx", [("web-0", "10.244.1.5", True), ("web-1", "10.244.2.9", False),
                                   ("web-2", "10.244.3.3", True)]))
    wait_for(lambda: ask("web-1.nginx.default.svc.cluster.local.").rcode() == dns.rcode.NXDOMAIN)
    # The service goes away: NXDOMAIN.
    api.delete("services", "default", "nginx")
    wait_for(lambda: ask("nginx.default.svc.cluster.local.", "SRV").rcode() == dns.rcode.NXDOMAIN)


def test_tolerate_unready_annotation_and_publish_not_ready(api, start_petdns):
    api.create(headless("ub", annotations={
        "service.alpha.kubernetes.io/tolerate-unready-endpoints": "true"}))
    api.create(slice_for("ub", [("vm-0", "10.244.4.1", True), ("vm-1", "10.244.4.2", False)]))
    api.create(headless("plain"))
    api.create(slice_for("plain", [("p-0", "10.244.5.1", True), ("p-1", "10.244.5.2", False)]))
    srv = start_petdns()
    wait_for(lambda: len(targets(srv.query("ub.default.svc.cluster.local.", "SRV"))) == 2)
    assert targets(srv.query("plain.default.svc.cluster.local.", "SRV")) == \
        ["p-0.plain.default.svc.cluster.local."]
    api.update(headless("plain", publish=True))
    wait_for(lambda: len(targets(srv.query("plain.default.svc.cluster.local.", "SRV"))) == 2)


def test_servfail_until_first_sync(api, start_petdns):
    api.hang_next(10, path_regex="endpointslices", before_headers=True)  # the list never answers
    srv = start_petdns(wait_synced=False)
    wait_for(lambda: srv.query("nosuch.default.svc.cluster.local.").rcode() == dns.rcode.SERVFAIL)
    assert srv.query("nosuch.default.svc.cluster.local.").rcode() == dns.rcode.SERVFAIL


def test_keeps_serving_through_dropped_watches_and_410(api, start_petdns):
    api.create(cluster_ip("web", "10.96.0.5"))
    srv = start_petdns()
    wait_for(lambda: addresses(srv.query("web.default.svc.cluster.local.")) == ["10.96.0.5"])
    api.drop_watches(mid_event=True)
    api.update(cluster_ip("web", "10.96.0.6"))
    wait_for(lambda: addresses(srv.query("web.default.svc.cluster.local.")) == ["10.96.0.6"],
             timeout=10)
    # Compaction: the next watch from an old version gets 410 and petdns relists.
    api.compact()
    api.error_watches(code=410)
    api.create(cluster_ip("late", "10.96.0.7"))
    wait_for(lambda: addresses(srv.query("late.default.svc.cluster.local.")) == ["10.96.0.7"],
             timeout=10)
    assert addresses(srv.query("web.default.svc.cluster.local.")) == ["10.96.0.6"]


def test_api_going_away_keeps_last_known_data(api, start_petdns):
    api.create(cluster_ip("web", "10.96.0.5"))
    srv = start_petdns()
    wait_for(lambda: addresses(srv.query("web.default.svc.cluster.local.")) == ["10.96.0.5"])
    api.stop()
    time.sleep(1.0)
    assert addresses(srv.query("web.default.svc.cluster.local.")) == ["10.96.0.5"]
    assert srv.query("nosuch.default.svc.cluster.local.").rcode() == dns.rcode.NXDOMAIN
    assert srv.proc.poll() is None


def test_unauthorized_is_logged_clearly(api, start_petdns):
    api.set_token("another-token")  # petdns's token is now wrong: 401 on every request
    srv = start_petdns(wait_synced=False)
    wait_for(lambda: "401" in srv.log() or "nauthorized" in srv.log(), timeout=5)
    assert TOKEN not in srv.log()  # secrets never reach the log
    assert srv.query("nosuch.default.svc.cluster.local.").rcode() == dns.rcode.SERVFAIL


def test_forbidden_names_the_resource(api, start_petdns):
    api.fail_next(100, 403, path_regex="namespaces")
    srv = start_petdns(wait_synced=False)
    wait_for(lambda: "403" in srv.log() or "orbidden" in srv.log(), timeout=5)
    assert "namespaces" in srv.log()


def test_https_with_ca_file_and_token_file(launch):
    """TLS: the API's certificate is checked against certificate-authority; the token comes
    from a tokenFile, as a service account's does."""
    api = FakeApiServer(tls=True, token=TOKEN, bookmark_interval=1.0)
    api.start()
    try:
        api.create(namespace("default"))
        api.create(cluster_ip("web", "10.96.0.5"))
        (launch.tmp_path / "token").write_text(TOKEN + "\n")
        (launch.tmp_path / "kubeconfig").write_text(f"""apiVersion: v1
kind: Config
current-context: tls
clusters:
- name: tls
  cluster:
    server: {api.url}
    certificate-authority: {api.ca_file}
users:
- name: sa
  user:
    tokenFile: token
contexts:
- name: tls
  context: {{cluster: tls, user: sa}}
""")

        def config(port):
            return (f'[[server]]\nlisten = ["127.0.0.1:{port}"]\nzones = ["cluster.local."]\n'
                    '[server.kubernetes]\nkubeconfig = "kubeconfig"\n')

        srv = launch(config, files=())
        wait_for(lambda: addresses(srv.query("web.default.svc.cluster.local.")) == ["10.96.0.5"])
        assert TOKEN not in srv.log()
    finally:
        api.stop()


def test_wrong_ca_is_refused_with_a_clear_error(launch, tmp_path):
    api = FakeApiServer(tls=True, token=TOKEN)
    api.start()
    try:
        other = FakeApiServer(tls=True, cert_dir=str(tmp_path / "other-ca"))
        other_ca = other.ca_file  # a CA that did not sign the API's certificate
        (launch.tmp_path / "kubeconfig").write_text(f"""apiVersion: v1
kind: Config
current-context: c
clusters:
- name: c
  cluster: {{server: "{api.url}", certificate-authority: "{other_ca}"}}
users:
- name: u
  user: {{token: {TOKEN}}}
contexts:
- name: c
  context: {{cluster: c, user: u}}
""")

        def config(port):
            return (f'[[server]]\nlisten = ["127.0.0.1:{port}"]\nzones = ["cluster.local."]\n'
                    '[server.kubernetes]\nkubeconfig = "kubeconfig"\n')

        srv = launch(config, files=())
        wait_for(lambda: "certificate" in srv.log().lower() or "ssl" in srv.log().lower(),
                 timeout=5)
        assert srv.query("nosuch.default.svc.cluster.local.").rcode() == dns.rcode.SERVFAIL
    finally:
        api.stop()


def test_kubernetes_metrics_are_exported(api, launch):
    import re
    import urllib.request

    from conftest import free_port
    metrics_port = free_port()
    api.create(cluster_ip("web", "10.96.0.5"))
    (launch.tmp_path / "kubeconfig").write_text(kubeconfig_text(api))

    def config(port):
        return (f'[[server]]\nlisten = ["127.0.0.1:{port}"]\nzones = ["cluster.local."]\n'
                '[server.kubernetes]\nkubeconfig = "kubeconfig"\n'
                f'[server.metrics]\nlisten = "127.0.0.1:{metrics_port}"\n')

    srv = launch(config)
    wait_for(lambda: addresses(srv.query("web.default.svc.cluster.local.")) == ["10.96.0.5"])
    api.update(cluster_ip("web", "10.96.0.6"))
    wait_for(lambda: addresses(srv.query("web.default.svc.cluster.local.")) == ["10.96.0.6"])

    def scrape():
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2) as r:
            return r.read().decode()

    def value(text, pattern):
        m = re.search(pattern + r" ([0-9.e+]+)", text)
        return float(m.group(1)) if m else 0.0

    wait_for(lambda: value(scrape(), r'petdns_kubernetes_watch_events_total\{resource="services"\}')
             >= 1, timeout=5)
    text = scrape()
    assert value(text, r'petdns_kubernetes_list_total\{resource="services"\}') >= 1
    assert value(text, r"petdns_kubernetes_dns_programming_duration_seconds_count") >= 1
    assert value(text, r"petdns_kubernetes_services") == 1
    assert 'petdns_kubernetes_last_sync_age_seconds{resource="services"}' in text

"""Fault injection, Kubernetes API source: petdns list+watches tests/fake_apiserver, is brought to
a known good state, then the API server misbehaves (refuses connections, hangs or breaks a stream,
answers 500, 429 + Retry-After, 410, garbage JSON, 401 for an expired token, a certificate from
another CA). Every test checks the same four things:

1. a prober thread keeps asking for the records served before the fault, every ~20 ms over UDP,
   and not a single one may fail or change (no record is lost);
2. the log names the cause (the resource and the HTTP status or transport error);
3. `/metrics` moves (`petdns_kubernetes_api_errors_total{resource}` and friends);
4. `/ready` stays 200 once synced (petdns serves the last data it had), and after the fault is
   removed a new object reaches DNS again.

The reflector's backoff starts at 800 ms and doubles (with up to 100 % jitter), so each fault is
kept to one or two failed requests; every wait is bounded. See tests/e2e/README.md for the
matrix.
"""
import pathlib
import re
import shutil
import sys
import time

import dns.rcode
import pytest

from conftest import HAVE_IPV6, Prober, answer_of, free_port, wait_for
from test_metrics_health import http_get, parse_metrics, value

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fake_apiserver"))
from fake_apiserver import FakeApiServer  # noqa: E402

TOKEN = "fault-token-1"
ROTATED = "fault-token-2"
SERVICES_WATCH = r"^/api/v1/services\?.*watch=true"
SERVICES_LIST = r"^/api/v1/services\?(?!.*watch=true)"
RECOVERY = 12.0  # seconds: two backoff steps (≤ 1.6 s + ≤ 3.2 s) plus slack for a busy box


def namespace(name):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def cluster_ip(name, ip, ns="default"):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"clusterIP": ip, "clusterIPs": [ip], "type": "ClusterIP",
                     "ports": [{"name": "http", "protocol": "TCP", "port": 80}]}}


def headless(name, ns="default"):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"clusterIP": "None", "clusterIPs": ["None"],
                     "ports": [{"name": "web", "protocol": "TCP", "port": 80}]}}


def slice_for(service, pets, ns="default"):
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": service + "-abc", "namespace": ns,
                         "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True}, "hostname": host}
                          for host, ip in pets],
            "ports": [{"name": "web", "protocol": "TCP", "port": 80}]}


# The records of the known good state, checked by the prober during every fault.
KNOWN = {
    ("web.default.svc.cluster.local.", "A"): ["10.96.0.5"],
    ("web-0.nginx.default.svc.cluster.local.", "A"): ["10.244.1.5"],
    ("web-1.nginx.default.svc.cluster.local.", "A"): ["10.244.2.9"],
    ("nginx.default.svc.cluster.local.", "SRV"):
        ["0 50 80 web-0.nginx.default.svc.cluster.local.",
         "0 50 80 web-1.nginx.default.svc.cluster.local."],
}

def seed(api):
    api.create(namespace("default"))
    api.create(namespace("kube-system"))
    api.create(cluster_ip("web", "10.96.0.5"))
    api.create(headless("nginx"))
    api.create(slice_for("nginx", [("web-0", "10.244.1.5"), ("web-1", "10.244.2.9")]))


class Petdns:
    """petdns on the kubernetes API source, with /metrics and /ready."""

    def __init__(self, srv, metrics_port, ready_port):
        self.srv, self.metrics_port, self.ready_port = srv, metrics_port, ready_port

    def metric(self, name, **labels):
        status, text = http_get(self.metrics_port, "/metrics")
        assert status == 200
        return value(parse_metrics(text)[1], name, **labels)

    def api_errors(self, resource="services"):
        return self.metric("petdns_kubernetes_api_errors_total", resource=resource)

    def ready(self):
        return http_get(self.ready_port, "/ready")

    def log(self):
        return self.srv.log()

    def wait_log(self, pattern, timeout=RECOVERY, since=0):
        rx = re.compile(pattern)
        wait_for(lambda: rx.search(self.log()[since:]), timeout=timeout,
                 what=f"log line /{pattern}/:\n{self.log()[-3000:]}")
        return rx.search(self.log()[since:]).group(0)

    def served(self, name, rdtype="A"):
        return answer_of(self.srv.query(name, rdtype), rdtype)

    def assert_known_good(self):
        for (name, rdtype), want in KNOWN.items():
            assert self.served(name, rdtype) == want, name

    def assert_recovers(self, api, name="late", ip="10.96.0.77"):
        """A new object created after the fault reaches DNS."""
        api.create(cluster_ip(name, ip))
        wait_for(lambda: self.served(f"{name}.default.svc.cluster.local.") == [ip],
                 timeout=RECOVERY, what=f"{name} served after recovery:\n{self.log()[-3000:]}")
        self.assert_known_good()


def settle():
    """A watch closed within 1 s of its start with no event counts as a failure ("very short
    watch") and costs a backoff step; let the open watches age past that first."""
    time.sleep(1.1)


def kubeconfig(api, token_line, ca=None):
    cluster = f"server: {api.url}"
    if ca:
        cluster += f", certificate-authority: {ca}"
    return (f"apiVersion: v1\nkind: Config\ncurrent-context: c\n"
            f"clusters: [{{name: c, cluster: {{{cluster}}}}}]\n"
            f"users: [{{name: u, user: {{{token_line}}}}}]\n"
            "contexts: [{name: c, context: {cluster: c, user: u}}]\n")


@pytest.fixture
def start(launch):
    """start(api, token_file=False, ca=None, synced=True) -> Petdns."""

    def _start(api, token_file=False, ca=None, synced=True):
        tmp = launch.tmp_path
        if token_file:
            (tmp / "token").write_text(TOKEN + "\n")
            user = "tokenFile: token"
        else:
            user = f"token: {TOKEN}"
        (tmp / "kubeconfig").write_text(kubeconfig(api, user, ca))
        metrics_port, ready_port = free_port(), free_port()

        def config(port):
            listen = [f'"127.0.0.1:{port}"'] + ([f'"[::1]:{port}"'] if HAVE_IPV6 else [])
            return (f'[[server]]\nlisten = [{", ".join(listen)}]\nzones = ["cluster.local."]\n'
                    '[server.kubernetes]\nkubeconfig = "kubeconfig"\n'
                    f'[server.metrics]\nlisten = "127.0.0.1:{metrics_port}"\n'
                    f'[server.ready]\nlisten = "127.0.0.1:{ready_port}"\n')

        p = Petdns(launch(config, files=()), metrics_port, ready_port)
        if synced:
            wait_for(lambda: p.ready()[0] == 200, timeout=10, what="ready")
            wait_for(lambda: p.served("web.default.svc.cluster.local.") == ["10.96.0.5"])
            p.assert_known_good()
            # Every watch open, so a fault injected on "open watches" hits them.
            assert api.wait_for_watches(3, timeout=5)
        return p
    return _start


@pytest.fixture
def api():
    srv = FakeApiServer(token=TOKEN, bookmark_interval=1.0)
    srv.start()
    seed(srv)
    yield srv
    srv.stop()


# ---- before the first sync --------------------------------------------------------------------

def test_refused_before_first_sync_is_not_ready_then_syncs(start):
    """Nothing listens yet: SERVFAIL for cluster names, /ready 503 naming kubernetes, errors
    counted and logged; once the API server comes up petdns syncs and turns ready."""
    api = FakeApiServer(token=TOKEN, bookmark_interval=1.0, port=free_port())
    try:
        p = start(api, synced=False)
        p.wait_log(r"services: list at resourceVersion 0 failed: [^\n]*(refused|connect)[^\n]*"
                   r"; retrying in")
        wait_for(lambda: p.api_errors() >= 1, what="api_errors_total")
        status, body = p.ready()
        assert status == 503 and "kubernetes" in body.splitlines()
        assert p.srv.query("web.default.svc.cluster.local.").rcode() == dns.rcode.SERVFAIL
        api.start()
        seed(api)
        wait_for(lambda: p.ready()[0] == 200, timeout=RECOVERY, what=f"ready:\n{p.log()}")
        p.assert_known_good()
        wait_for(lambda: p.metric("petdns_kubernetes_list_total", resource="services") >= 1)
    finally:
        api.stop()


# ---- after the first sync: the last data keeps being served -----------------------------------

def test_refused_after_sync_keeps_records_then_recovers(api, start):
    p = start(api)
    with Prober(p.srv, KNOWN):
        api.stop()  # its watches end; every re-watch now gets ECONNREFUSED
        p.wait_log(r"services: watch: [^\n]*(refused|connect)[^\n]*re-watching from "
                   r"resourceVersion \d+")
        wait_for(lambda: p.api_errors() >= 1, what="api_errors_total")
        time.sleep(1.0)
        assert p.ready()[0] == 200  # stale but served
        wait_for(lambda: p.metric("petdns_kubernetes_last_sync_age_seconds",
                                  resource="services") >= 1)
        api.start()  # same port, same data and history: the watches resume where they were
        p.assert_recovers(api)


def test_watch_hanging_mid_stream_keeps_records_then_recovers(api, start):
    """A watch that sends headers and then nothing: petdns cannot tell it from a quiet cluster
    until watch_inactivity_timeout (150 s, no knob), so no log line within this test; the sign
    is petdns_kubernetes_last_sync_age_seconds{resource="services"} growing while the other
    resources (with bookmarks every second) stay current. Records and /ready stay."""
    p = start(api)
    with Prober(p.srv, KNOWN):
        api.hang_next(1, path_regex=SERVICES_WATCH)
        api.close_watches(path_regex=SERVICES_WATCH)  # petdns re-watches into the hang
        wait_for(lambda: api.state()["hangingRequests"] >= 1, timeout=5, what="hung watch")
        api.create(cluster_ip("during", "10.96.0.66"))  # not seen while the watch hangs
        wait_for(lambda: p.metric("petdns_kubernetes_last_sync_age_seconds",
                                  resource="services") >= 3, timeout=8, what="age grows")
        assert p.metric("petdns_kubernetes_last_sync_age_seconds", resource="endpointslices") < 3
        assert p.ready()[0] == 200
        assert p.srv.query("during.default.svc.cluster.local.").rcode() == dns.rcode.NXDOMAIN
        api.reset_faults()  # the hung watch ends; petdns watches again from its last version
        wait_for(lambda: p.served("during.default.svc.cluster.local.") == ["10.96.0.66"],
                 timeout=RECOVERY, what=f"during served:\n{p.log()[-3000:]}")
        p.assert_recovers(api)


def test_watch_cut_mid_chunk_keeps_records_then_recovers(api, start):
    """The next event arrives as a chunk header announcing the whole event and only half of
    it, then the connection is reset: logged, re-watched from the last version (no relist),
    and the event arrives again."""
    p = start(api)
    restarts = p.metric("petdns_kubernetes_watch_restarts_total", resource="services")
    with Prober(p.srv, KNOWN):
        api.drop_watches(mid_event=True, truncate_chunk=True, path_regex=SERVICES_WATCH)
        api.create(cluster_ip("cut", "10.96.0.67"))
        p.wait_log(r"services: watch: [^\n]*re-watching from resourceVersion \d+")
        wait_for(lambda: p.served("cut.default.svc.cluster.local.") == ["10.96.0.67"],
                 timeout=RECOVERY, what=f"cut served:\n{p.log()[-3000:]}")
        wait_for(lambda: p.api_errors() >= 1)
        wait_for(lambda: p.metric("petdns_kubernetes_watch_restarts_total", resource="services")
                 > restarts)
        assert p.metric("petdns_kubernetes_relist_total", resource="services") == 0
        assert p.ready()[0] == 200
        p.assert_recovers(api)


def test_http_500_on_watch_keeps_records_then_recovers(api, start):
    p = start(api)
    with Prober(p.srv, KNOWN):
        api.fail_next(1, 500, path_regex=SERVICES_WATCH)
        settle()
        api.close_watches(path_regex=SERVICES_WATCH)
        p.wait_log(r"services: watch: HTTP 500: [^\n]*injected failure; re-watching in \S+")
        wait_for(lambda: p.api_errors() >= 1, what="error counted")
        assert p.ready()[0] == 200
        p.assert_recovers(api)


def test_http_500_on_list_keeps_records_then_recovers(api, start):
    """A relist (after 410 on the watch) that gets 500: the old objects stay until a list
    succeeds; nothing is dropped in between."""
    p = start(api)
    with Prober(p.srv, KNOWN):
        api.fail_next(1, 500, path_regex=SERVICES_LIST)
        api.error_watches(code=410, path_regex=SERVICES_WATCH)
        p.wait_log(r"services: list at resourceVersion \d+: HTTP 500: [^\n]*injected failure; "
                   r"retrying in \S+")
        assert p.ready()[0] == 200
        p.assert_recovers(api)
        wait_for(lambda: p.metric("petdns_kubernetes_relist_total", resource="services") >= 1)


def test_http_429_waits_for_retry_after(api, start):
    p = start(api)
    with Prober(p.srv, KNOWN):
        api.fail_next(1, 429, path_regex=SERVICES_WATCH, retry_after=3)
        settle()
        api.clear_requests()
        api.close_watches(path_regex=SERVICES_WATCH)
        p.wait_log(r"services: watch: HTTP 429: [^\n]*; re-watching in [3-5]\.\ds")
        wait_for(lambda: p.api_errors() >= 1)
        assert p.ready()[0] == 200
        p.assert_recovers(api)
    watches = [r["time"] for r in api.request_log()
               if re.search(SERVICES_WATCH, r["path"])]
    assert len(watches) >= 2
    assert watches[1] - watches[0] >= 2.9, "Retry-After: 3 must be honoured"


@pytest.mark.parametrize("form", ["error_event", "http_status"])
def test_410_gone_relists_and_keeps_records(api, start, form):
    p = start(api)
    with Prober(p.srv, KNOWN):
        api.compact()
        if form == "error_event":
            api.error_watches(code=410, path_regex=SERVICES_WATCH)
            p.wait_log(r"services: watch: ERROR event 410 Expired: too old resource version")
        else:
            api.fail_next(1, 410, path_regex=SERVICES_WATCH)
            settle()
            api.close_watches(path_regex=SERVICES_WATCH)
            p.wait_log(r"services: watch: HTTP 410: [^\n]*; relisting in")
        wait_for(lambda: p.metric("petdns_kubernetes_relist_total", resource="services") >= 1,
                 timeout=RECOVERY, what="relist counted")
        assert p.ready()[0] == 200
        p.assert_recovers(api)


def test_garbage_json_on_watch_and_list_keeps_records_then_recovers(api, start):
    """A watch line that is not JSON makes petdns relist; the relist gets a list cut off in the
    middle of an item. Both are logged and counted, the objects stay, the next list succeeds."""
    p = start(api)
    with Prober(p.srv, KNOWN):
        api.garbage_next_lists(1, path_regex=SERVICES_LIST)
        api.garbage_watches(path_regex=SERVICES_WATCH)
        p.wait_log(r"services: watch: [^\n]*; relisting in \S+")
        p.wait_log(r"services: list at resourceVersion \d+: response is not a JSON object "
                   r"[^\n]*; retrying in \S+")
        wait_for(lambda: p.api_errors() >= 2, timeout=RECOVERY, what="two errors counted")
        assert p.ready()[0] == 200
        p.assert_recovers(api)
        wait_for(lambda: p.metric("petdns_kubernetes_relist_total", resource="services") >= 1)


def test_expired_token_is_reread_from_the_token_file(api, start):
    """The API server stops accepting the token (expired): 401 on every request. petdns logs it,
    re-reads its tokenFile on each 401 and recovers once the kubelet has rotated the file."""
    p = start(api, token_file=True)
    with Prober(p.srv, KNOWN):
        api.set_token(ROTATED)
        settle()
        api.close_watches()
        p.wait_log(r"services: watch: HTTP 401: Unauthorized; re-reading the token file; "
                   r"re-watching in \S+")
        wait_for(lambda: p.api_errors() >= 1)
        assert p.ready()[0] == 200
        (p.srv.workdir / "token.new").write_text(ROTATED + "\n")
        (p.srv.workdir / "token.new").replace(p.srv.workdir / "token")  # as the kubelet does
        p.assert_recovers(api)
    assert any(r["authorization"] == f"Bearer {ROTATED}" for r in api.request_log())


def test_certificate_from_an_untrusted_ca_keeps_records_then_recovers(start, tmp_path):
    """The API server comes back with a certificate signed by a CA petdns does not trust (a
    botched certificate rotation): every TLS handshake fails and is logged; the old data stays;
    with the right certificate again petdns resumes."""
    good_dir, bad_dir = tmp_path / "good-ca", tmp_path / "bad-ca"
    api = FakeApiServer(tls=True, token=TOKEN, bookmark_interval=1.0, cert_dir=str(good_dir))
    api.start()
    try:
        seed(api)
        trusted = tmp_path / "trusted-ca.crt"
        shutil.copy(api.ca_file, trusted)
        FakeApiServer(tls=True, cert_dir=str(bad_dir)).start().stop()  # makes bad_dir's certs
        saved = tmp_path / "saved"
        shutil.copytree(good_dir, saved)
        p = start(api, ca=str(trusted))
        with Prober(p.srv, KNOWN):
            api.stop()
            for f in ("ca.crt", "server.crt", "server.key"):
                shutil.copy(bad_dir / f, good_dir / f)
            api.start()
            p.wait_log(r"services: watch: [^\n]*(certificate|SSL)[^\n]*; re-watching")
            wait_for(lambda: p.api_errors() >= 1)
            assert p.ready()[0] == 200
            api.stop()
            for f in ("ca.crt", "server.crt", "server.key"):
                shutil.copy(saved / f, good_dir / f)
            api.start()
            p.assert_recovers(api)
    finally:
        api.stop()

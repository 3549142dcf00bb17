"""Secrets never leak (issue 8): petdns watches the fake API server with a known bearer token,
requests fail with 401 and 500 (one error message even quotes the Authorization header back),
and the token appears neither in petdns's log (at debug level) nor in /metrics.
"""
import pathlib
import re
import sys
import time
import urllib.request

import dns.rcode
import pytest

from conftest import free_port, wait_for

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fake_apiserver"))
from fake_apiserver import FakeApiServer  # noqa: E402

TOKEN = "tok-9f8e7d6c5b4a-must-never-be-logged"


@pytest.fixture
def api():
    srv = FakeApiServer(token=TOKEN, bookmark_interval=1.0)
    srv.start()
    srv.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
    yield srv
    srv.stop()


def kubeconfig(url):
    return f"""apiVersion: v1
kind: Config
current-context: t
clusters:
- name: t
  cluster:
    server: {url}
users:
- name: t
  user:
    token: {TOKEN}
contexts:
- name: t
  context: {{cluster: t, user: t}}
"""


def metrics_text(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
        return r.read().decode()


def api_errors(port):
    return sum(float(v) for v in re.findall(
        r"^petdns_kubernetes_api_errors_total\{[^}]*\} (\S+)$", metrics_text(port), re.M))


def test_token_never_in_logs_or_metrics(launch, api):
    (launch.tmp_path / "kubeconfig").write_text(kubeconfig(api.url))
    metrics_port = free_port()

    def config(port):
        return (f'[global]\nlog_level = "debug"\n\n'
                f'[[server]]\nlisten = ["127.0.0.1:{port}"]\nzones = ["cluster.local."]\n'
                f'[server.kubernetes]\nkubeconfig = "kubeconfig"\n'
                f'[server.metrics]\nlisten = "127.0.0.1:{metrics_port}"\n')

    srv = launch(config, files=())
    wait_for(lambda: srv.query("nosuch.default.svc.cluster.local.").rcode() == dns.rcode.NXDOMAIN,
             what="first sync")
    # Failing requests: 401, 500, and a 500 whose message echoes the request's credentials.
    before = api_errors(metrics_port)
    api.fail_next(count=2, status=401)
    api.fail_next(count=2, status=500,
                  message=f"upstream said: Authorization: Bearer {TOKEN} was bad")
    api.error_watches(code=500, message=f"Bearer {TOKEN}")
    wait_for(lambda: api_errors(metrics_port) >= before + 3, timeout=15, what="api errors")
    # A 401 that lasts until the token changes, then a rotation back to a working token.
    api.set_unauthorized_until_token_change(True)
    api.error_watches(code=410)
    wait_for(lambda: "401" in srv.log() or "Unauthorized" in srv.log(), timeout=15,
             what="401 logged")
    api.set_token(TOKEN)
    time.sleep(0.5)
    log = srv.log()
    assert "Unauthorized" in log or "401" in log, log[-2000:]
    assert TOKEN not in log, "the bearer token leaked into the log"
    assert TOKEN not in metrics_text(metrics_port), "the bearer token leaked into /metrics"

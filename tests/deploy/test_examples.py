"""deploy/examples/ is both the laptop default's data and a set of walkthrough manifests:
petdns serves it without a warning, every StatefulSet's pets resolve, and the peer-finder
commands the manifests give their init containers and sidecars work against it, run with the
manifests' own arguments (paths moved into a tmp dir, pointed at the local petdns)."""
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys

import dns.rdatatype
import pytest

import k8s_check

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from conftest import free_port, petdns_bin, start_server, wait_for  # noqa: E402

EXAMPLES = REPO / "deploy" / "examples"
RESOLV_CONF = REPO / "tests" / "e2e" / "testdata" / "peer_finder" / "resolv.conf"


def example_objects():
    return [o for p in sorted(EXAMPLES.glob("*.y*ml"))
            for o in k8s_check.load_documents(p.read_text(), str(p))]


def workload(kind, name):
    return next(o for o in example_objects() if o["kind"] == kind and
                o["metadata"]["name"] == name)


def container(statefulset, name):
    spec = workload("StatefulSet", statefulset)["spec"]["template"]["spec"]
    return next(c for c in k8s_check.containers_of(spec) if c["name"] == name)


@pytest.fixture(scope="module")
def laptop():
    """The laptop default (deploy/examples/petdns.toml) on a free port."""
    import tempfile
    work = pathlib.Path(tempfile.mkdtemp(prefix="petdns-examples-"))
    for f in EXAMPLES.iterdir():
        if f.is_file():
            shutil.copy(f, work / f.name)
    port = free_port()
    config = (EXAMPLES / "petdns.toml").read_text().replace(":1053", f":{port}")
    srv = start_server(petdns_bin(), work, config)
    wait_for(lambda: srv.query("web-0.nginx.default.svc.cluster.local.").answer, timeout=8)
    yield srv
    srv.stop()
    shutil.rmtree(work, ignore_errors=True)


def test_laptop_default_serves_the_examples_without_warnings(laptop):
    lines = [l for l in laptop.log().splitlines() if l.strip()]
    assert lines and all(l.startswith("[INFO]") for l in lines), laptop.log()


def test_every_example_statefulset_resolves(laptop):
    sets = [o for o in example_objects() if o["kind"] == "StatefulSet"]
    assert {s["metadata"]["name"] for s in sets} >= {"web", "vm", "kv", "db"}
    for s in sets:
        service = s["spec"]["serviceName"]
        msg = laptop.query(f"{service}.default.svc.cluster.local.", "SRV")
        targets = sorted(str(r.target) for rr in msg.answer if rr.rdtype == dns.rdatatype.SRV
                         for r in rr)
        name = s["metadata"]["name"]
        assert targets == [f"{name}-{i}.{service}.default.svc.cluster.local."
                           for i in range(s["spec"]["replicas"])], (service, targets)


def peer_finder():
    link = pathlib.Path(petdns_bin()).parent / "peer-finder"
    if not link.exists():
        pytest.skip(f"{link} not built")
    return str(link)


def local_flags(laptop, hostname):
    return [f"-dns-server=127.0.0.1:{laptop.port}", f"-resolv-conf={RESOLV_CONF}",
            f"-hostname={hostname}"]


def env():
    return dict(os.environ, POD_NAMESPACE="default")


def test_nginx_init_container_writes_the_walkthrough_config(laptop, tmp_path):
    c = container("web", "peers")
    assert c["command"] == ["peer-finder"] and c["image"].startswith("petdns:")
    args = [a.replace("/conf/", f"{tmp_path}/") for a in c["args"]]
    res = subprocess.run([peer_finder(), *args, *local_flags(laptop, "web-1")],
                         capture_output=True, text=True, timeout=30, env=env())
    assert res.returncode == 0, res.stderr
    conf = (tmp_path / "nginx.conf").read_text()
    assert "proxy_pass http://web-0.nginx.default.svc.cluster.local" in conf, conf


def test_sidecar_on_change_keeps_the_peer_list(laptop, tmp_path):
    c = container("kv", "peer-finder")
    assert c["command"] == ["peer-finder"] and any(a.startswith("-on-change=") for a in c["args"])
    args = [a.replace("/shared/", f"{tmp_path}/") for a in c["args"]]
    proc = subprocess.Popen([peer_finder(), *args, *local_flags(laptop, "kv-0")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env())
    try:
        peers = tmp_path / "peers"
        wait_for(lambda: peers.read_text().split() == [
            f"kv-{i}.kv.default.svc.cluster.local" for i in range(3)], timeout=15,
            what="the sidecar's peers file")
        assert proc.poll() is None, "an -on-change sidecar must keep running"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=5)


def test_shared_hosts_file_init_container(laptop, tmp_path):
    c = container("db", "hosts")
    assert c["command"] == ["/bin/sh", "-c"]
    script = c["args"][0].replace("/shared/", f"{tmp_path}/")
    script = script.replace("exec peer-finder ", "exec " + " ".join(
        [peer_finder(), *local_flags(laptop, "db-0")]) + " ")
    assert peer_finder() in script
    res = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, timeout=30,
                         env=env())
    assert res.returncode == 0, res.stderr
    hosts = (tmp_path / "hosts").read_text()
    assert re.search(r"^127\.0\.0\.1\s+localhost", hosts, re.M), hosts  # the pod's own lines
    for pet in ("db-0", "db-1"):
        assert re.search(rf"^\S+\t{pet}\.db\.default\.svc\.cluster\.local {pet}\.db {pet}$",
                         hosts, re.M), hosts
    sidecar = container("db", "peer-finder")
    assert "-hosts-file=/etc/hosts" in sidecar["args"] and "-on-change=true" in sidecar["args"]
    assert {m["mountPath"]: m.get("subPath") for m in sidecar["volumeMounts"]} == \
        {"/etc/hosts": "hosts"}

"""Fault injection, files: the file plugin's zone file and the kubernetes plugin's manifests
directory deleted, made unreadable, or written half-way (cut inside a record) and then completed.

Each case: a prober keeps asking for records served before the fault and none may fail; the log
names the file (and line, for a parse error); the zone cases move
`petdns_file_reload_failures_total{zone}`; `/ready` stays 200; after the fault is removed, new
data is served. chmod 000 cannot lock out root, so those cases skip when the suite runs as root.
"""
import os
import re
import shutil
import time

import dns.rcode
import pytest

from conftest import HAVE_IPV6, REPO, Prober, free_port, wait_for
from test_metrics_health import http_get, parse_metrics, value


def answers(msg):
    return sorted(r.to_text() for rrset in msg.answer for r in rrset)


ZONE = "example.org.zone"
AS_ROOT = os.geteuid() == 0
EXAMPLES = REPO / "deploy" / "examples"


def observe(srv, metrics_port, ready_port):
    def metric(name, **labels):
        status, text = http_get(metrics_port, "/metrics")
        assert status == 200
        return value(parse_metrics(text)[1], name, **labels)
    srv.metric = metric
    srv.ready = lambda: http_get(ready_port, "/ready")[0]
    return srv


def listen(port):
    return ", ".join([f'"127.0.0.1:{port}"'] + ([f'"[::1]:{port}"'] if HAVE_IPV6 else []))


# ---- zone files (file plugin) ----------------------------------------------------------------

@pytest.fixture
def zone_server(launch):
    metrics_port, ready_port = free_port(), free_port()

    def config(port):
        return (f'[[server]]\nlisten = [{listen(port)}]\nzones = ["example.org."]\n'
                f'[server.file]\npath = "{ZONE}"\nreload = "250ms"\n'
                f'[server.metrics]\nlisten = "127.0.0.1:{metrics_port}"\n'
                f'[server.ready]\nlisten = "127.0.0.1:{ready_port}"\n')
    srv = observe(launch(config), metrics_port, ready_port)
    srv.zone = srv.workdir / ZONE
    srv.records = {("www.example.org.", "A"): ["192.0.2.10"],
                   ("mail.example.org.", "A"): ["192.0.2.25"],
                   ("example.org.", "NS"): ["ns1.example.org.", "ns2.example.org."]}
    for (name, rdtype), want in srv.records.items():
        assert answers(srv.query(name, rdtype)) == want
    return srv


def failures(srv):
    return srv.metric("petdns_file_reload_failures_total", zone="example.org.")


def with_new_record(text):
    """The zone with a new serial and one more name, for checking recovery."""
    text = text.replace("2026112201 ; serial", "2026112299 ; serial")
    return text + "recovered IN A 192.0.2.99\n"


def assert_recovered(srv):
    wait_for(lambda: answers(srv.query("recovered.example.org.")) == ["192.0.2.99"],
             what=f"recovered served:\n{srv.log()[-2000:]}")
    assert srv.metric("petdns_file_reloads_total", zone="example.org.") >= 1


def test_zone_file_deleted_keeps_records_then_recovers(zone_server):
    srv = zone_server
    good = srv.zone.read_text()
    with Prober(srv, srv.records):
        srv.zone.unlink()
        pattern = re.escape(str(srv.zone)) + r": No such file or directory; still serving " \
                                             r"serial 2026112201"
        wait_for(lambda: re.search(pattern, srv.log()), what=f"/{pattern}/:\n{srv.log()}")
        wait_for(lambda: failures(srv) == 1, what="failure counted once")
        time.sleep(0.6)  # more polls: logged and counted once only
        assert failures(srv) == 1 and len(re.findall(pattern, srv.log())) == 1
        assert srv.ready() == 200
        srv.zone.write_text(with_new_record(good))
        assert_recovered(srv)
    assert f"{srv.zone}: present again" in srv.log()


@pytest.mark.parametrize("how", ["chmod", "directory"])
def test_zone_file_unreadable_keeps_records_then_recovers(zone_server, how):
    if how == "chmod" and AS_ROOT:
        pytest.skip("root reads a chmod 000 file")
    srv = zone_server
    good = srv.zone.read_text()
    with Prober(srv, srv.records):
        if how == "chmod":
            srv.zone.chmod(0)  # a status change: the poll tries it and fails
        else:
            srv.zone.unlink()
            srv.zone.mkdir()  # something unreadable as a zone where the file was
        wait_for(lambda: "reload failed, still serving serial 2026112201" in srv.log(),
                 what=f"reload failure logged:\n{srv.log()}")
        assert str(srv.zone) in srv.log()
        wait_for(lambda: failures(srv) >= 1, what="failure counted")
        assert srv.ready() == 200
        if how == "chmod":
            srv.zone.chmod(0o644)
            srv.zone.write_text(with_new_record(good))
        else:
            srv.zone.rmdir()
            srv.zone.write_text(with_new_record(good))
        assert_recovered(srv)


def test_zone_file_half_written_then_completed(zone_server):
    """A writer caught half-way: the file ends inside a record. The reload fails at that line,
    the whole old zone stays; once the rest is written the new zone is served."""
    srv = zone_server
    full = with_new_record(srv.zone.read_text())
    cut = full.index("192.0.2.25") + len("192.0.")  # inside mail's address
    with Prober(srv, srv.records):
        with open(srv.zone, "w") as f:  # in place, as a slow writer would
            f.write(full[:cut])
            f.flush()
            line = full[:cut].count("\n") + 1
            pattern = rf"{re.escape(ZONE)}:{line}:"
            wait_for(lambda: re.search(pattern, srv.log()),
                     what=f"/{pattern}/ in the log:\n{srv.log()}")
            wait_for(lambda: failures(srv) >= 1, what="failure counted")
            assert srv.ready() == 200
            f.write(full[cut:])
        assert_recovered(srv)


# ---- manifests (kubernetes plugin) -----------------------------------------------------------

@pytest.fixture
def cluster(launch):
    manifests = launch.tmp_path / "manifests"
    manifests.mkdir()
    for f in EXAMPLES.glob("*.yaml"):
        shutil.copy(f, manifests / f.name)
    metrics_port, ready_port = free_port(), free_port()

    def config(port):
        return (f'[[server]]\nlisten = [{listen(port)}]\n'
                'zones = ["cluster.local."]\n[server.kubernetes]\nmanifests = "manifests"\n'
                f'[server.metrics]\nlisten = "127.0.0.1:{metrics_port}"\n'
                f'[server.ready]\nlisten = "127.0.0.1:{ready_port}"\n')
    srv = observe(launch(config, files=()), metrics_port, ready_port)
    srv.manifests = manifests
    srv.web = manifests / "nginx-web.yaml"
    wait_for(lambda: srv.ready() == 200, what="ready")
    srv.records = {
        ("web-0.nginx.default.svc.cluster.local.", "A"):
            answers(srv.query("web-0.nginx.default.svc.cluster.local.")),
        ("nginx.default.svc.cluster.local.", "SRV"):
            answers(srv.query("nginx.default.svc.cluster.local.", "SRV")),
    }
    assert all(srv.records.values()), srv.records
    assert len(srv.records[("nginx.default.svc.cluster.local.", "SRV")]) == 2
    return srv


def scale_to_3(srv, text):
    srv.web.write_text(text.replace("replicas: 2", "replicas: 3"))
    wait_for(lambda: srv.query("web-2.nginx.default.svc.cluster.local.").answer,
             what=f"web-2 served:\n{srv.log()[-2000:]}")


def test_manifest_half_written_then_completed(cluster):
    """Cut inside a record and left so for several polls: the parse error names the file and
    line, the file's last good objects stay; completing it is picked up."""
    srv = cluster
    full = srv.web.read_text().replace("replicas: 2", "replicas: 3")
    cut = full.index("replicas: 3") + len("repl")
    errors_before = srv.metric("petdns_kubernetes_manifest_errors_total")
    with Prober(srv, srv.records):
        srv.web.write_text(full[:cut] + "\n  selector: [")  # "repl" + an unclosed flow sequence
        wait_for(lambda: re.search(r"nginx-web\.yaml:\d+", srv.log()),
                 what=f"parse error with file:line:\n{srv.log()}")
        wait_for(lambda: srv.metric("petdns_kubernetes_manifest_errors_total") > errors_before,
                 what="petdns_kubernetes_manifest_errors_total counted the parse error")
        time.sleep(0.6)  # several more polls
        assert srv.ready() == 200
    srv.web.write_text(full)  # (the prober would see web-2 join: stop it first)
    wait_for(lambda: srv.query("web-2.nginx.default.svc.cluster.local.").answer,
             what=f"web-2 served:\n{srv.log()[-2000:]}")


def test_manifest_unreadable_keeps_records_then_recovers(cluster):
    if AS_ROOT:
        pytest.skip("root reads a chmod 000 file")
    srv = cluster
    text = srv.web.read_text()
    with Prober(srv, srv.records):
        srv.web.chmod(0)
        srv.web.touch()  # a new mtime, so the poll looks at it again
        wait_for(lambda: "nginx-web.yaml" in srv.log() and "ermission" in srv.log(),
                 what=f"unreadable file logged:\n{srv.log()}")
        time.sleep(0.6)
        assert srv.ready() == 200
        srv.web.chmod(0o644)
    scale_to_3(srv, text)


def test_manifest_directory_removed_keeps_records_then_recovers(cluster):
    """The whole directory gone (a volume being remounted): everything published stays."""
    srv = cluster
    text = srv.web.read_text()
    away = srv.manifests.with_name("manifests.away")
    errors_before = srv.metric("petdns_kubernetes_manifest_errors_total")
    with Prober(srv, srv.records):
        srv.manifests.rename(away)
        wait_for(lambda: re.search(r"manifests[^\n]*(No such file|not found|cannot)",
                                   srv.log()), what=f"missing directory logged:\n{srv.log()}")
        wait_for(lambda: srv.metric("petdns_kubernetes_manifest_errors_total") > errors_before,
                 what="petdns_kubernetes_manifest_errors_total counted the missing directory")
        time.sleep(0.6)
        assert srv.ready() == 200
        away.rename(srv.manifests)
    scale_to_3(srv, text)


def test_manifest_file_deleted_removes_its_objects(cluster):
    """Deleting a manifest is how an object is deleted (as `kubectl delete -f`): its names go,
    the other files' stay, and the summary line says what is served."""
    srv = cluster
    text = srv.web.read_text()
    srv.web.unlink()
    wait_for(lambda: srv.query("web-0.nginx.default.svc.cluster.local.").rcode()
             == dns.rcode.NXDOMAIN, what="web-0 gone")
    assert srv.query("ub.default.svc.cluster.local.", "SRV").answer  # from ub-vm.yaml
    assert srv.ready() == 200
    scale_to_3(srv, text)

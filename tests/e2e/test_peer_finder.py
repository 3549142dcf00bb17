"""peer-finder end to end: the real binary, invoked as `peer-finder` (a symlink to petdns), against
a real petdns serving cluster.local.

The cluster DNS comes from one fixture, `cluster`, built by one of the functions in
CLUSTER_SOURCES: a hand-written file zone (tests/e2e/testdata/peer_finder/cluster.local.zone) or
the kubernetes plugin's manifests source serving deploy/examples/. Both describe the same
StatefulSets: web (service nginx) and vm (service ub) with two pets each in namespace default.
Tests that only check peer-finder itself run on the file zone alone.

peer-finder runs as the pod would, with the resolv.conf of a pod (search
default.svc.cluster.local svc.cluster.local cluster.local, ndots:5), but pointed at petdns's
loopback port with -dns-server and given its pod name with -hostname. test_in_a_pod_namespace
runs it with no extension flags at all, in private UTS+mount+network namespaces where petdns
listens on 127.0.0.1:53. Every run is bounded in time; long-running ones are killed at teardown.
"""

import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import dns.rdatatype
import pytest

from conftest import HAVE_IPV6, TESTDATA, _die_with_parent, server_config
from conftest import wait_for as _wait_for

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "deploy" / "examples"
PF_DATA = TESTDATA / "peer_finder"
RESOLV_CONF = PF_DATA / "resolv.conf"

RUN_TIMEOUT = 20.0  # any single peer-finder run
WAIT_TIMEOUT = 15.0  # waiting for a log line or for DNS data to change


def wait_for(predicate, timeout=WAIT_TIMEOUT, **kw):
    return _wait_for(predicate, timeout, **kw)

STAMP = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ", re.M)

WEB = ["web-%d.nginx.default.svc.cluster.local" % i for i in range(5)]
VM = ["vm-%d.ub.default.svc.cluster.local" % i for i in range(2)]

# The walkthrough's nginx on-start script (petset-runtime-initialization.md, "Nginx master/slave
# cluster") as the shell received it: the page shows it inside a JSON string, hence its \".
# Only the output path differs (/conf/nginx.conf there).
NGINX_ON_START = """echo `
readarray PEERS;
if [ 1 = ${#PEERS[@]} ]; then
  echo "events{} http { server{ } }";
else
  echo "events{} http { server{ location / { proxy_pass http://${PEERS[0]}; } } }";
fi;` > %s"""


def strip_stamps(text):
    """Replace each entry's "YYYY/MM/DD HH:MM:SS " with "TS "."""
    return STAMP.sub("TS ", text)



# --------------------------------------------------------------------------------------------
# The cluster DNS: one function per source. Each returns a Cluster.


class Cluster:
    """petdns serving cluster.local.; scale() changes a StatefulSet's replica count."""

    def __init__(self, srv, scale):
        self.srv = srv
        self.port = srv.port
        self._scale = scale

    def srv_targets(self, service):
        msg = self.srv.query(f"{service}.default.svc.cluster.local.", "SRV")
        return sorted(str(r.target) for rrset in msg.answer
                      if rrset.rdtype == dns.rdatatype.SRV for r in rrset)

    def addresses(self, fqdn):
        msg = self.srv.query(fqdn.rstrip(".") + ".", "A")
        return sorted(r.address for rrset in msg.answer
                      if rrset.rdtype == dns.rdatatype.A for r in rrset)

    def scale(self, statefulset, replicas):
        self._scale(statefulset, replicas)
        service = {"web": "nginx", "vm": "ub"}[statefulset]
        wait_for(lambda: len(self.srv_targets(service)) == replicas,
                 what=f"{service} has {replicas} SRV records")


# StatefulSet -> (governing service, first address octet pair base) for the generated zone.
ZONE_SETS = {"vm": ("ub", 10), "web": ("nginx", 20)}


def cluster_zone(replicas):
    """The file zone for {statefulset: replicas}; equals testdata's file for 2 and 2."""
    lines = [(PF_DATA / "cluster.local.zone").read_text().split("; StatefulSet vm")[0].rstrip(),
             ""]
    for name, (service, base) in ZONE_SETS.items():
        lines.append(f"; StatefulSet {name} (service {service}, namespace default)")
        for i in range(replicas[name]):
            lines.append(f"{service}.default.svc IN SRV 0 50 80 "
                         f"{name}-{i}.{service}.default.svc.cluster.local.")
        for i in range(replicas[name]):
            lines.append(f"{name}-{i}.{service}.default.svc IN A 10.244.{i % 2 + 1}.{base + i}")
        lines.append("")
    return "\n".join(lines)


def file_zone_cluster(launch):
    """petdns with a file zone for cluster.local. (reload = 1s); scaling rewrites the file."""
    work = launch.tmp_path
    shutil.copy(PF_DATA / "cluster.local.zone", work / "cluster.local.zone")
    srv = launch(lambda port: server_config(port, [
        {"zones": ["cluster.local."], "path": '"cluster.local.zone"', "reload": '"1s"'}]),
        files=())
    replicas = {"vm": 2, "web": 2}

    def scale(statefulset, n):
        replicas[statefulset] = n
        tmp = work / "cluster.local.zone.new"
        tmp.write_text(cluster_zone(replicas))
        os.replace(tmp, work / "cluster.local.zone")

    return Cluster(srv, scale)


def manifests_cluster(launch):
    """petdns's kubernetes plugin serving a private copy of deploy/examples/*.yaml."""
    work = launch.tmp_path
    manifests = work / "manifests"
    manifests.mkdir()
    for f in EXAMPLES.glob("*.yaml"):
        shutil.copy(f, manifests / f.name)
    listen = ['"127.0.0.1:{port}"'] + (['"[::1]:{port}"'] if HAVE_IPV6 else [])
    template = ("[[server]]\nlisten = [" + ", ".join(listen) + "]\n"
                'zones = ["cluster.local.", "in-addr.arpa."]\n'
                '[server.kubernetes]\nmanifests = "manifests"\n')
    srv = launch(lambda port: template.replace("{port}", str(port)), files=())
    files = {"web": manifests / "nginx-web.yaml", "vm": manifests / "ub-vm.yaml"}

    def scale(statefulset, n):
        path = files[statefulset]
        text = re.sub(r"(?m)^  replicas: \d+$", f"  replicas: {n}", path.read_text(), count=1)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)

    cluster = Cluster(srv, scale)
    wait_for(lambda: len(cluster.srv_targets("nginx")) == 2, what="manifests served")
    return cluster


CLUSTER_SOURCES = {"file": file_zone_cluster, "manifests": manifests_cluster}
FILE_ONLY = pytest.mark.parametrize("cluster", ["file"], indirect=True)


@pytest.fixture(params=list(CLUSTER_SOURCES))
def cluster(request, launch):
    return CLUSTER_SOURCES[request.param](launch)


# --------------------------------------------------------------------------------------------
# Running peer-finder.


@pytest.fixture
def peer_finder(binary, tmp_path):
    """tmp/bin/peer-finder -> the petdns binary: the install step's name, so argv[0] selects it."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    link = bindir / "peer-finder"
    link.symlink_to(os.path.abspath(binary))
    return str(link)


def pod_flags(cluster, hostname, resolv_conf=RESOLV_CONF):
    return ["-hostname", hostname, "-dns-server", f"127.0.0.1:{cluster.port}",
            "-resolv-conf", str(resolv_conf)]


def run(peer_finder, args, timeout=RUN_TIMEOUT, **kw):
    started = time.monotonic()
    res = subprocess.run([peer_finder, *args], capture_output=True, text=True, timeout=timeout,
                         stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent, **kw)
    res.elapsed = time.monotonic() - started
    res.log = strip_stamps(res.stderr)
    return res


class Background:
    """A peer-finder that keeps running (on-change mode, or waiting); its stderr goes to a file."""

    def __init__(self, peer_finder, args, log_path, **kw):
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen([peer_finder, *args], stdout=subprocess.DEVNULL,
                                         stderr=log, stdin=subprocess.DEVNULL,
                                         preexec_fn=_die_with_parent, **kw)

    def log(self):
        return strip_stamps(self.log_path.read_text(errors="replace"))

    def wait_log(self, predicate, what, timeout=WAIT_TIMEOUT):
        wait_for(lambda: predicate(self.log()), timeout=timeout, interval=0.1,
                 what=f"{what}; log so far:\n{self.log()}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=3)
        return self.proc.returncode


@pytest.fixture
def background(peer_finder, tmp_path):
    started = []

    def _start(args, name="peer-finder.log", **kw):
        bg = Background(peer_finder, args, tmp_path / name, **kw)
        started.append(bg)
        return bg

    yield _start
    for bg in started:
        bg.stop()


def reference_log(peers, script="tee"):
    """The original's output for an on-start run (reference S1), timestamps as "TS "."""
    return ("TS Determined Domain to be default.svc.cluster.local\n"
            "TS Peer list updated\n"
            "was []\n"
            f"now [{' '.join(peers)}]\n"
            f"TS execing: {script} with stdin: " + "\n".join(peers) + "\n"
            "TS " + "\n".join(peers) + "\n"
            "TS Peer finder exiting\n")


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------------------------
# Scenario 1: the walkthrough's `peer-finder -on-start 'tee' -service ub -ns default` in vm-0.


def test_on_start_tee_prints_the_peers_and_exits_0(cluster, peer_finder):
    res = run(peer_finder, ["-on-start", "tee", "-service", "ub", "-ns", "default",
                            *pod_flags(cluster, "vm-0")])
    assert res.returncode == 0, res.stderr
    assert res.log == reference_log(VM), res.stderr
    assert res.stdout == ""  # the original writes to stderr only
    # "Peer finder exiting" comes one poll period after the script.
    assert res.elapsed >= 1.0


@FILE_ONLY
def test_exiting_line_is_one_poll_period_after_the_script(cluster, peer_finder):
    res = run(peer_finder, ["-on-start", "tee", "-service", "nginx", "-ns", "default",
                            *pod_flags(cluster, "web-1")])
    assert res.returncode == 0, res.stderr
    stamps = [time.mktime(time.strptime(m.group(0).strip(), "%Y/%m/%d %H:%M:%S"))
              for m in STAMP.finditer(res.stderr)]
    assert stamps[-1] - stamps[-2] in (1, 2), res.stderr


@FILE_ONLY
def test_petdns_subcommand_is_the_same_program(cluster, binary):
    res = subprocess.run([binary, "peer-finder", "-on-start", "tee", "-service", "ub", "-ns",
                          "default", *pod_flags(cluster, "vm-1")],
                         capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert res.returncode == 0, res.stderr
    assert strip_stamps(res.stderr) == reference_log(VM)


def test_namespace_from_pod_namespace_env(cluster, peer_finder):
    env = dict(os.environ, POD_NAMESPACE="default")
    res = run(peer_finder, ["-on-start", "tee", "-service", "ub", *pod_flags(cluster, "vm-1")],
              env=env)
    assert res.returncode == 0, res.stderr
    assert res.log == reference_log(VM)


# --------------------------------------------------------------------------------------------
# Scenario 2: the nginx master/slave on-start script.


def test_nginx_on_start_script_proxies_to_web_0_with_two_peers(cluster, peer_finder, tmp_path):
    conf = tmp_path / "nginx.conf"
    script = NGINX_ON_START % conf
    for pod in ("web-0", "web-1"):
        res = run(peer_finder, ["-on-start", script, "-service", "nginx", "-ns", "default",
                                *pod_flags(cluster, pod)])
        assert res.returncode == 0, res.stderr
        assert f"TS execing: {script} with stdin: {WEB[0]}\n{WEB[1]}\nTS \n" in res.log
        # readarray keeps each line's newline; the unquoted backquotes turn it into a space.
        assert conf.read_text() == ("events{} http { server{ location / { proxy_pass "
                                    f"http://{WEB[0]} ; }} }} }}\n")


def test_nginx_on_start_script_writes_standalone_config_alone(cluster, peer_finder, tmp_path):
    cluster.scale("web", 1)
    conf = tmp_path / "nginx.conf"
    res = run(peer_finder, ["-on-start", NGINX_ON_START % conf, "-service", "nginx", "-ns",
                            "default", *pod_flags(cluster, "web-0")])
    assert res.returncode == 0, res.stderr
    assert f"now [{WEB[0]}]\n" in res.log
    assert conf.read_text() == "events{} http { server{ } }\n"


# --------------------------------------------------------------------------------------------
# Scenario 3: a sidecar with -on-change sees the StatefulSet grow from 2 to 5 pets.


def test_on_change_sidecar_sees_scaling_from_2_to_5(cluster, background, tmp_path):
    changes = tmp_path / "changes.txt"
    script = f"cat >> {changes}; echo --- >> {changes}"
    bg = background(["-on-change", script, "-service", "nginx", "-ns", "default",
                     *pod_flags(cluster, "web-0")])
    first = ("TS Determined Domain to be default.svc.cluster.local\n"
             f"TS No on-start supplied, on-change {script} will be applied on start.\n"
             "TS Peer list updated\n"
             "was []\n"
             f"now [{WEB[0]} {WEB[1]}]\n"
             f"TS execing: {script} with stdin: {WEB[0]}\n{WEB[1]}\n"
             "TS \n")
    bg.wait_log(lambda log: log.startswith(first), "first run")
    unchanged = ("TS Have not found myself in list yet.\n"
                 f"My Hostname: {WEB[0]}\n"
                 f"Hosts in list: {WEB[0]}, {WEB[1]}\n")
    bg.wait_log(lambda log: unchanged in log, "an unchanged poll")

    cluster.scale("web", 5)
    change = ("TS Peer list updated\n"
              f"was [{WEB[0]} {WEB[1]}]\n"
              f"now [{' '.join(WEB)}]\n"
              f"TS execing: {script} with stdin: " + "\n".join(WEB) + "\nTS \n")
    bg.wait_log(lambda log: change in log, "the change to 5 pets")
    assert bg.proc.poll() is None  # on-change mode never exits by itself
    assert changes.read_text() == "\n".join(WEB[:2]) + "\n---\n" + "\n".join(WEB) + "\n---\n"
    # Killed by SIGTERM like the original: no message, the signal's status.
    assert bg.stop() == -signal.SIGTERM
    assert "Peer finder exiting" not in bg.log()


# --------------------------------------------------------------------------------------------
# Scenario 4: own name missing, DNS down, failing scripts.


@FILE_ONLY
def test_own_name_missing_keeps_polling(cluster, background):
    bg = background(["-on-start", "tee", "-service", "nginx", "-ns", "default",
                     *pod_flags(cluster, "web-7")])
    waiting = ("TS Have not found myself in list yet.\n"
               "My Hostname: web-7.nginx.default.svc.cluster.local\n"
               f"Hosts in list: {WEB[0]}, {WEB[1]}\n")
    bg.wait_log(lambda log: log.count(waiting) >= 3, "three polls")
    assert bg.proc.poll() is None
    assert bg.log().startswith("TS Determined Domain to be default.svc.cluster.local\n" + waiting)
    assert "execing" not in bg.log()


@FILE_ONLY
def test_own_name_missing_with_timeout_exits_1(cluster, peer_finder):
    res = run(peer_finder, ["-on-start", "tee", "-service", "nginx", "-ns", "default",
                            "-timeout", "2s", *pod_flags(cluster, "web-7")])
    assert res.returncode == 1
    waiting = ("TS Have not found myself in list yet.\n"
               "My Hostname: web-7.nginx.default.svc.cluster.local\n"
               f"Hosts in list: {WEB[0]}, {WEB[1]}\n")
    assert res.log == ("TS Determined Domain to be default.svc.cluster.local\n"
                       + waiting * 2
                       + "TS Timed out after 2s waiting to find myself in the list.\n"
                       + waiting.split("\n", 1)[1]), res.stderr
    assert 2.0 <= res.elapsed < 5.0


@FILE_ONLY
def test_own_name_appearing_later_starts_the_script(cluster, background):
    bg = background(["-on-start", "tee", "-service", "nginx", "-ns", "default",
                     *pod_flags(cluster, "web-3")])
    bg.wait_log(lambda log: "My Hostname: web-3.nginx" in log, "a poll without web-3")
    cluster.scale("web", 4)
    bg.wait_log(lambda log: "Peer finder exiting" in log, "the on-start run")
    assert bg.proc.wait(timeout=5) == 0
    assert f"now [{' '.join(WEB[:4])}]\n" in bg.log()


@FILE_ONLY
def test_dns_server_down_is_logged_every_poll(cluster, background):
    port = free_udp_port()
    bg = background(["-on-start", "tee", "-service", "nginx", "-ns", "default",
                     "-hostname", "web-0", "-dns-server", f"127.0.0.1:{port}",
                     "-resolv-conf", str(RESOLV_CONF)])
    error = re.compile(rf"^TS lookup nginx on 127\.0\.0\.1:{port}: read udp "
                       rf"127\.0\.0\.1:\d+->127\.0\.0\.1:{port}: read: connection refused$", re.M)
    bg.wait_log(lambda log: len(error.findall(log)) >= 2, "two refused lookups")
    assert bg.proc.poll() is None  # DNS errors never end the program


@FILE_ONLY
def test_dns_server_down_with_timeout_exits_1(cluster, peer_finder):
    port = free_udp_port()
    res = run(peer_finder, ["-on-start", "tee", "-service", "nginx", "-ns", "default",
                            "-timeout", "1500ms", "-hostname", "web-0",
                            "-dns-server", f"127.0.0.1:{port}", "-resolv-conf", str(RESOLV_CONF)])
    assert res.returncode == 1
    assert "read: connection refused\n" in res.log
    assert res.log.endswith("TS Timed out after 1.5s waiting to find myself in the list.\n"
                            "My Hostname: web-0.nginx.default.svc.cluster.local\n"
                            "Hosts in list: \n"), res.stderr


@FILE_ONLY
def test_unknown_service_is_server_misbehaving(cluster, background):
    # Every search-list name is NXDOMAIN; the bare "nosuch." is outside petdns's zones: REFUSED.
    bg = background(["-on-start", "tee", "-service", "nosuch", "-ns", "default",
                     *pod_flags(cluster, "web-0")])
    line = f"TS lookup nosuch on 127.0.0.1:{cluster.port}: server misbehaving\n"
    bg.wait_log(lambda log: log.count(line) >= 2, "two failed lookups")


@FILE_ONLY
def test_failing_script_is_fatal_with_the_original_message(cluster, peer_finder):
    res = run(peer_finder, ["-on-start", "/nonexistent/script.sh", "-service", "nginx", "-ns",
                            "default", *pod_flags(cluster, "web-0")])
    assert res.returncode == 1
    assert res.log.endswith(
        f"TS execing: /nonexistent/script.sh with stdin: {WEB[0]}\n{WEB[1]}\n"
        "TS Failed to execute /nonexistent/script.sh: bash: line 2: /nonexistent/script.sh: "
        "No such file or directory\n"
        ", err: exit status 127\n"), res.stderr

    res = run(peer_finder, ["-on-start", "cat >/dev/null; echo broken >&2; exit 3", "-service",
                            "nginx", "-ns", "default", *pod_flags(cluster, "web-0")])
    assert res.returncode == 1
    assert res.log.endswith("TS Failed to execute cat >/dev/null; echo broken >&2; exit 3: "
                            "broken\n, err: exit status 3\n"), res.stderr


def test_incomplete_args_and_flag_errors(peer_finder, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "POD_NAMESPACE"}
    res = run(peer_finder, ["-resolv-conf", str(RESOLV_CONF)], env=env)
    assert res.returncode == 1
    assert res.log == ("TS Determined Domain to be default.svc.cluster.local\n"
                       "TS Incomplete args, require -on-change and/or -on-start, -service and -ns "
                       "or an env var for POD_NAMESPACE.\n")
    res = run(peer_finder, ["-on-start", "tee", "-service", "x", "-resolv-conf",
                            str(tmp_path / "missing")])
    assert res.returncode == 1
    assert res.log == f"TS Unable to read {tmp_path / 'missing'}\n"
    res = run(peer_finder, ["-bogus"])
    assert res.returncode == 2
    assert res.stderr.startswith(f"flag provided but not defined: -bogus\nUsage of {peer_finder}:\n")
    res = run(peer_finder, ["-service"])
    assert res.returncode == 2
    assert res.stderr.startswith("flag needs an argument: -service\nUsage of ")
    res = run(peer_finder, ["-h"])
    assert res.returncode == 0
    assert res.stderr.startswith(f"Usage of {peer_finder}:\n  -dns-server ip:port\n")
    assert ("  -service string\n    \tGoverning service responsible for the DNS records of the "
            "domain this pod is in.\n") in res.stderr


# --------------------------------------------------------------------------------------------
# The hosts-file writer.


def hosts_block(cluster, pets):
    lines = ["# BEGIN petdns peer-finder: managed block, rewritten on every peer change"]
    for fqdn in pets:
        pet, service = fqdn.split(".")[:2]
        for address in cluster.addresses(fqdn):
            lines.append(f"{address}\t{fqdn} {pet}.{service} {pet}")
    lines.append("# END petdns peer-finder")
    return "\n".join(lines) + "\n"


def test_hosts_file_init_container(cluster, peer_finder, tmp_path):
    hosts = tmp_path / "hosts"
    original = "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n"
    hosts.write_text(original)
    res = run(peer_finder, ["-hosts-file", str(hosts), "-on-start", f"grep -w web-1.nginx {hosts}",
                            "-service", "nginx", "-ns", "default", *pod_flags(cluster, "web-0")])
    assert res.returncode == 0, res.stderr
    want = original + hosts_block(cluster, WEB[:2])
    assert hosts.read_text() == want
    assert f"TS Updated hosts file {hosts}: 2 addresses for 2 peers\n" in res.log
    # The script ran after the file was written.
    assert f"\t{WEB[1]} web-1.nginx web-1\n" in res.log
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".hosts")]


@FILE_ONLY
def test_hosts_file_only_mode_and_sidecar_refresh(cluster, peer_finder, background, tmp_path):
    hosts = tmp_path / "hosts"
    res = run(peer_finder, ["-hosts-file", str(hosts), "-service", "nginx", "-ns", "default",
                            *pod_flags(cluster, "web-0")])
    assert res.returncode == 0, res.stderr
    assert hosts.read_text() == hosts_block(cluster, WEB[:2])
    assert res.log.endswith(f"TS Updated hosts file {hosts}: 2 addresses for 2 peers\n"
                            "TS Peer finder exiting\n")

    # As a sidecar (-on-change), the file follows the StatefulSet.
    bg = background(["-hosts-file", str(hosts), "-on-change", "cat > /dev/null", "-service",
                     "nginx", "-ns", "default", *pod_flags(cluster, "web-0")])
    bg.wait_log(lambda log: "Have not found myself" in log, "an unchanged poll")
    inode = hosts.stat().st_ino
    cluster.scale("web", 5)
    bg.wait_log(lambda log: "5 addresses for 5 peers" in log, "the rewrite for 5 pets")
    assert hosts.read_text() == hosts_block(cluster, WEB)
    assert hosts.stat().st_ino != inode  # replaced by rename, not edited in place


# --------------------------------------------------------------------------------------------
# In a pod: private namespaces, petdns on 127.0.0.1:53, the pod's /etc/resolv.conf, no
# extension flags.

NAMESPACE_SCRIPT = r"""
set -u
ip link set lo up
hostname web-0
mount --bind "$WORK/resolv.conf" /etc/resolv.conf
mount --bind "$WORK/hosts" /etc/hosts
"$PETDNS" serve --config "$WORK/petdns.toml" > "$WORK/petdns.log" 2>&1 &
petdns_pid=$!
trap 'kill $petdns_pid 2>/dev/null; wait $petdns_pid 2>/dev/null' EXIT
/usr/bin/python3 - <<'PY' || exit 90
import time, dns.message, dns.query
deadline = time.monotonic() + 10
while True:
    try:
        q = dns.message.make_query("nginx.default.svc.cluster.local.", "SRV")
        if dns.query.udp(q, "127.0.0.1", timeout=0.2, port=53).answer:
            break
    except Exception:
        if time.monotonic() > deadline:
            raise
    time.sleep(0.05)
PY
cd "$WORK"
"$PF" -on-start tee -service nginx -ns default 2> "$WORK/pf1.log"
echo "rc1=$?"
"$PF" -on-start 'getent hosts web-1 web-0.nginx' -service nginx -ns default \
    -hosts-file /etc/hosts 2> "$WORK/pf2.log"
echo "rc2=$?"
"""


def namespace_command():
    """The unshare invocation allowed here, or None."""
    if shutil.which("unshare") is None or shutil.which("ip") is None \
            or shutil.which("hostname") is None:
        return None
    candidates = [["unshare", "-mnu"]] if os.geteuid() == 0 else []
    candidates.append(["unshare", "-Urmnu"])
    for cmd in candidates:
        try:
            ok = subprocess.run([*cmd, "true"], capture_output=True, timeout=5).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return cmd
    return None


def test_in_a_pod_namespace(binary, tmp_path):
    unshare = namespace_command()
    if unshare is None:
        pytest.skip("unshare with new UTS, mount and network namespaces is not permitted here "
                    "(needs root or unprivileged user namespaces, plus ip and hostname)")
    work = tmp_path
    (work / "resolv.conf").write_text(
        "nameserver 127.0.0.1\n"
        "search default.svc.cluster.local svc.cluster.local cluster.local\n"
        "options ndots:5\n")
    (work / "hosts").write_text("127.0.0.1\tlocalhost\n10.244.1.20\tweb-0\n")
    shutil.copy(PF_DATA / "cluster.local.zone", work / "cluster.local.zone")
    (work / "petdns.toml").write_text(
        '[[server]]\nlisten = ["127.0.0.1:53"]\nzones = ["cluster.local."]\n'
        '[server.file]\npath = "cluster.local.zone"\n')
    bindir = work / "bin"
    bindir.mkdir()
    (bindir / "peer-finder").symlink_to(os.path.abspath(binary))
    env = dict(os.environ, WORK=str(work), PETDNS=os.path.abspath(binary),
               PF=str(bindir / "peer-finder"))
    env.pop("POD_NAMESPACE", None)
    res = subprocess.run([*unshare, "bash", "-c", NAMESPACE_SCRIPT], capture_output=True,
                         text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    petdns_log = (work / "petdns.log").read_text() if (work / "petdns.log").exists() else ""
    assert res.returncode == 0, f"{res.stdout}\n{res.stderr}\npetdns:\n{petdns_log}"
    pf1 = strip_stamps((work / "pf1.log").read_text())
    pf2 = strip_stamps((work / "pf2.log").read_text())
    assert "rc1=0" in res.stdout, f"{res.stdout}\n{pf1}"
    # Byte for byte the reference run (S1) of the original in a pod named web-0.
    assert pf1 == reference_log(WEB[:2]), pf1

    # /etc/hosts is a bind mount, as in a container: rewritten in place, visible to getent.
    assert "rc2=0" in res.stdout, f"{res.stdout}\n{pf2}"
    assert "TS Updated hosts file /etc/hosts: 2 addresses for 2 peers (rewritten in place)\n" \
        in pf2, pf2
    assert re.search(r"^TS 10\.244\.2\.21\s+web-1\.nginx\.default\.svc\.cluster\.local "
                     r"web-1\.nginx web-1\n10\.244\.1\.20\s+web-0\.nginx\.default\.svc\.cluster"
                     r"\.local web-0\.nginx web-0\n", pf2, re.M), pf2
    assert (work / "hosts").read_text() == (
        "127.0.0.1\tlocalhost\n10.244.1.20\tweb-0\n"
        "# BEGIN petdns peer-finder: managed block, rewritten on every peer change\n"
        f"10.244.1.20\t{WEB[0]} web-0.nginx web-0\n"
        f"10.244.2.21\t{WEB[1]} web-1.nginx web-1\n"
        "# END petdns peer-finder\n")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))

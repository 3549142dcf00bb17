"""`petdns convert-corefile`: the Corefiles kubeadm and NodeLocal DNSCache ship convert into
configs that `petdns check` accepts, what cannot be converted is named on stderr, and a converted
file+hosts+cache Corefile actually serves."""

import os
import re
import subprocess

import dns.rcode
import dns.rdatatype
import pytest

from conftest import REPO, copy_testdata, free_port, start_server

COREFILES = REPO / "server" / "corefile" / "testdata"

# `FILE:LINE: DIRECTIVE: not converted (REASON)`, one per line.
ISSUE_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<subject>.+?): not converted \(.+\)$")

KUBECONFIG = """\
apiVersion: v1
kind: Config
current-context: test
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:6443
users:
- name: test
  user:
    token: not-a-secret
contexts:
- name: test
  context: {cluster: test, user: test}
"""

NODE_LOCAL_VALUES = {
    "__PILLAR__DNS__DOMAIN__": "cluster.local",
    "__PILLAR__LOCAL__DNS__": "169.254.20.10",
    "__PILLAR__DNS__SERVER__": "10.96.0.10",
    "__PILLAR__CLUSTER__DNS__": "10.96.0.11",
    "__PILLAR__UPSTREAM__SERVERS__": "/etc/resolv.conf",
}


def run(binary, *args, env=None, cwd=None):
    full_env = dict(os.environ)
    full_env.pop("KUBECONFIG", None)
    full_env.pop("KUBERNETES_SERVICE_HOST", None)
    full_env.pop("KUBERNETES_SERVICE_PORT", None)
    full_env.update(env or {})
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=20,
                          env=full_env, cwd=cwd)


def issues(stderr):
    """The (line, subject) pairs on stderr; every line must have the documented form."""
    found = []
    for line in stderr.splitlines():
        m = ISSUE_LINE.match(line)
        assert m, f"unexpected stderr line: {line!r}"
        found.append((int(m["line"]), m["subject"]))
    return found


def convert(binary, corefile, out):
    res = run(binary, "convert-corefile", "--output", str(out), str(corefile))
    assert res.stdout == "", res.stdout  # with --output the TOML goes to the file only
    return res


def test_help_and_usage(binary):
    res = run(binary, "convert-corefile", "--help")
    assert res.returncode == 0
    assert re.search(r"Usage: petdns convert-corefile\b", res.stdout)
    for code in ("0", "1", "2"):
        assert re.search(rf"^\s+{code}\s+\S", res.stdout, re.M), res.stdout
    top = run(binary, "--help")
    assert "petdns convert-corefile" in top.stdout


@pytest.mark.parametrize("args", [[], ["a", "b"], ["--bogus", "x"], ["--output"]])
def test_bad_usage_exits_2(binary, args):
    res = run(binary, "convert-corefile", *args)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Usage: petdns convert-corefile" in res.stderr


def test_unreadable_or_unparsable_corefile_exits_2(binary, tmp_path):
    res = run(binary, "convert-corefile", str(tmp_path / "missing"))
    assert res.returncode == 2
    assert "cannot read" in res.stderr
    broken = tmp_path / "Corefile"
    broken.write_text(".:53 {\n    errors\n    cache {\n        success 100\n}\n")
    res = run(binary, "convert-corefile", str(broken))
    assert res.returncode == 2
    assert res.stderr.strip() == f"{broken}:1: '{{' is never closed"
    assert res.stdout == ""


def test_kubeadm_corefile(binary, tmp_path):
    out = tmp_path / "petdns.toml"
    res = convert(binary, COREFILES / "kubeadm.Corefile", out)
    assert res.returncode == 1, res.stderr
    found = issues(res.stderr)
    subjects = [s for _, s in found]
    assert (20, "loop") in found
    assert (22, "loadbalance") in found
    assert "reload" not in subjects  # petdns reloads its config by itself
    assert "cache" in subjects  # no cache for the reverse zones that share cluster.local's block
    text = out.read_text()
    for _, subject in found:
        assert f": {subject} (" in text  # each one is also a comment in the TOML
    assert 'zones = ["cluster.local.", "in-addr.arpa.", "ip6.arpa."]' in text
    assert 'pods = "insecure"' in text

    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    check = run(binary, "check", "--config", str(out),
                env={"KUBECONFIG": str(tmp_path / "kubeconfig")})
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == f"{out}: OK"
    # In-cluster, the pod's service account tells petdns where the API is; outside one, that is
    # the only thing `check` can find missing.
    check = run(binary, "check", "--config", str(out))
    assert check.returncode == 1
    assert check.stderr.strip().splitlines() == [
        f"{out}: [server.kubernetes]: no Kubernetes API configured: set kubeconfig, KUBECONFIG "
        "or run in a pod"]


def test_classic_kubeadm_corefile(binary, tmp_path):
    out = tmp_path / "petdns.toml"
    res = convert(binary, COREFILES / "kubeadm-classic.Corefile", out)
    assert res.returncode == 1
    assert [s for _, s in issues(res.stderr)] == ["loop", "loadbalance"]
    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    check = run(binary, "check", "--config", str(out),
                env={"KUBECONFIG": str(tmp_path / "kubeconfig")})
    assert check.returncode == 0, check.stderr


def test_node_local_corefile(binary, tmp_path):
    text = (COREFILES / "node-local.Corefile").read_text()
    for placeholder, value in NODE_LOCAL_VALUES.items():
        text = text.replace(placeholder, value)
    corefile = tmp_path / "Corefile"
    corefile.write_text(text)
    out = tmp_path / "petdns.toml"
    res = convert(binary, corefile, out)
    assert res.returncode == 1
    assert issues(res.stderr) == [(8, "loop"), (20, "loop"), (31, "loop"), (42, "loop")]
    toml = out.read_text()
    assert toml.count('listen = ["169.254.20.10:53", "10.96.0.10:53"]') == 4
    assert toml.count('listen = ":9253"') == 4  # one shared /metrics endpoint
    assert 'listen = "169.254.20.10:8080"' in toml
    check = run(binary, "check", "--config", str(out))
    assert check.returncode == 0, check.stderr


def test_node_local_placeholders_are_named(binary, tmp_path):
    res = run(binary, "convert-corefile", str(COREFILES / "node-local.Corefile"))
    assert res.returncode == 1
    subjects = [s for _, s in issues(res.stderr)]
    for placeholder in NODE_LOCAL_VALUES:
        assert placeholder in subjects
    assert "[[server]]" in res.stdout


def test_stdin_and_everything_converted(binary, tmp_path):
    corefile = "example.org {\n    file example.org.zone\n    errors\n}\n"
    res = subprocess.run([binary, "convert-corefile", "-"], input=corefile, capture_output=True,
                         text=True, timeout=20)
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    assert 'path = "example.org.zone"' in res.stdout


def test_converted_file_hosts_cache_corefile_serves(binary, tmp_path):
    copy_testdata(tmp_path, "example.org.zone")
    (tmp_path / "hosts.txt").write_text("192.0.2.77 gateway.example.org\n")
    port = free_port()
    corefile = tmp_path / "Corefile"
    corefile.write_text(f"""\
# a laptop-sized Corefile: a zone file, a hosts file in front of it, and a cache
example.org:{port} {{
    bind 127.0.0.1
    errors
    cache 60
    hosts hosts.txt {{
        192.0.2.99 inline.example.org
        ttl 120
        reload 1s
        fallthrough
    }}
    file example.org.zone {{
        reload 1s
    }}
}}
lan:{port} {{
    bind 127.0.0.1
    hosts {{
        10.0.0.1 router.lan
        no_reverse
    }}
}}
""")
    out = tmp_path / "converted.toml"
    res = convert(binary, corefile, out)
    assert res.returncode == 0, res.stderr
    check = run(binary, "check", "--config", str(out))
    assert check.returncode == 0, check.stderr

    srv = start_server(binary, tmp_path, out.read_text())
    try:
        def answer(name, rdtype="A", transport="udp"):
            reply = srv.query(name, rdtype, transport=transport)
            assert reply.rcode() == dns.rcode.NOERROR, (name, reply)
            return sorted(rr.to_text() for rrset in reply.answer for rr in rrset)

        for transport in ("udp", "tcp"):
            assert answer("www.example.org.", transport=transport) == ["192.0.2.10"]
            assert answer("gateway.example.org.", transport=transport) == ["192.0.2.77"]
            assert answer("inline.example.org.", transport=transport) == ["192.0.2.99"]
            assert answer("router.lan.", transport=transport) == ["10.0.0.1"]
        reply = srv.query("inline.example.org.", "A")
        assert reply.answer[0].ttl <= 60  # hosts says 120, `cache 60` caps it
        missing = srv.query("nope.example.org.", "A")
        assert missing.rcode() == dns.rcode.NXDOMAIN  # from the zone, with its SOA
        assert missing.authority and missing.authority[0].rdtype == dns.rdatatype.SOA
    finally:
        srv.stop()

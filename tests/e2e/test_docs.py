"""Every command shown in the docs is run by a test.

The commands are the lines of the fenced ```sh blocks in README.md and docs/*.md (a line ending
in `\\` continues on the next; `#` starts a comment; comment-only lines are skipped). Blocks
tagged text, console, yaml, toml or anything else are not commands. Each ```sh block is one
test; its commands run in order, in a sandbox folder that looks like the repository root:
`deploy/` (a copy), `tests/` (a link), `build/petdns` and `build/peer-finder` (links to the
binary under test), and `petdns`/`peer-finder` on PATH.

The docs server: the embedded default (deploy/examples/petdns.toml) served from the sandbox on a
free port, with
- every fenced block whose first line is `# file: PATH` written to PATH first (e.g. the extra
  Services of docs/records.md), and
- every fenced block whose first line is `# add to the first [[server]] block of PATH` inserted
  into that block of PATH (the metrics, health and ready endpoints of docs/metrics.md).

Rules, by the command's first word (a line of `a && b` is split and each part follows its rule):
- `dig`, `kdig`, `drill`: sent to the docs server (`-p 1053`/`:1053` become its port, `+short`
  is dropped so the header can be read). The first word of the comment says what to expect:
  `NXDOMAIN` (with an SOA), `NODATA` (NOERROR, no answer, an SOA), `referral` (no answer,
  authority records), `REFUSED`, `SERVFAIL`; anything else means NOERROR with at least one answer
  record (AXFR: a completed transfer). Every IP address, and every name ending in a dot, that the
  comment mentions must appear in the output.
- `petdns serve ...` / `build/petdns serve ...`: long-running. Started on a copy of the config's
  folder with its ports moved to free ones, must answer DNS, then gets SIGTERM and must exit 0.
- `peer-finder`, `build/peer-finder`, `petdns peer-finder`: run as in a pod of the docs cluster.
  Flags the command leaves out are added: `-dns-server` (the docs server), `-resolv-conf`
  (tests/e2e/testdata/peer_finder/resolv.conf, a pod's search path), `-hostname` (the first pet
  of the service), `-timeout 10s`. A script given as an absolute path that does not exist
  (`/ready.sh`) is replaced by a sandbox script that reads the peers. Must exit 0.
- other `petdns ...` / `build/petdns ...` commands: run with bash in the sandbox; exit status 0,
  or N when the comment starts with `exits N`.
- `curl`: run with bash against the docs server's endpoints (`:9153` metrics, `:8080` health,
  `:8181` ready become its ports) with `--fail` added; exit 0, and a /metrics scrape must list
  petdns_ families.
- `kubectl apply -k DIR` needs a cluster: it is rendered offline as `kubectl kustomize DIR`
  instead, which must succeed and print objects (skipped only if kubectl is not installed).
- `.ci/install-deps`, `cmake ...`, `.ci/test`: the README's two commands. CI runs exactly these
  (`.ci/run` calls `.ci/test`, which installs, builds and runs every test), so here they are only
  checked to exist; the `serve` part of command 1 is started as above.
- Anything else fails the test: add a rule here, or do not show it as an ```sh command.
"""
import os
import pathlib
import re
import shlex
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request

import dns.message
import dns.query
import pytest

from conftest import _die_with_parent, free_port, start_server

REPO = pathlib.Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md"] + sorted((REPO / "docs").glob("*.md"))
RESOLV_CONF = REPO / "tests" / "e2e" / "testdata" / "peer_finder" / "resolv.conf"

DNS_PORT, METRICS_PORT, HEALTH_PORT, READY_PORT = 1053, 9153, 8080, 8181
RUN_TIMEOUT = 30
ADD_TO_FIRST_BLOCK = "# add to the first [[server]] block of "

FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)


# ------------------------------------------------------------------------------------------
# Extraction


def fenced_blocks():
    """(path, line, language, body) of every fenced block in the docs."""
    out = []
    for path in DOCS:
        text = path.read_text()
        for m in FENCE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            out.append((path, line, m.group(1).strip().lower(), m.group(2)))
    return out


def split_comment(line):
    """(command, comment) of a shell line: the comment starts at a `#` after whitespace, outside
    quotes."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].strip(), line[i + 1:].strip()
    return line.strip(), ""


def commands_of(body):
    """[(command, comment)] of an sh block."""
    out = []
    pending = ""
    for raw in body.splitlines():
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        command, comment = split_comment(pending + raw)
        pending = ""
        if command:
            out.append((command, comment))
    return out


def sh_blocks():
    return [(p, line, body) for p, line, lang, body in fenced_blocks() if lang == "sh"]


def block_id(block):
    path, line, _ = block
    return f"{path.relative_to(REPO)}:{line}"


def file_blocks():
    """{relative path: content} of blocks starting with `# file: PATH`."""
    out = {}
    for _, _, _, body in fenced_blocks():
        first = body.partition("\n")[0]
        m = re.match(r"^# file: (\S+)\s*$", first)
        if m:
            out[m.group(1)] = body
    return out


def config_additions():
    """{relative config path: [toml text]} of blocks to add to a config's first [[server]]."""
    out = {}
    for _, _, _, body in fenced_blocks():
        first = body.partition("\n")[0]
        if first.startswith(ADD_TO_FIRST_BLOCK):
            out.setdefault(first[len(ADD_TO_FIRST_BLOCK):].strip(), []).append(body)
    return out


# ------------------------------------------------------------------------------------------
# The sandbox and the docs server


class Ports:
    def __init__(self):
        self.dns = free_port()
        self.metrics = free_port()
        self.health = free_port()
        self.ready = free_port()

    def rewrite(self, text):
        text = re.sub(rf"-p {DNS_PORT}\b", f"-p {self.dns}", text)
        for old, new in ((DNS_PORT, self.dns), (METRICS_PORT, self.metrics),
                         (HEALTH_PORT, self.health), (READY_PORT, self.ready)):
            text = re.sub(rf":{old}\b", f":{new}", text)
        return text


def insert_into_first_block(config, addition):
    """`addition` placed at the end of the first [[server]] block of `config`."""
    starts = [m.start() for m in re.finditer(r"^\[\[server\]\]", config, re.M)]
    at = starts[1] if len(starts) > 1 else len(config)
    return config[:at] + addition.rstrip() + "\n\n" + config[at:]


def make_sandbox(root, binary):
    shutil.copytree(REPO / "deploy", root / "deploy", symlinks=True)
    (root / "tests").symlink_to(REPO / "tests")
    for folder in ("build", "bin"):
        (root / folder).mkdir()
        (root / folder / "petdns").symlink_to(os.path.abspath(binary))
        (root / folder / "peer-finder").symlink_to(os.path.abspath(binary))
    (root / "scripts").mkdir()
    for rel, content in file_blocks().items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)


def sandbox_env(root):
    env = dict(os.environ)
    env["PATH"] = f"{root / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    env.pop("POD_NAMESPACE", None)
    return env


class Docs:
    """The sandbox, the docs server and its ports."""

    def __init__(self, root, binary, server, ports):
        self.root = root
        self.binary = binary
        self.server = server
        self.ports = ports
        self.env = sandbox_env(root)


def dns_answers(port, name, rdtype="A"):
    try:
        msg = dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", timeout=0.5,
                            port=port)
    except Exception:  # noqa: BLE001 - not answering yet
        return []
    return msg.answer


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {timeout}s")
        time.sleep(0.05)


def http_status(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as r:
            return r.status
    except urllib.error.HTTPError as err:
        return err.code
    except (urllib.error.URLError, OSError):
        return None


@pytest.fixture(scope="module")
def docs(binary, tmp_path_factory):
    root = tmp_path_factory.mktemp("docs-sandbox")
    make_sandbox(root, binary)
    # The docs server runs on its own copy, so the sandbox's deploy/examples/petdns.toml stays
    # as documented (port 1053) for the commands that name it.
    examples = root / "docs-server"
    shutil.copytree(root / "deploy" / "examples", examples, symlinks=True)
    default = (examples / "petdns.toml").read_text()
    for addition in config_additions().get("deploy/examples/petdns.toml", []):
        default = insert_into_first_block(default, addition)
    last = None
    for _ in range(3):  # another process may take a free port before petdns binds it
        ports = Ports()
        try:
            server = start_server(binary, examples, ports.rewrite(default))
            break
        except RuntimeError as err:
            last = err
    else:
        raise last
    try:
        port = ports.dns
        wait_until(lambda: dns_answers(port, "web-0.nginx.default.svc.cluster.local."), 5,
                   "the manifests served")
        for rel in file_blocks():
            if rel.startswith("deploy/examples/") and rel.endswith(".yaml"):
                # Every Service of the extra manifests is served (the first one is enough to
                # know the file was read).
                name = re.search(r"^kind: Service\nmetadata:\n  name: (\S+)",
                                 (root / rel).read_text(), re.M)
                if name:
                    wait_until(lambda: dns_answers(
                        port, f"{name.group(1)}.default.svc.cluster.local.", "ANY"), 5, rel)
        if "[server.ready]" in default:
            wait_until(lambda: http_status(ports.ready, "/ready") == 200, 5, "/ready 200")
        yield Docs(root, binary, server, ports)
    finally:
        server.stop()


# ------------------------------------------------------------------------------------------
# Rules


def expectation(comment):
    word = comment.split()[0].rstrip(":,.") if comment.split() else ""
    return word if word in ("NXDOMAIN", "NODATA", "referral", "REFUSED", "SERVFAIL") else "answer"


def mentioned(comment):
    """IP addresses and absolute names (ending in a dot) a comment mentions."""
    out = re.findall(r"\b\d{1,3}(?:\.\d{1,3}){3}\b", comment)
    out += [t for t in re.findall(r"[0-9a-fA-F:]*::[0-9a-fA-F:]*[0-9a-fA-F]", comment)]
    out += [t.rstrip(",") for t in comment.split()
            if re.fullmatch(r"[\w-]+(\.[\w-]+)+\.,?", t)]
    return out


def header_counts(output):
    status = re.search(r"(?:status|rcode): (\w+)", output)
    counts = {k: int(v) for k, v in re.findall(r"\b(ANSWER|AUTHORITY|ADDITIONAL): (\d+)", output)}
    return (status.group(1) if status else None), counts


def run_dns_tool(docs, command, comment):
    args = [a for a in shlex.split(docs.ports.rewrite(command)) if a != "+short"]
    tool = args[0]
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} not installed")
    if tool == "dig":
        args += ["+tries=1", "+time=2"]
    elif tool == "kdig":
        args += ["+retry=0", "+time=2"]
    res = subprocess.run(args, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                         cwd=docs.root)
    out = res.stdout
    where = f"{command}\n{out}{res.stderr}"
    assert res.returncode == 0, where
    if "AXFR" in args or "axfr" in args:
        assert "Transfer failed" not in out and re.search(r"XFR size|Received .* records", out), \
            where
        return
    status, counts = header_counts(out)
    want = expectation(comment)
    if want == "NXDOMAIN":
        assert status == "NXDOMAIN" and counts.get("AUTHORITY", 0) >= 1, where
    elif want == "NODATA":
        assert status == "NOERROR" and counts.get("ANSWER") == 0, where
        assert counts.get("AUTHORITY", 0) >= 1, where
    elif want == "referral":
        assert status == "NOERROR" and counts.get("ANSWER") == 0, where
        assert counts.get("AUTHORITY", 0) >= 1, where
    elif want in ("REFUSED", "SERVFAIL"):
        assert status == want, where
    else:
        assert status == "NOERROR" and counts.get("ANSWER", 0) >= 1, where
    records = "\n".join(l for l in out.lower().splitlines() if not l.startswith(";"))
    for item in mentioned(comment):
        assert item.lower() in records, f"{item!r} not in the records of {where}"


def free_config_copy(docs, config_rel):
    """A copy of the config's folder with every documented port moved to a free one."""
    src = (docs.root / config_rel).resolve().parent
    dest = docs.root / f"serve-{time.monotonic_ns()}"
    shutil.copytree(src, dest, symlinks=True)
    ports = Ports()
    config = dest / pathlib.Path(config_rel).name
    config.write_text(ports.rewrite(config.read_text()))
    return config, ports


def run_serve(docs, args):
    config_rel = args[args.index("--config") + 1]
    config, ports = free_config_copy(docs, config_rel)
    log_path = config.parent / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([docs.binary, "serve", "--config", str(config)], stdout=log,
                                stderr=subprocess.STDOUT, cwd=docs.root,
                                preexec_fn=_die_with_parent)
    try:
        text = config.read_text()
        zone = re.search(r'zones\s*=\s*\["([^"]+)"', text).group(1)
        probe = zone if zone != "." else "example."

        def answers():
            assert proc.poll() is None, log_path.read_text()
            try:
                dns.query.udp(dns.message.make_query(probe, "SOA"), "127.0.0.1", timeout=0.3,
                              port=ports.dns)
                return True
            except Exception:  # noqa: BLE001 - not up yet
                return False

        wait_until(answers, 5, f"an answer from `{' '.join(args)}`")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
    assert rc == 0, log_path.read_text()


def first_pet(docs, service):
    for rrset in dns_answers(docs.ports.dns, f"{service}.default.svc.cluster.local.", "SRV"):
        for rr in rrset:
            return str(rr.target).split(".")[0]
    return "web-0"


def run_peer_finder(docs, args):
    args = [docs.ports.rewrite(a) for a in args]
    at = [pathlib.Path(a).name for a in args].index("peer-finder") + 1
    head, flags = args[:at], args[at:]
    given = {f.lstrip("-").split("=")[0] for f in flags if f.startswith("-")}
    service = None
    for i, f in enumerate(flags):
        if f.lstrip("-").startswith("service"):
            service = f.split("=", 1)[1] if "=" in f else flags[i + 1]
    added = []
    if "dns-server" not in given:
        added += ["-dns-server", f"127.0.0.1:{docs.ports.dns}"]
    if "resolv-conf" not in given:
        added += ["-resolv-conf", str(RESOLV_CONF)]
    if "hostname" not in given:
        added += ["-hostname", first_pet(docs, service)]
    if "timeout" not in given:
        added += ["-timeout", "10s"]
    for i, f in enumerate(flags):
        if i > 0 and flags[i - 1].lstrip("-") in ("on-start", "on-change") \
                and f.startswith("/") and not os.path.exists(f):
            script = docs.root / "scripts" / pathlib.Path(f).name
            script.write_text("#!/bin/sh\ncat\n")
            script.chmod(0o755)
            flags[i] = str(script)
    if head[0] in ("petdns", "peer-finder"):
        head[0] = str(docs.root / "bin" / head[0])
    res = subprocess.run(head + added + flags, capture_output=True, text=True,
                         timeout=RUN_TIMEOUT, cwd=docs.root, env=docs.env)
    where = f"{' '.join(args)} (run as {' '.join(head + added + flags)})\n{res.stderr}"
    assert res.returncode == 0, where
    assert "Peer list updated" in res.stderr, where


def run_shell(docs, command, comment, expect_rc=0):
    res = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                         timeout=RUN_TIMEOUT, cwd=docs.root, env=docs.env)
    where = f"{command}\n{res.stdout}{res.stderr}"
    m = re.match(r"exits (\d+)", comment)
    assert res.returncode == (int(m.group(1)) if m else expect_rc), where
    return res.stdout


def run_curl(docs, command):
    command = docs.ports.rewrite(command)
    # --fail: a 4xx/5xx answer fails; pipefail: so does a failing curl before a pipe.
    out = run_shell(docs, "set -o pipefail; " + command.replace("curl ", "curl --fail ", 1), "")
    assert out.strip(), f"{command}: no output"
    if "/metrics" in command:
        assert re.search(r"^petdns_\w+", out, re.M), out[:2000]


def run_kubectl(docs, args):
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl not installed")
    if args[1:3] == ["apply", "-k"]:
        args = ["kubectl", "kustomize", args[3]]  # offline: render what apply would send
    assert args[1] == "kustomize", f"no rule for {' '.join(args)}"
    res = subprocess.run(args, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                         cwd=docs.root, env=docs.env)
    assert res.returncode == 0, f"{' '.join(args)}\n{res.stderr}"
    assert re.search(r"^kind: \w+", res.stdout, re.M), res.stdout


def run_command(docs, command, comment):
    parts = [command] if command.startswith("curl ") else [p.strip() for p in command.split("&&")]
    for part in parts:
        args = shlex.split(part)
        word = args[0]
        if word in ("dig", "kdig", "drill"):
            assert "|" not in part, f"pipes after {word} are not supported: {part}"
            run_dns_tool(docs, part, comment)
        elif word in (".ci/install-deps", ".ci/test"):
            assert os.access(REPO / word, os.X_OK), f"{word} is missing"
        elif word == "cmake":
            assert (REPO / "CMakeLists.txt").exists()
        elif word in ("peer-finder", "build/peer-finder") or \
                (word in ("petdns", "build/petdns") and args[1:2] == ["peer-finder"]):
            run_peer_finder(docs, args)
        elif word in ("petdns", "build/petdns") and args[1:2] == ["serve"]:
            run_serve(docs, args)
        elif word in ("petdns", "build/petdns"):
            run_shell(docs, part, comment)
        elif word == "curl":
            run_curl(docs, part)
        elif word == "kubectl":
            run_kubectl(docs, args)
        else:
            pytest.fail(f"no rule to run `{part}`: add one to test_docs.py")


# ------------------------------------------------------------------------------------------
# Tests


def test_docs_show_commands():
    blocks = sh_blocks()
    assert len(blocks) >= 10
    commands = [c for _, _, body in blocks for c, _ in commands_of(body)]
    assert any(c.startswith("dig ") for c in commands)
    assert any("petdns serve" in c for c in commands)


@pytest.mark.parametrize("block", sh_blocks(), ids=block_id)
def test_sh_block(docs, block):
    for command, comment in commands_of(block[2]):
        run_command(docs, command, comment)
    assert docs.server.proc.poll() is None, f"petdns died:\n{docs.server.log()}"


def relative_links():
    out = []
    for path in DOCS:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text()):
            if not re.match(r"\w+://|mailto:", target):
                out.append((path, target))
    return out


@pytest.mark.parametrize("link", relative_links(),
                         ids=lambda l: f"{l[0].relative_to(REPO)}->{l[1]}")
def test_relative_link_resolves(link):
    path, target = link
    assert (path.parent / target).exists(), f"{path.relative_to(REPO)} links to missing {target}"

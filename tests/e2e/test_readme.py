"""The README's promises: its first command's config serves what its dig examples ask for.

The default config (deploy/examples/petdns.toml) is copied with the port changed to a free one,
and every `dig @127.0.0.1 -p 1053 ...` line in README.md runs against it.
"""
import pathlib
import re
import shlex
import shutil
import subprocess
import time

import pytest

from conftest import free_port, start_server

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "deploy" / "examples"


def readme_dig_commands():
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    return [line.split("#")[0].strip() for block in blocks for line in block.splitlines()
            if line.strip().startswith("dig ")]


@pytest.fixture(scope="module")
def default_server(binary, tmp_path_factory):
    work = tmp_path_factory.mktemp("readme")
    for f in EXAMPLES.iterdir():
        shutil.copy(f, work / f.name)
    port = free_port()
    config = (EXAMPLES / "petdns.toml").read_text().replace(":1053", f":{port}")
    srv = start_server(binary, work, config)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not srv.query(
            "web-0.nginx.default.svc.cluster.local.").answer:
        time.sleep(0.05)
    yield srv
    srv.stop()


def test_readme_has_dig_examples():
    commands = readme_dig_commands()
    assert any("SRV nginx.default.svc.cluster.local" in c for c in commands)
    assert any("A web-0.nginx.default.svc.cluster.local" in c for c in commands)


@pytest.mark.parametrize("command", readme_dig_commands())
def test_readme_dig_example_answers(default_server, command):
    args = shlex.split(command.replace("-p 1053", f"-p {default_server.port}"))
    res = subprocess.run(args + ["+tries=1", "+time=2"], capture_output=True, text=True, timeout=10)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "status: NOERROR" in res.stdout or "status: NXDOMAIN" in res.stdout or \
        "XFR size" in res.stdout, res.stdout
    if "nope" not in command:
        assert re.search(r"ANSWER: [1-9]|XFR size|AUTHORITY: [1-9]", res.stdout), res.stdout


def test_default_config_passes_check(binary):
    res = subprocess.run([binary, "check", "--config", str(EXAMPLES / "petdns.toml")],
                         capture_output=True, text=True, timeout=10)
    assert res.returncode == 0, res.stderr

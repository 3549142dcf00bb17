"""Least privilege ([global] user/group, issue 8): started as root, petdns binds its sockets and
then runs as the configured user, with no way back to root; an unknown user is refused at start;
a reload that needs a new port below 1024 fails with a clear log line.
"""

import grp
import os
import pathlib
import pwd
import re
import shutil
import subprocess
import tempfile
import time

import dns.rcode
import pytest

from conftest import TESTDATA, free_port, start_server, wait_for



def nobody():
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user 'nobody' on this system")


@pytest.fixture
def world_readable_dir():
    """pytest's tmp dirs are 0700 root: the switched-to user could not read its own config."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="petdns-priv-"))
    d.chmod(0o755)
    shutil.copy(TESTDATA / "example.org.zone", d / "example.org.zone")
    (d / "example.org.zone").chmod(0o644)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def config_text(port, user_lines, extra_listen=""):
    listen = f'"127.0.0.1:{port}"' + (f', "{extra_listen}"' if extra_listen else "")
    return f"""[global]
{user_lines}

[[server]]
listen = [{listen}]
zones = ["example.org."]
[server.file]
path = "example.org.zone"
"""


def ids(pid):
    status = pathlib.Path(f"/proc/{pid}/status").read_text()
    uids = [int(x) for x in re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()]
    gids = [int(x) for x in re.search(r"^Gid:\s+(.*)$", status, re.M).group(1).split()]
    groups = re.search(r"^Groups:\s*(.*)$", status, re.M).group(1).split()
    caps = int(re.search(r"^CapEff:\s+(\w+)$", status, re.M).group(1), 16)
    return uids, gids, [int(g) for g in groups], caps


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_switches_to_user_after_binding_and_still_answers(binary, world_readable_dir):
    pw = nobody()
    port = free_port()
    srv = start_server(binary, world_readable_dir, config_text(port, 'user = "nobody"'))
    try:
        uids, gids, groups, caps = ids(srv.proc.pid)
        assert uids == [pw.pw_uid] * 4, uids  # real, effective, saved, filesystem
        assert gids == [pw.pw_gid] * 4, gids
        assert groups in ([], [pw.pw_gid]), groups  # root's supplementary groups are gone
        assert caps == 0, f"capabilities left: {caps:#x}"
        for transport in ("udp", "tcp"):
            r = srv.query("www.example.org.", "A", transport)
            assert r.rcode() == dns.rcode.NOERROR and r.answer
        assert f"running as user nobody (uid {pw.pw_uid})" in srv.log()
    finally:
        srv.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_group_can_be_chosen(binary, world_readable_dir):
    nobody()
    try:
        group = grp.getgrnam("nogroup")
    except KeyError:
        pytest.skip("no group 'nogroup'")
    srv = start_server(binary, world_readable_dir,
                       config_text(free_port(), 'user = "nobody"\ngroup = "nogroup"'))
    try:
        _, gids, _, _ = ids(srv.proc.pid)
        assert gids == [group.gr_gid] * 4
    finally:
        srv.stop()


def test_unknown_user_is_refused_at_start(binary, world_readable_dir):
    config = world_readable_dir / "petdns.toml"
    config.write_text(config_text(free_port(), 'user = "no-such-user-petdns"'))
    res = subprocess.run([binary, "serve", "--config", str(config)], capture_output=True,
                         text=True, timeout=10)
    assert res.returncode != 0
    assert "user 'no-such-user-petdns' does not exist" in res.stdout + res.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_reload_needing_a_privileged_port_fails_clearly(binary, world_readable_dir):
    nobody()
    port = free_port()
    srv = start_server(binary, world_readable_dir, config_text(port, 'user = "nobody"'))
    try:
        srv.config.write_text(config_text(port, 'user = "nobody"', extra_listen="127.0.0.1:953"))
        os.utime(srv.config, (time.time() + 5, time.time() + 5))
        srv.proc.send_signal(1)  # SIGHUP
        wait_for(lambda: "reload failed" in srv.log(), timeout=5, what="reload failure logged")
        log = srv.log()
        assert "listen udp 127.0.0.1:953: permission denied" in log, log
        assert "a new port below 1024 needs a restart" in log
        assert srv.query("www.example.org.", "A").rcode() == dns.rcode.NOERROR
    finally:
        srv.stop()


def test_check_reports_an_unknown_user(binary, world_readable_dir):
    config = world_readable_dir / "petdns.toml"
    config.write_text(config_text(free_port(), 'user = "no-such-user-petdns"'))
    res = subprocess.run([binary, "check", "--config", str(config)], capture_output=True,
                         text=True, timeout=10)
    assert res.returncode != 0
    assert f"{config}: [global] user: user 'no-such-user-petdns' does not exist" in \
        res.stdout + res.stderr

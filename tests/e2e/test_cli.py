"""The command line: check, help, version, unknown commands (rule 16) and
graceful shutdown (rule 17)."""

import re
import signal
import subprocess
import time

import dns.message
import dns.rcode
import pytest

from conftest import REPO, copy_testdata, server_config

VALID = """\
[global]
tcp_idle_timeout = "10s"
udp_max_payload = 1232

[[server]]
listen = ["127.0.0.1:5399"]
zones = ["example.org."]
[server.file]
path = "example.org.zone"
reload = "1s"

[[server]]
listen = ["127.0.0.1:5399"]
zones = ["sub2.example.org."]
[server.file]
path = "sub2.example.org.zone"
"""


def run(binary, *args, cwd=None):
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=10, cwd=cwd)


def check(binary, tmp_path, config_text, zone_edit=None):
    copy_testdata(tmp_path, "example.org.zone", "sub2.example.org.zone")
    if zone_edit:
        zone = tmp_path / "example.org.zone"
        zone.write_text(zone_edit(zone.read_text()))
    config = tmp_path / "petdns.toml"
    config.write_text(config_text)
    # Run from elsewhere: zone paths are relative to the config file's folder.
    return run(binary, "check", "--config", str(config), cwd="/")


def replace_line(text, lineno, new):
    lines = text.splitlines()
    lines[lineno - 1] = new
    return "\n".join(lines) + "\n"


def test_check_valid_config_exits_0(binary, tmp_path):
    res = check(binary, tmp_path, VALID)
    assert res.returncode == 0, res.stderr
    assert "petdns.toml: OK" in res.stdout + res.stderr
    assert not re.search(r":\d+:", res.stderr)


def test_check_accepts_the_shipped_example_config(binary):
    # deploy/examples/petdns.toml and its zone, which the README's examples serve.
    config = REPO / "deploy" / "examples" / "petdns.toml"
    if not config.exists():
        pytest.skip(f"{config} not present")
    res = run(binary, "check", "--config", str(config), cwd="/")
    assert res.returncode == 0, res.stderr
    assert "OK" in res.stdout


@pytest.mark.parametrize("lineno,bad", [
    (20, "www IN A 999.1.2.3"),              # bad rdata
    (27, "loop1 IN BOGUSTYPE x"),            # unknown type
    (40, "bigA IN MX ten mail"),             # bad MX preference
])
def test_check_bad_zone_names_file_and_line(binary, tmp_path, lineno, bad):
    res = check(binary, tmp_path, VALID, lambda t: replace_line(t, lineno, bad))
    assert res.returncode == 1, res.stdout + res.stderr
    assert re.search(rf"(^|/)example\.org\.zone:{lineno}:", res.stderr, re.M), res.stderr


def test_check_reports_every_zone_error(binary, tmp_path):
    res = check(binary, tmp_path, VALID,
                lambda t: replace_line(replace_line(t, 20, "www IN A 999.1.2.3"), 30, "x IN A nope"))
    assert res.returncode == 1
    assert re.search(r"example\.org\.zone:20:", res.stderr), res.stderr
    assert re.search(r"example\.org\.zone:30:", res.stderr), res.stderr


def test_check_missing_zone_file(binary, tmp_path):
    res = check(binary, tmp_path, VALID.replace('"sub2.example.org.zone"', '"nope.zone"'))
    assert res.returncode == 1
    assert "nope.zone" in res.stderr


def numbered(text, needle):
    return next(i for i, l in enumerate(text.splitlines(), 1) if needle in l)


@pytest.mark.parametrize("edit,needle", [
    (lambda c: c.replace('zones = ["example.org."]', 'zones = ["example.org."]\nbogus = 1'),
     "bogus = 1"),                                                     # unknown key in [[server]]
    (lambda c: c.replace('udp_max_payload = 1232', 'udp_max_payload = 1232\nfrobnicate = true'),
     "frobnicate"),                                                    # unknown key in [global]
    (lambda c: c.replace('reload = "1s"', 'reload = "1s"\nwhatever = "x"'),
     "whatever"),                                                      # unknown key in [server.file]
    (lambda c: c.replace('udp_max_payload = 1232', 'udp_max_payload = "big"'),
     "udp_max_payload"),                                               # wrong type
    (lambda c: c.replace('tcp_idle_timeout = "10s"', 'tcp_idle_timeout = "ten seconds"'),
     "tcp_idle_timeout"),                                              # bad duration
    (lambda c: c.replace('reload = "1s"', 'reload = true'), "reload"),  # wrong type in plugin
    (lambda c: c.replace('zones = ["sub2.example.org."]', 'zones = "sub2.example.org."'),
     'zones = "sub2'),                                                 # string, not array
    (lambda c: c.replace('"127.0.0.1:5399"]\nzones = ["example.org."]', '"::1:5399"]\nzones = ["example.org."]'),
     '"::1:5399"'),                                                    # IPv6 without brackets
])
def test_check_bad_config_names_config_and_line(binary, tmp_path, edit, needle):
    config_text = edit(VALID)
    assert config_text != VALID
    res = check(binary, tmp_path, config_text)
    assert res.returncode == 1, res.stdout + res.stderr
    line = numbered(config_text, needle)
    assert re.search(rf"petdns\.toml:{line}(:\d+)?:", res.stderr), (line, res.stderr)


def test_check_toml_syntax_error(binary, tmp_path):
    res = check(binary, tmp_path, VALID.replace("[[server]]\nlisten", "[[server]\nlisten", 1))
    assert res.returncode == 1
    assert re.search(r"petdns\.toml:5(:\d+)?:", res.stderr), res.stderr


def test_check_reports_errors_in_every_section_at_once(binary, tmp_path):
    config_text = VALID.replace('zones = ["example.org."]', 'zones = ["example.org."]\nbogus = 1')
    config_text = config_text.replace('reload = "1s"', 'reload = true')
    res = check(binary, tmp_path, config_text)
    assert res.returncode == 1
    assert re.search(rf"petdns\.toml:{numbered(config_text, 'bogus')}:", res.stderr), res.stderr
    assert re.search(rf"petdns\.toml:{numbered(config_text, 'reload = true')}:", res.stderr), \
        res.stderr


def test_check_without_config_is_usage_error(binary):
    res = run(binary, "check")
    assert res.returncode != 0
    assert "--config" in res.stderr + res.stdout


@pytest.mark.parametrize("command", ["serve", "check", "version"])
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_for_each_subcommand(binary, command, flag):
    res = run(binary, command, flag)
    assert res.returncode == 0, res.stderr
    assert re.search(rf"Usage: petdns {command}\b", res.stdout), res.stdout


def test_top_level_help(binary):
    res = run(binary, "--help")
    assert res.returncode == 0
    for command in ("serve", "check", "version"):
        assert re.search(rf"petdns {command}\b", res.stdout)


def test_version(binary):
    res = run(binary, "version")
    assert res.returncode == 0
    assert re.fullmatch(r"petdns \d+\.\d+\.\d+\S*\n", res.stdout), res.stdout


@pytest.mark.parametrize("args", [["bogus"], ["serve-now"], []])
def test_unknown_or_missing_subcommand_exits_2(binary, args):
    res = run(binary, *args)
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    if args:
        assert args[0] in res.stderr


def test_serve_with_bad_config_fails_fast(binary, tmp_path):
    copy_testdata(tmp_path, "example.org.zone", "sub2.example.org.zone")
    config = tmp_path / "petdns.toml"
    config_text = VALID.replace('zones = ["example.org."]', 'zones = ["example.org."]\nbogus = 1')
    config.write_text(config_text)
    res = run(binary, "serve", "--config", str(config))
    assert res.returncode == 1
    line = numbered(config_text, "bogus")
    assert re.search(rf"petdns\.toml:{line}(:\d+)?:", res.stderr), res.stderr


# --- rule 17: graceful shutdown -------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_server_with_exit_0(launch, sig):
    srv = launch(lambda port: server_config(port, [
        {"zones": ["example.org."], "path": '"example.org.zone"'}]))
    # With an open idle TCP connection, which must not hold up the exit.
    conn = srv.tcp_connect()
    try:
        assert srv.query("www.example.org.", "A").rcode() == dns.rcode.NOERROR
        start = time.monotonic()
        srv.proc.send_signal(sig)
        rc = srv.proc.wait(timeout=5)
        elapsed = time.monotonic() - start
    finally:
        conn.close()
    assert rc == 0, srv.log()
    assert elapsed < 2.5, f"took {elapsed:.2f}s to stop"


def test_check_rejects_ns_addresses_that_are_not_ips(binary, tmp_path):
    (tmp_path / "m").mkdir()
    config = ('[[server]]\nlisten = ["127.0.0.1:5399"]\nzones = ["cluster.local."]\n'
              '[server.kubernetes]\nmanifests = "m"\nns_addresses = ["10.96.0.10", "ns1"]\n')
    res = check(binary, tmp_path, config)
    assert res.returncode == 1, res.stdout + res.stderr
    assert re.search(r"petdns\.toml:6(:\d+)?: .*'ns1' is not an IP address", res.stderr), \
        res.stderr

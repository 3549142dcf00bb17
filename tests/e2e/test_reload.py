"""Zone reload by file poll and SIGHUP; broken files keep the old data (rule 15)."""

import re
import signal
import time

import pytest

from conftest import server_config, wait_for

ZONE = "example.org.zone"


def reload_config(reload):
    return lambda port: server_config(port, [
        {"zones": ["example.org."], "path": f'"{ZONE}"', "reload": f'"{reload}"'}])


def www_a(srv, transport="udp"):
    r = srv.query("www.example.org.", "A", transport)
    return [rd.to_text() for rd in r.answer[0]] if r.answer else []


def serial(srv):
    return srv.query("example.org.", "SOA").answer[0][0].serial


def edit_zone(srv, addr=None, serial_=None, replace=None):
    """Rewrite the served zone file in place (new mtime, maybe same size)."""
    path = srv.workdir / ZONE
    text = path.read_text()
    if addr:
        text = re.sub(r"^www     IN A    \S+$", f"www     IN A    {addr}", text, count=1, flags=re.M)
    if serial_:
        text = re.sub(r"^(\s+)\d+ ; serial$", rf"\g<1>{serial_} ; serial", text, count=1, flags=re.M)
    if replace:
        text = replace(text)
    path.write_text(text)
    return text



def line_of(text, needle):
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in file")


def test_edited_zone_is_picked_up_by_polling(launch):
    srv = launch(reload_config("1s"))
    assert www_a(srv) == ["192.0.2.10"]
    time.sleep(1.1)  # a new mtime second, so even a coarse mtime check sees the edit
    edit_zone(srv, addr="192.0.2.111", serial_=2026112202)
    assert wait_for(lambda: www_a(srv) == ["192.0.2.111"], 5.0), srv.log()
    assert www_a(srv, "tcp") == ["192.0.2.111"]
    assert serial(srv) == 2026112202


def test_edit_within_the_same_second_is_picked_up(launch):
    # Same size, written right after the server loaded the file.
    srv = launch(reload_config("1s"))
    edit_zone(srv, addr="192.0.2.11", serial_=2026112203)
    assert wait_for(lambda: www_a(srv) == ["192.0.2.11"], 5.0), srv.log()


@pytest.mark.parametrize("reload", ["0s", "1h"])  # "0s" = SIGHUP only
def test_sighup_reloads(launch, reload):
    srv = launch(reload_config(reload))  # polling will not fire during the test
    time.sleep(1.1)
    edit_zone(srv, addr="192.0.2.222", serial_=2026112204)
    time.sleep(0.3)
    assert www_a(srv) == ["192.0.2.10"], f"must not reload before SIGHUP with reload = {reload}"
    srv.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: www_a(srv) == ["192.0.2.222"], 5.0), srv.log()
    assert srv.proc.poll() is None, "SIGHUP must not stop the server"
    assert serial(srv) == 2026112204


def test_broken_zone_logs_line_and_keeps_old_data_then_fix_is_served(launch):
    srv = launch(reload_config("1s"))
    time.sleep(1.1)
    good = (srv.workdir / ZONE).read_text()
    broken = edit_zone(srv, addr="192.0.2.66", serial_=2026112205,
                       replace=lambda t: t.replace("mail    IN A    192.0.2.25",
                                                   "mail    IN A    192.0.2.999"))
    bad_line = line_of(broken, "192.0.2.999")
    pattern = re.compile(rf"{re.escape(ZONE)}:{bad_line}:")
    assert wait_for(lambda: pattern.search(srv.log()), 5.0), \
        f"expected '{ZONE}:{bad_line}:' in the log:\n{srv.log()}"
    # Old data stays, entirely: not the edited www either.
    assert www_a(srv) == ["192.0.2.10"]
    assert www_a(srv, "tcp") == ["192.0.2.10"]
    assert serial(srv) == 2026112201
    r = srv.query("mail.example.org.", "A")
    assert [rd.to_text() for rd in r.answer[0]] == ["192.0.2.25"]
    assert srv.proc.poll() is None
    # SIGHUP on the broken file: logs again, still old data.
    srv.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert www_a(srv) == ["192.0.2.10"]
    assert srv.proc.poll() is None
    # Fix it: the new data is served.
    time.sleep(1.0)
    edit_zone(srv, replace=lambda _: re.sub(r"^www     IN A    \S+$", "www     IN A    192.0.2.77",
                                            good.replace("2026112201 ; serial",
                                                         "2026112206 ; serial"),
                                            count=1, flags=re.M))
    assert wait_for(lambda: www_a(srv) == ["192.0.2.77"], 5.0), srv.log()
    assert serial(srv) == 2026112206


def test_deleted_zone_file_keeps_old_data(launch):
    srv = launch(reload_config("1s"))
    (srv.workdir / ZONE).unlink()
    time.sleep(2.2)
    assert www_a(srv) == ["192.0.2.10"]
    assert srv.proc.poll() is None


def test_zone_replaced_by_rename_is_picked_up(launch):
    # Editors and deploy tools write a new file and rename it over the old one (new inode).
    srv = launch(reload_config("1s"))
    path = srv.workdir / ZONE
    new = re.sub(r"^www     IN A    \S+$", "www     IN A    192.0.2.12", path.read_text(),
                 count=1, flags=re.M)
    tmp = srv.workdir / (ZONE + ".tmp")
    tmp.write_text(new)
    tmp.replace(path)
    assert wait_for(lambda: www_a(srv) == ["192.0.2.12"], 5.0), srv.log()

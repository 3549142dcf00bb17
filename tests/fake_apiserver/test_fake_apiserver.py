"""Tests for the fake Kubernetes API server (tests/fake_apiserver/fake_apiserver.py).

Clients are deliberately raw (http.client and plain sockets with a hand-written chunked
decoder) so the tests check the wire protocol, not a client library's view of it. Every
socket operation has a timeout; no test can hang.
Run: /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/fake_apiserver
"""

import base64
import http.client
import json
import os
import pathlib
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree

import pytest  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from fake_apiserver import FakeApiServer  # noqa: E402

PY = "/usr/bin/python3"
TIMEOUT = 5.0  # every socket operation


# --------------------------------------------------------------------------------------------
# Object builders
# --------------------------------------------------------------------------------------------


def svc(name, ns="default", labels=None, ip="10.96.0.10", ports=((80, "TCP"),)):
    return {"kind": "Service", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": ns, "labels": dict(labels or {})},
            "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip],
                     "ports": [{"port": p, "protocol": proto} for p, proto in ports]}}


def pod(name, ns="default", phase="Running", labels=None, ip="10.244.0.5"):
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": ns, "labels": dict(labels or {})},
            "spec": {"containers": [{"name": "c", "image": "x"}], "nodeName": "node-a"},
            "status": {"phase": phase, "podIP": ip, "podIPs": [{"ip": ip}]}}


def eps(name, service, ns="default", addrs=("10.244.1.5",)):
    return {"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
            "metadata": {"name": name, "namespace": ns,
                         "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [a], "conditions": {"ready": True}} for a in addrs],
            "ports": [{"name": "web", "protocol": "TCP", "port": 8080}]}


def namespace(name, labels=None):
    return {"kind": "Namespace", "apiVersion": "v1",
            "metadata": {"name": name, "labels": dict(labels or {})}}


# --------------------------------------------------------------------------------------------
# Raw clients
# --------------------------------------------------------------------------------------------


def request(srv_or_port, method, path, body=None, token=None, headers=None, ctx=None):
    """One HTTP request on a fresh connection; returns (status, headers, parsed JSON or text)."""
    port = srv_or_port if isinstance(srv_or_port, int) else srv_or_port.port
    if ctx is not None:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=TIMEOUT, context=ctx)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    hdrs = {"Accept": "application/json"}
    if token:
        hdrs["Authorization"] = "Bearer " + token
    hdrs.update(headers or {})
    data = json.dumps(body).encode() if body is not None else None
    if data is not None:
        hdrs["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, parsed
    finally:
        conn.close()


def get(srv, path, **kw):
    return request(srv, "GET", path, **kw)


class RawWatch:
    """A watch over a raw socket with a hand-written HTTP/1.1 chunked decoder.

    Records every chunk payload; `end` becomes "clean" (zero-length chunk), "eof" (FIN without
    the terminating chunk) or "reset" (RST)."""

    def __init__(self, port, path, token=None, ctx=None, accept="application/json",
                 timeout=TIMEOUT):
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if ctx is not None:
            sock = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
        self.sock = sock
        self.buf = b""
        self.chunks = []
        self.end = None
        auth = "Authorization: Bearer %s\r\n" % token if token else ""
        sock.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: %s\r\n"
                      "User-Agent: petdns-test\r\n%s\r\n" % (path, port, accept, auth)).encode())
        self.status, self.headers = self._read_head()
        self.body = None
        if "content-length" in self.headers:
            n = int(self.headers["content-length"])
            self.body = json.loads(self._read_exact(n))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _fill(self):
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            self.end = "reset"
            raise
        if not data:
            self.end = "eof"
            raise EOFError("connection closed")
        self.buf += data

    def _read_line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _read_head(self):
        status = self._read_line().decode()
        assert status.startswith("HTTP/1.1 "), status
        headers = {}
        while True:
            line = self._read_line().decode()
            if not line:
                return int(status.split()[1]), headers
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()

    def read_chunk(self):
        """Next chunk payload, or None after the terminating zero-length chunk."""
        size = int(self._read_line().split(b";")[0], 16)
        if size == 0:
            assert self._read_line() == b""
            self.end = "clean"
            return None
        data = self._read_exact(size)
        assert self._read_exact(2) == b"\r\n", "chunk data not followed by CRLF"
        self.chunks.append(data)
        return data

    def next_event(self):
        """Next event (exactly one JSON object + newline per chunk), or None at a clean end."""
        data = self.read_chunk()
        if data is None:
            return None
        assert data.endswith(b"\n") and data.count(b"\n") == 1, data
        return json.loads(data)

    def events(self, n):
        out = []
        for _ in range(n):
            ev = self.next_event()
            assert ev is not None, "stream ended after %d of %d events" % (len(out), n)
            out.append(ev)
        return out

    def read_to_end(self, limit=1000):
        """Events until the stream ends cleanly."""
        out = []
        for _ in range(limit):
            ev = self.next_event()
            if ev is None:
                return out
            out.append(ev)
        raise AssertionError("stream did not end")

    def expect_silence(self, seconds):
        """Assert nothing arrives for `seconds`."""
        self.sock.settimeout(seconds)
        try:
            data = self.sock.recv(1)
            raise AssertionError("unexpected data: %r" % data)
        except (socket.timeout, ssl.SSLError):
            pass
        finally:
            self.sock.settimeout(TIMEOUT)


def names(items):
    return sorted(i["metadata"]["name"] for i in items)


def wait_until(pred, timeout=TIMEOUT):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return False


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture
def make_srv():
    started = []

    def make(**kw):
        s = FakeApiServer(**kw).start()
        started.append(s)
        return s

    yield make
    for s in started:
        t = time.monotonic()
        s.stop()
        assert time.monotonic() - t < 3.0, "stop() was not prompt"


@pytest.fixture
def srv(make_srv):
    return make_srv()


def seed(s):
    s.create(namespace("default"))
    s.create(namespace("kube-system"))
    s.create(svc("nginx", labels={"app": "nginx", "tier": "web"}))
    s.create(svc("api", labels={"app": "api", "tier": "backend"}))
    s.create(svc("kube-dns", "kube-system", labels={"k8s-app": "kube-dns"}, ip="10.96.0.53"))
    s.create(svc("plain", "kube-system"))


# --------------------------------------------------------------------------------------------
# LIST
# --------------------------------------------------------------------------------------------


def test_list_shape_items_without_kind(srv):
    seed(srv)
    code, hdrs, body = get(srv, "/api/v1/services")
    assert code == 200 and hdrs["content-type"] == "application/json"
    assert body["kind"] == "ServiceList" and body["apiVersion"] == "v1"
    assert body["metadata"] == {"resourceVersion": str(srv.resource_version)}
    assert names(body["items"]) == ["api", "kube-dns", "nginx", "plain"]
    for item in body["items"]:
        assert "kind" not in item and "apiVersion" not in item
        meta = item["metadata"]
        assert meta["uid"] and meta["creationTimestamp"].endswith("Z")
        assert meta["namespace"] in ("default", "kube-system")
        assert int(meta["resourceVersion"]) <= srv.resource_version
    code, _, body = get(srv, "/api/v1/namespaces/kube-system/services")
    assert names(body["items"]) == ["kube-dns", "plain"]
    code, _, body = get(srv, "/api/v1/namespaces")
    assert body["kind"] == "NamespaceList"
    assert "namespace" not in body["items"][0]["metadata"]
    assert body["items"][0]["status"] == {"phase": "Active"}
    srv.create(eps("nginx-abc", "nginx"))
    code, _, body = get(srv, "/apis/discovery.k8s.io/v1/endpointslices")
    assert body["kind"] == "EndpointSliceList" and body["apiVersion"] == "discovery.k8s.io/v1"
    assert body["items"][0]["metadata"]["generation"] == 1
    code, _, body = get(srv, "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices")
    assert names(body["items"]) == ["nginx-abc"]


def test_resource_versions_are_global_and_monotonic(srv):
    a = srv.create(svc("a"))
    b = srv.create(pod("p"))
    c = srv.create(eps("a-1", "a"))
    rvs = [int(o["metadata"]["resourceVersion"]) for o in (a, b, c)]
    assert rvs == sorted(rvs) and len(set(rvs)) == 3
    assert srv.resource_version == rvs[-1]


def test_get_single_object_and_not_found(srv):
    seed(srv)
    code, _, body = get(srv, "/api/v1/namespaces/default/services/nginx")
    assert code == 200 and body["kind"] == "Service" and body["metadata"]["name"] == "nginx"
    code, _, body = get(srv, "/api/v1/namespaces/default/services/nope")
    assert code == 404
    assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": 'services "nope" not found', "reason": "NotFound",
                    "details": {"name": "nope", "kind": "services"}, "code": 404}
    code, _, body = get(srv, "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/x")
    assert body["message"] == 'endpointslices.discovery.k8s.io "x" not found'
    assert body["details"] == {"name": "x", "group": "discovery.k8s.io", "kind": "endpointslices"}
    code, _, body = get(srv, "/api/v1/namespaces/kube-system")
    assert code == 200 and body["kind"] == "Namespace"


@pytest.mark.parametrize("path", ["/api/v1/configmaps", "/apis/apps/v1/deployments", "/nope",
                                  "/api/v1/namespaces/default/endpointslices",
                                  "/apis/discovery.k8s.io/v1/services"])
def test_unknown_path_is_404_status(srv, path):
    code, _, body = get(srv, path)
    assert code == 404 and body["kind"] == "Status" and body["reason"] == "NotFound"
    assert body["code"] == 404


def test_pagination_limit_continue_snapshot(srv):
    for i in range(5):
        srv.create(svc("s%d" % i))
    code, _, page1 = get(srv, "/api/v1/services?limit=2")
    assert code == 200 and names(page1["items"]) == ["s0", "s1"]
    rv = page1["metadata"]["resourceVersion"]
    token = page1["metadata"]["continue"]
    assert page1["metadata"]["remainingItemCount"] == 3
    decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    assert decoded == {"v": "meta.k8s.io/v1", "rv": int(rv), "start": "default/s1\x00"}
    # Changes after the first page do not show up: pages are one snapshot.
    srv.create(svc("s2a"))
    srv.delete("services", "default", "s3")
    code, _, page2 = get(srv, "/api/v1/services?limit=2&continue=" + token)
    assert code == 200 and names(page2["items"]) == ["s2", "s3"]
    assert page2["metadata"]["resourceVersion"] == rv
    code, _, page3 = get(srv, "/api/v1/services?limit=2&continue=" + page2["metadata"]["continue"])
    assert names(page3["items"]) == ["s4"]
    assert page3["metadata"] == {"resourceVersion": rv}  # no continue on the last page
    # Selectors drop remainingItemCount (it would be a guess).
    code, _, sel = get(srv, "/api/v1/services?limit=1&labelSelector=missing!%3Dx")
    assert "continue" in sel["metadata"] and "remainingItemCount" not in sel["metadata"]


def test_continue_with_resource_version_is_rejected(srv):
    for i in range(3):
        srv.create(svc("s%d" % i))
    _, _, page1 = get(srv, "/api/v1/services?limit=1")
    token = page1["metadata"]["continue"]
    code, _, body = get(srv, "/api/v1/services?limit=1&resourceVersion=%s&continue=%s"
                        % (page1["metadata"]["resourceVersion"], token))
    assert code == 400 and body["reason"] == "BadRequest"
    assert body["message"] == "specifying resource version is not allowed when using continue"
    code, _, body = get(srv, "/api/v1/services?limit=1&resourceVersionMatch=Exact&continue="
                        + token)
    assert code == 422 and body["reason"] == "Invalid"
    code, _, body = get(srv, "/api/v1/services?limit=1&continue=garbage!!")
    assert code == 400


def test_continue_expired_after_compaction(srv):
    for i in range(4):
        srv.create(svc("s%d" % i))
    _, _, page1 = get(srv, "/api/v1/services?limit=2")
    srv.create(svc("s9"))
    srv.compact()
    code, _, body = get(srv, "/api/v1/services?limit=2&continue=" + page1["metadata"]["continue"])
    assert code == 410 and body["reason"] == "Expired" and body["status"] == "Failure"
    assert body["message"].startswith(
        "The provided continue parameter is too old to display a consistent list result. You "
        "can start a new list without the continue parameter, or use the continue token")
    # The inconsistent continuation lists the rest at the current RV.
    code, _, rest = get(srv, "/api/v1/services?limit=10&continue=" + body["metadata"]["continue"])
    assert code == 200 and names(rest["items"]) == ["s2", "s3", "s9"]
    assert rest["metadata"]["resourceVersion"] == str(srv.resource_version)


def test_list_resource_version_semantics(make_srv):
    srv = make_srv(history_limit=1000)
    a = srv.create(svc("a"))
    old_rv = a["metadata"]["resourceVersion"]
    srv.create(svc("b"))
    srv.create(svc("c"))
    cur = str(srv.resource_version)
    # RV=0: from the cache, limit ignored, no continue.
    _, _, body = get(srv, "/api/v1/services?resourceVersion=0&limit=1")
    assert names(body["items"]) == ["a", "b", "c"] and "continue" not in body["metadata"]
    assert body["metadata"]["resourceVersion"] == cur
    # RV=N NotOlderThan (or no limit): current state.
    for q in ("resourceVersion=%s&resourceVersionMatch=NotOlderThan" % old_rv,
              "resourceVersion=%s" % old_rv):
        _, _, body = get(srv, "/api/v1/services?" + q)
        assert names(body["items"]) == ["a", "b", "c"] and body["metadata"]["resourceVersion"] == cur
    # RV=N Exact, and legacy RV=N + limit: the snapshot at N.
    for q in ("resourceVersion=%s&resourceVersionMatch=Exact" % old_rv,
              "resourceVersion=%s&limit=10" % old_rv):
        _, _, body = get(srv, "/api/v1/services?" + q)
        assert names(body["items"]) == ["a"], q
        assert body["metadata"]["resourceVersion"] == old_rv
    # Exact below the history window: 410.
    srv.compact()
    code, _, body = get(srv, "/api/v1/services?resourceVersion=%s&resourceVersionMatch=Exact"
                        % old_rv)
    assert code == 410
    assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": "The resourceVersion for the provided list is too old.",
                    "reason": "Expired", "code": 410}
    # Ahead of the server: 504 ResourceVersionTooLarge.
    code, hdrs, body = get(srv, "/api/v1/services?resourceVersion=%d" % (int(cur) + 50))
    assert code == 504 and body["reason"] == "Timeout"
    assert body["message"] == "Timeout: Too large resource version: %d, current: %s" % (
        int(cur) + 50, cur)
    assert body["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"
    assert body["details"]["retryAfterSeconds"] >= 1 and hdrs["retry-after"]


def test_list_option_validation_422(srv):
    code, _, body = get(srv, "/api/v1/services?resourceVersion=0&resourceVersionMatch=Exact")
    assert code == 422 and body["reason"] == "Invalid"
    assert body["message"] == ('ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: '
                               'Forbidden: resourceVersionMatch "exact" is forbidden for '
                               'resourceVersion "0"')
    assert body["details"]["group"] == "meta.k8s.io" and body["details"]["kind"] == "ListOptions"
    code, _, body = get(srv, "/api/v1/services?resourceVersionMatch=NotOlderThan")
    assert code == 422 and "forbidden unless resourceVersion is provided" in body["message"]
    code, _, body = get(srv, "/api/v1/services?sendInitialEvents=true")
    assert code == 422 and "sendInitialEvents is forbidden for list" in body["message"]


LABEL_CASES = [
    ("app=nginx", ["nginx"]),
    ("app==nginx", ["nginx"]),
    ("app!=nginx", ["api", "kube-dns", "plain"]),
    ("tier in (web,backend)", ["api", "nginx"]),
    ("tier notin (web)", ["api", "kube-dns", "plain"]),
    ("tier", ["api", "nginx"]),
    ("!tier", ["kube-dns", "plain"]),
    ("tier,app=api", ["api"]),
    ("tier in (web, backend),app!=api", ["nginx"]),
    ("k8s-app=kube-dns,!tier", ["kube-dns"]),
]


@pytest.mark.parametrize("selector,expected", LABEL_CASES)
def test_label_selectors(srv, selector, expected):
    seed(srv)
    from urllib.parse import quote
    code, _, body = get(srv, "/api/v1/services?labelSelector=" + quote(selector))
    assert code == 200 and names(body["items"]) == expected


def test_bad_label_selector_is_400(srv):
    code, _, body = get(srv, "/api/v1/services?labelSelector=a%20in%20(")
    assert code == 400 and body["reason"] == "BadRequest"


def test_field_selectors(srv):
    seed(srv)
    srv.create(pod("run", phase="Running"))
    srv.create(pod("done", phase="Succeeded"))
    srv.create(pod("bad", phase="Failed"))
    srv.create(pod("odd", "kube-system", phase="Unknown"))
    srv.create(pod("pend", "kube-system", phase="Pending"))
    q = "status.phase!%3DSucceeded,status.phase!%3DFailed,status.phase!%3DUnknown"
    _, _, body = get(srv, "/api/v1/pods?fieldSelector=" + q)
    assert names(body["items"]) == ["pend", "run"]
    _, _, body = get(srv, "/api/v1/services?fieldSelector=metadata.name%3Dnginx")
    assert names(body["items"]) == ["nginx"]
    _, _, body = get(srv, "/api/v1/services?fieldSelector=metadata.namespace%3D%3Dkube-system")
    assert names(body["items"]) == ["kube-dns", "plain"]
    _, _, body = get(srv, "/api/v1/namespaces?fieldSelector=status.phase%3DActive")
    assert names(body["items"]) == ["default", "kube-system"]
    code, _, body = get(srv, "/api/v1/services?fieldSelector=spec.foo%3Dx")
    assert code == 400 and body["message"] == "field label not supported: spec.foo"


# --------------------------------------------------------------------------------------------
# WATCH
# --------------------------------------------------------------------------------------------


def test_watch_raw_chunk_framing(srv):
    """Parse the byte stream by hand: headers first, one chunk per event, exact sizes, \\n."""
    srv.create(namespace("default"))
    rv = srv.resource_version
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT)
    try:
        sock.sendall(b"GET /apis/discovery.k8s.io/v1/endpointslices?allowWatchBookmarks=true&"
                     b"resourceVersion=%d&timeoutSeconds=30&watch=true HTTP/1.1\r\n"
                     b"Host: x\r\nAccept: application/json\r\n\r\n" % rv)
        buf = b""
        while b"\r\n\r\n" not in buf:  # headers must arrive before any event exists
            data = sock.recv(4096)
            assert data, "closed before headers"
            buf += data
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        assert lines[0] == "HTTP/1.1 200 OK"
        hdrs = dict((k.lower(), v.strip()) for k, v in (ln.split(":", 1) for ln in lines[1:]))
        assert hdrs["content-type"] == "application/json"
        assert hdrs["transfer-encoding"] == "chunked" and "content-length" not in hdrs
        assert buf == b""
        srv.create(eps("web-1", "web", addrs=("10.0.0.1",)))
        srv.create(eps("web-2", "web", addrs=("10.0.0.2",)))
        srv.close_watches()
        while not buf.endswith(b"0\r\n\r\n"):
            data = sock.recv(4096)
            assert data, "closed without the terminating chunk"
            buf += data
    finally:
        sock.close()
    events = []
    while True:
        size_line, buf = buf.split(b"\r\n", 1)
        size = int(size_line, 16)
        if size == 0:
            assert buf == b"\r\n"
            break
        payload, crlf, buf = buf[:size], buf[size:size + 2], buf[size + 2:]
        assert crlf == b"\r\n"
        assert payload.endswith(b"}\n") and payload.count(b"\n") == 1
        assert b": " not in payload and b", " not in payload  # compact JSON
        events.append(json.loads(payload))
    assert [e["type"] for e in events] == ["ADDED", "ADDED"]
    obj = events[0]["object"]
    assert obj["kind"] == "EndpointSlice" and obj["apiVersion"] == "discovery.k8s.io/v1"
    assert list(obj)[:3] == ["kind", "apiVersion", "metadata"]
    assert int(obj["metadata"]["resourceVersion"]) == rv + 1


@pytest.mark.parametrize("rv", ["", "0"])
def test_watch_without_rv_starts_with_synthetic_added(srv, rv):
    seed(srv)
    q = "?watch=true" + ("&resourceVersion=" + rv if rv else "")
    w = RawWatch(srv.port, "/api/v1/services" + q)
    try:
        assert w.status == 200
        initial = w.events(4)
        assert {e["type"] for e in initial} == {"ADDED"}
        assert names(e["object"] for e in initial) == ["api", "kube-dns", "nginx", "plain"]
        srv.create(svc("new"))
        ev = w.next_event()
        assert ev["type"] == "ADDED" and ev["object"]["metadata"]["name"] == "new"
    finally:
        w.close()


def test_watch_replays_history_after_rv(srv):
    a = srv.create(svc("a"))
    start = int(a["metadata"]["resourceVersion"])
    srv.create(pod("p"))  # other resources do not show up
    b = dict(srv.get("services", "default", "a"))
    b["spec"] = dict(b["spec"], clusterIP="10.96.0.99")
    srv.update(b)
    srv.create(svc("c"))
    srv.delete("services", "default", "c")
    w = RawWatch(srv.port, "/api/v1/services?watch=1&resourceVersion=%d" % start)
    try:
        evs = w.events(3)
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in evs] == [
            ("MODIFIED", "a"), ("ADDED", "c"), ("DELETED", "c")]
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in evs]
        assert rvs == sorted(rvs) and rvs[0] > start
        assert evs[0]["object"]["spec"]["clusterIP"] == "10.96.0.99"
        srv.create(svc("live"))
        assert w.next_event()["object"]["metadata"]["name"] == "live"
    finally:
        w.close()


def test_watch_too_old_after_compaction(srv):
    a = srv.create(svc("a"))
    old = int(a["metadata"]["resourceVersion"])
    srv.create(svc("b"))
    floor = srv.compact()
    w = RawWatch(srv.port, "/api/v1/services?watch=true&resourceVersion=%d" % old)
    try:
        assert w.status == 200
        raw = w.read_chunk()
        assert raw == (b'{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1",'
                       b'"metadata":{},"status":"Failure","message":"too old resource version: '
                       b'%d (%d)","reason":"Expired","code":410}}\n' % (old, floor))
        assert w.read_chunk() is None and w.end == "clean"
    finally:
        w.close()
    # Watching from the current RV still works after compaction.
    w = RawWatch(srv.port, "/api/v1/services?watch=true&resourceVersion=%d" % floor)
    try:
        srv.create(svc("c"))
        assert w.next_event()["type"] == "ADDED"
    finally:
        w.close()


def test_bounded_history_expires_old_rvs(make_srv):
    srv = make_srv(history_limit=3)
    first = srv.create(svc("s0"))
    for i in range(1, 6):
        srv.create(svc("s%d" % i))
    w = RawWatch(srv.port, "/api/v1/services?watch=true&resourceVersion="
                 + first["metadata"]["resourceVersion"])
    try:
        ev = w.next_event()
        assert ev["type"] == "ERROR" and ev["object"]["code"] == 410
        assert ev["object"]["message"].startswith("too old resource version: ")
    finally:
        w.close()
    # The 3 newest events are still replayable.
    rv = srv.resource_version - 3
    w = RawWatch(srv.port, "/api/v1/services?watch=true&resourceVersion=%d" % rv)
    try:
        assert names(e["object"] for e in w.events(3)) == ["s3", "s4", "s5"]
    finally:
        w.close()


def test_watch_rv_too_large_is_error_event(srv):
    srv.create(svc("a"))
    cur = srv.resource_version
    w = RawWatch(srv.port, "/api/v1/services?watch=true&resourceVersion=%d" % (cur + 10))
    try:
        assert w.status == 200
        ev = w.next_event()
        assert ev["type"] == "ERROR"
        st = ev["object"]
        assert st["code"] == 504 and st["reason"] == "Timeout"
        assert st["message"] == "Timeout: Too large resource version: %d, current: %d" % (
            cur + 10, cur)
        assert st["details"]["causes"] == [{"reason": "ResourceVersionTooLarge",
                                            "message": "Too large resource version"}]
        assert w.next_event() is None
    finally:
        w.close()


@pytest.mark.parametrize("resource,path,body", [
    ("services", "/api/v1/services",
     {"spec": {}, "status": {"loadBalancer": {}}}),
    ("endpointslices", "/apis/discovery.k8s.io/v1/endpointslices",
     {"addressType": "", "endpoints": None, "ports": None}),
    ("pods", "/api/v1/pods", {"spec": {"containers": None}, "status": {}}),
    ("namespaces", "/api/v1/namespaces", {"spec": {}, "status": {}}),
])
def test_watch_bookmarks(make_srv, resource, path, body):
    srv = make_srv(bookmark_interval=0.3)
    srv.create(svc("a"))
    rv = srv.resource_version
    w = RawWatch(srv.port, path + "?watch=true&allowWatchBookmarks=true&resourceVersion=%d" % rv)
    try:
        t = time.monotonic()
        ev = w.next_event()
        assert 0.2 < time.monotonic() - t < 3.0
        kind = {"services": "Service", "endpointslices": "EndpointSlice", "pods": "Pod",
                "namespaces": "Namespace"}[resource]
        api = "discovery.k8s.io/v1" if resource == "endpointslices" else "v1"
        assert ev == {"type": "BOOKMARK", "object": dict(
            {"kind": kind, "apiVersion": api, "metadata": {"resourceVersion": str(rv)}}, **body)}
        srv.create(svc("b"))  # another resource moves the global RV; bookmarks follow it
        ev = w.next_event()
        if resource == "services":
            assert ev["type"] == "ADDED"
            ev = w.next_event()
        assert ev["type"] == "BOOKMARK"
        assert ev["object"]["metadata"]["resourceVersion"] == str(srv.resource_version)
    finally:
        w.close()


def test_no_bookmarks_unless_asked(make_srv):
    srv = make_srv(bookmark_interval=0.1)
    w = RawWatch(srv.port, "/api/v1/services?watch=true&resourceVersion=1&timeoutSeconds=1")
    try:
        assert w.read_to_end() == []
    finally:
        w.close()


def test_watch_timeout_closes_cleanly_with_pre_timeout_bookmark(srv):
    srv.create(svc("a"))
    t = time.monotonic()
    w = RawWatch(srv.port, "/api/v1/services?allowWatchBookmarks=true&resourceVersion=%d"
                 "&timeoutSeconds=1&watch=true" % srv.resource_version)
    try:
        evs = w.read_to_end()
        elapsed = time.monotonic() - t
        assert 0.9 < elapsed < 3.0 and w.end == "clean"
        assert [e["type"] for e in evs] == ["BOOKMARK"]  # "just before the deadline"
        # HTTP/1.1 keep-alive: the connection takes another request after the clean end.
        w.sock.sendall(b"GET /api/v1/services HTTP/1.1\r\nHost: x\r\n\r\n")
        status, hdrs = w._read_head()
        assert status == 200 and json.loads(w._read_exact(int(hdrs["content-length"])))
    finally:
        w.close()


def test_deleted_event_carries_last_state_with_deletion_rv(srv):
    created = srv.create(svc("gone", labels={"app": "x"}))
    w = RawWatch(srv.port, "/api/v1/services?watch=true&resourceVersion="
                 + created["metadata"]["resourceVersion"])
    try:
        returned = srv.delete("services", "default", "gone")
        ev = w.next_event()
        assert ev["type"] == "DELETED"
        obj = ev["object"]
        assert obj["metadata"]["resourceVersion"] == str(srv.resource_version)
        assert obj["metadata"]["resourceVersion"] == returned["metadata"]["resourceVersion"]
        assert obj["metadata"]["uid"] == created["metadata"]["uid"]
        assert obj["spec"] == created["spec"] and obj["metadata"]["labels"] == {"app": "x"}
        assert obj["kind"] == "Service"
    finally:
        w.close()


def test_watch_selectors_turn_transitions_into_added_and_deleted(srv):
    srv.create(svc("a", labels={"app": "x"}))
    w = RawWatch(srv.port, "/api/v1/namespaces/default/services?watch=true&labelSelector=app%%3Dx"
                 "&resourceVersion=%d" % srv.resource_version)
    try:
        srv.create(svc("other", "kube-system", labels={"app": "x"}))  # other namespace
        obj = srv.get("services", "default", "a")
        del obj["metadata"]["resourceVersion"]  # unconditional updates
        obj["metadata"]["labels"] = {"app": "y"}
        srv.update(obj)  # leaves the selector → DELETED
        obj["metadata"]["labels"] = {"app": "x"}
        srv.update(obj)  # enters again → ADDED
        obj["spec"]["clusterIP"] = "10.96.1.1"
        srv.update(obj)  # stays → MODIFIED
        evs = w.events(3)
        assert [e["type"] for e in evs] == ["DELETED", "ADDED", "MODIFIED"]
        assert evs[0]["object"]["metadata"]["labels"] == {"app": "x"}  # previous state
    finally:
        w.close()


def test_send_initial_events_is_422(srv):
    code, _, body = get(srv, "/api/v1/services?allowWatchBookmarks=true&resourceVersionMatch="
                        "NotOlderThan&sendInitialEvents=true&watch=true")
    assert code == 422
    assert body == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: '
                   "sendInitialEvents is forbidden for watch unless the WatchList feature gate "
                   "is enabled",
        "reason": "Invalid",
        "details": {"group": "meta.k8s.io", "kind": "ListOptions", "causes": [{
            "reason": "FieldValueForbidden",
            "message": "Forbidden: sendInitialEvents is forbidden for watch unless the "
                       "WatchList feature gate is enabled",
            "field": "sendInitialEvents"}]},
        "code": 422}
    code, _, body = get(srv, "/api/v1/services?sendInitialEvents=true&watch=true")
    assert code == 422 and len(body["details"]["causes"]) == 2


def test_watches_do_not_block_each_other(srv):
    watches = [RawWatch(srv.port, "/api/v1/services?watch=true&resourceVersion=1")
               for _ in range(8)]
    try:
        assert srv.wait_for_watches(8, timeout=TIMEOUT)
        code, _, _ = get(srv, "/api/v1/services")
        assert code == 200
        srv.create(svc("a"))
        for w in watches:
            assert w.next_event()["object"]["metadata"]["name"] == "a"
    finally:
        for w in watches:
            w.close()
    assert wait_until(lambda: not srv.open_watches())


def test_stop_ends_open_watches_promptly(make_srv):
    srv = make_srv()
    w = RawWatch(srv.port, "/api/v1/services?watch=true")
    hung = RawWatch(srv.port, "/api/v1/pods?watch=true")
    srv.hang_next(1, before_headers=True)
    idle = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT)
    idle.sendall(b"GET /api/v1/pods HTTP/1.1\r\nHost: x\r\n\r\n")
    assert wait_until(lambda: srv.state()["hangingRequests"] == 1)
    t = time.monotonic()
    srv.stop()
    assert time.monotonic() - t < 2.0
    assert w.read_to_end() == [] and hung.read_to_end() == []
    assert idle.recv(100) == b""
    w.close()
    hung.close()
    idle.close()


# --------------------------------------------------------------------------------------------
# Auth
# --------------------------------------------------------------------------------------------

UNAUTHORIZED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Unauthorized", "reason": "Unauthorized", "code": 401}


def test_auth_and_token_rotation(make_srv):
    srv = make_srv(token="t1")
    assert get(srv, "/api/v1/services")[0:3:2] == (401, UNAUTHORIZED)
    assert get(srv, "/api/v1/services", token="wrong")[0] == 401
    assert get(srv, "/api/v1/services", token="t1")[0] == 200
    w = RawWatch(srv.port, "/api/v1/services?watch=true")
    assert w.status == 401 and w.body == UNAUTHORIZED
    w.close()
    srv.set_token("t2")
    assert get(srv, "/api/v1/services", token="t1")[0] == 401
    assert get(srv, "/api/v1/services", token="t2")[0] == 200
    # 401 even with the current token, until the token changes.
    srv.set_unauthorized_until_token_change()
    assert get(srv, "/api/v1/services", token="t2")[0] == 401
    srv.set_token("t3")
    assert get(srv, "/api/v1/services", token="t3")[0] == 200
    assert [m for m, _ in srv.requests].count("GET") == len(srv.requests)
    assert srv.request_log()[-1]["authorization"] == "Bearer t3"


# --------------------------------------------------------------------------------------------
# Fault injection
# --------------------------------------------------------------------------------------------


def test_fail_429_with_retry_after(srv):
    srv.fail_next(2, 429, path_regex=r"^/api/v1/services", retry_after=3)
    for _ in range(2):
        code, hdrs, body = get(srv, "/api/v1/services?limit=500")
        assert code == 429 and hdrs["retry-after"] == "3"
        assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                        "status": "Failure", "message": "Too many requests, please try again "
                        "later.", "reason": "TooManyRequests", "details": {"retryAfterSeconds": 3},
                        "code": 429}
    assert get(srv, "/api/v1/pods")[0] == 200
    assert get(srv, "/api/v1/services")[0] == 200  # count used up


def test_fail_403_forbidden_shape(srv):
    srv.fail_next(1, 403, path_regex="endpointslices")
    code, _, body = get(srv, "/apis/discovery.k8s.io/v1/endpointslices?watch=true")
    assert code == 403 and body["reason"] == "Forbidden"
    assert body["message"] == (
        'endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:kube-system:'
        'petdns" cannot watch resource "endpointslices" in API group "discovery.k8s.io" at the '
        "cluster scope")
    assert body["details"] == {"group": "discovery.k8s.io", "kind": "endpointslices"}
    srv.fail_next(1, 403, path_regex="services")
    code, _, body = get(srv, "/api/v1/namespaces/default/services")
    assert body["message"] == ('services is forbidden: User "system:serviceaccount:kube-system:'
                               'petdns" cannot list resource "services" in API group "" in the '
                               'namespace "default"')


@pytest.mark.parametrize("status,reason", [(401, "Unauthorized"), (500, "InternalError"),
                                           (504, "Timeout"), (410, "Expired")])
def test_fail_other_statuses(srv, status, reason):
    srv.fail_next(1, status, method="GET")
    code, _, body = get(srv, "/api/v1/services")
    assert code == status and body["reason"] == reason and body["code"] == status
    if status == 504:
        assert body["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"
    if status == 500:
        assert body["message"] == "Internal error occurred: injected failure"
    assert get(srv, "/api/v1/services")[0] == 200


def test_fail_as_watch_error_event(srv):
    srv.fail_next(1, 500, path_regex="watch=true", as_event=True)
    w = RawWatch(srv.port, "/api/v1/services?watch=true&resourceVersion=1")
    try:
        assert w.status == 200
        ev = w.next_event()
        assert ev["type"] == "ERROR" and ev["object"]["reason"] == "InternalError"
        assert w.next_event() is None
    finally:
        w.close()


@pytest.mark.parametrize("reset", [True, False])
def test_drop_watches_abruptly(srv, reset):
    w = RawWatch(srv.port, "/api/v1/services?watch=true&resourceVersion=1")
    try:
        srv.create(svc("a"))
        assert w.next_event()["type"] == "ADDED"
        assert srv.drop_watches(reset=reset) == 1
        with pytest.raises((EOFError, ConnectionResetError)):
            w.read_chunk()
        assert w.end == ("reset" if reset else "eof")  # never "clean"
    finally:
        w.close()


@pytest.mark.parametrize("truncate_chunk", [False, True])
def test_drop_in_the_middle_of_an_event(srv, truncate_chunk):
    w = RawWatch(srv.port, "/api/v1/services?watch=true&resourceVersion=1")
    try:
        assert srv.wait_for_watches(1)
        srv.drop_watches(mid_event=True, truncate_chunk=truncate_chunk)
        srv.create(svc("split-me"))
        with pytest.raises((EOFError, ConnectionResetError)):
            w.read_chunk()
            w.read_chunk()
        if not truncate_chunk:  # a whole chunk holding half an event arrived
            assert len(w.chunks) == 1
            part = w.chunks[0]
            assert part.startswith(b'{"type":"ADDED"') and not part.endswith(b"\n")
            with pytest.raises(ValueError):
                json.loads(part)
        else:  # the chunk header promised more bytes than arrived
            assert w.chunks == [] and w.buf.startswith(b'{"type":"ADDED"')
        assert w.end in ("reset", "eof")
    finally:
        w.close()
    # The client re-watches from its last RV and gets the event whole.
    w = RawWatch(srv.port, "/api/v1/services?watch=true&resourceVersion=1")
    try:
        assert w.next_event()["object"]["metadata"]["name"] == "split-me"
    finally:
        w.close()


def test_close_watches_cleanly(srv):
    w = RawWatch(srv.port, "/api/v1/services?watch=true&resourceVersion=1")
    try:
        srv.create(svc("a"))
        assert w.next_event()["type"] == "ADDED"
        srv.close_watches()
        assert w.next_event() is None and w.end == "clean"
    finally:
        w.close()


def test_error_watches_sends_410(srv):
    w = RawWatch(srv.port, "/api/v1/services?watch=true&resourceVersion=1")
    try:
        assert srv.wait_for_watches(1)
        srv.error_watches(410)
        ev = w.next_event()
        assert ev["type"] == "ERROR" and ev["object"]["code"] == 410
        assert ev["object"]["reason"] == "Expired"
        assert ev["object"]["message"].startswith("too old resource version: 1 (")
        assert w.next_event() is None
    finally:
        w.close()


def test_short_watches(srv):
    srv.create(svc("a"))
    srv.short_watches(2)
    for _ in range(2):
        w = RawWatch(srv.port, "/api/v1/services?watch=true")  # would have had an ADDED
        t = time.monotonic()
        assert w.status == 200 and w.read_to_end() == [] and w.end == "clean"
        assert time.monotonic() - t < 1.0
        w.close()
    w = RawWatch(srv.port, "/api/v1/services?watch=true")
    assert w.next_event()["type"] == "ADDED"
    w.close()


def test_hang_watch_sends_headers_then_nothing(srv):
    srv.hang_next(1, path_regex="watch=true")
    w = RawWatch(srv.port, "/api/v1/services?watch=true&timeoutSeconds=1")
    try:
        assert w.status == 200 and w.headers["transfer-encoding"] == "chunked"
        srv.create(svc("a"))
        w.expect_silence(1.5)  # not even the timeout ends it
        srv.reset_faults()
        with pytest.raises((EOFError, ConnectionResetError)):
            w.read_chunk()
    finally:
        w.close()


def test_hang_before_headers(srv):
    srv.hang_next(1, path_regex="^/api/v1/services", before_headers=True)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=0.5)
    conn.request("GET", "/api/v1/services")
    with pytest.raises(socket.timeout):
        conn.getresponse()
    conn.close()
    assert get(srv, "/api/v1/services")[0] == 200  # only one was hung


def test_garbage_next_lists(srv):
    srv.create(svc("a"))
    srv.garbage_next_lists(1, path_regex="^/api/v1/services")
    assert get(srv, "/api/v1/pods")[0] == 200  # not matched
    status, _, body = get(srv, "/api/v1/services?limit=500")
    assert status == 200 and isinstance(body, str) and body.startswith('{"kind":"ServiceList"')
    status, _, body = get(srv, "/api/v1/services")  # only one
    assert status == 200 and body["items"][0]["metadata"]["name"] == "a"
    assert request(srv, "POST", "/_fake/garbage", {"nextLists": 1, "body": "<html>"})[0] == 200
    assert get(srv, "/api/v1/namespaces")[2] == "<html>"


def test_restart_keeps_port_objects_and_watch_history(srv):
    srv.create(svc("a"))
    rv = srv.resource_version
    port = srv.port
    srv.stop()
    srv.start()
    assert srv.port == port
    srv.create(svc("b"))
    w = RawWatch(srv.port, f"/api/v1/services?watch=true&resourceVersion={rv}")
    try:
        assert w.next_event()["object"]["metadata"]["name"] == "b"
    finally:
        w.close()


def test_garbage_on_watch(srv):
    w = RawWatch(srv.port, "/api/v1/services?watch=true&resourceVersion=1")
    try:
        assert srv.wait_for_watches(1)
        srv.garbage_watches()
        data = w.read_chunk()
        assert data.endswith(b"\n")
        with pytest.raises(ValueError):
            json.loads(data)
    finally:
        w.close()
    srv.garbage_next_watches(1, line="not json at all")
    w = RawWatch(srv.port, "/api/v1/services?watch=true&resourceVersion=1")
    try:
        assert w.read_chunk() == b"not json at all\n"
    finally:
        w.close()


def test_bookmark_now_and_old_style_creation_timestamp(srv):
    w = RawWatch(srv.port, "/api/v1/services?watch=true&allowWatchBookmarks=true&"
                 "resourceVersion=1")
    try:
        assert srv.wait_for_watches(1)
        srv.bookmark_creation_timestamp_null = True
        srv.bookmark_now()
        ev = w.next_event()
        assert ev["type"] == "BOOKMARK"
        assert ev["object"]["metadata"] == {"resourceVersion": "1", "creationTimestamp": None}
    finally:
        w.close()


def test_request_log(srv):
    get(srv, "/api/v1/services?limit=500")
    request(srv, "POST", "/_fake/compact", {})
    assert srv.requests == [("GET", "/api/v1/services?limit=500")]  # control calls not logged


# --------------------------------------------------------------------------------------------
# TLS
# --------------------------------------------------------------------------------------------


def test_tls_with_ca_file(make_srv):
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not installed")
    srv = make_srv(tls=True, token="tok")
    assert srv.url.startswith("https://127.0.0.1:") and os.path.exists(srv.ca_file)
    ctx = ssl.create_default_context(cafile=srv.ca_file)
    srv.create(svc("a"))
    code, _, body = get(srv, "/api/v1/services", token="tok", ctx=ctx)
    assert code == 200 and names(body["items"]) == ["a"]
    # "localhost" is in the certificate too.
    conn = http.client.HTTPSConnection("localhost", srv.port, timeout=TIMEOUT, context=ctx)
    conn.request("GET", "/version", headers={"Authorization": "Bearer tok"})
    assert conn.getresponse().status == 200
    conn.close()
    # Not trusted without the CA.
    with pytest.raises(ssl.SSLError):
        get(srv, "/api/v1/services", token="tok", ctx=ssl.create_default_context())
    w = RawWatch(srv.port, "/api/v1/services?watch=true&resourceVersion=1", token="tok", ctx=ctx)
    try:
        assert w.next_event()["object"]["metadata"]["name"] == "a"
        srv.drop_watches(mid_event=True)
        srv.create(svc("b"))
        with pytest.raises((EOFError, ConnectionResetError, ssl.SSLError)):
            w.read_chunk()
            w.read_chunk()
    finally:
        w.close()


# --------------------------------------------------------------------------------------------
# Standalone CLI + HTTP control API
# --------------------------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path):
    procs = []

    def start(*args):
        port_file = tmp_path / ("port%d" % len(procs))
        proc = subprocess.Popen([PY, str(HERE / "fake_apiserver.py"), "--port", "0",
                                 "--port-file", str(port_file)] + list(args),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
        procs.append(proc)
        assert wait_until(lambda: port_file.exists() or proc.poll() is not None, 10)
        assert proc.poll() is None, proc.stderr.read().decode()
        return proc, int(port_file.read_text())

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(5)
        p.stderr.close()


def test_cli_rest_writes_and_control_api(cli, tmp_path):
    data = tmp_path / "objs.json"
    data.write_text(json.dumps({"kind": "List", "items": [
        svc("kubernetes", labels={"component": "apiserver"}, ip="10.96.0.1"),
        namespace("default")]}))
    proc, port = cli("--load", str(data), "--token", "secret", "--bookmark-interval", "0.3")
    tok = {"token": "secret"}
    code, _, body = get(port, "/api/v1/services", **tok)
    assert code == 200 and names(body["items"]) == ["kubernetes"]
    # POST / PUT / DELETE for every resource.
    paths = {"services": "/api/v1/namespaces/default/services",
             "pods": "/api/v1/namespaces/default/pods",
             "endpointslices": "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
             "namespaces": "/api/v1/namespaces"}
    objs = {"services": svc("web"), "pods": pod("web-0"), "endpointslices": eps("web-x", "web"),
            "namespaces": namespace("team-a")}
    last_rv = 0
    for res, path in paths.items():
        obj = objs[res]
        name = obj["metadata"]["name"]
        code, _, created = request(port, "POST", path, obj, **tok)
        assert code == 201 and created["metadata"]["name"] == name
        assert int(created["metadata"]["resourceVersion"]) > last_rv
        last_rv = int(created["metadata"]["resourceVersion"])
        code, _, body = request(port, "POST", path, obj, **tok)
        assert code == 409 and body["reason"] == "AlreadyExists"
        created["metadata"]["labels"] = {"changed": "yes"}
        code, _, updated = request(port, "PUT", path + "/" + name, created, **tok)
        assert code == 200 and updated["metadata"]["labels"]["changed"] == "yes"
        assert int(updated["metadata"]["resourceVersion"]) > last_rv
        code, _, body = request(port, "PUT", path + "/" + name, created, **tok)  # stale RV
        assert code == 409 and body["reason"] == "Conflict"
        code, _, body = request(port, "PUT", path + "/nope", dict(obj, metadata={"name": "nope"}),
                                **tok)
        assert code == 404 and body["reason"] == "NotFound"
        code, _, gone = request(port, "DELETE", path + "/" + name, **tok)
        assert code == 200 and gone["metadata"]["name"] == name
        code, _, body = request(port, "DELETE", path + "/" + name, **tok)
        assert code == 404
        last_rv = int(gone["metadata"]["resourceVersion"])
    # Control API: no auth needed.
    code, _, st = get(port, "/_fake/state")
    assert code == 200 and st["resourceVersion"] == str(last_rv) and st["tokenRequired"]
    assert request(port, "POST", "/_fake/fail", {"status": 429, "count": 1, "retryAfter": 2,
                                                  "pathRegex": "/pods"})[0] == 200
    code, hdrs, body = get(port, "/api/v1/pods", **tok)
    assert code == 429 and hdrs["retry-after"] == "2"
    # wait-watches, bookmark, garbage, error-watches, drop/close via HTTP.
    w = RawWatch(port, "/api/v1/services?watch=true&allowWatchBookmarks=true&resourceVersion=%d"
                 % last_rv, token="secret")
    try:
        code, _, body = request(port, "POST", "/_fake/wait-watches", {"count": 1, "timeout": 5})
        assert code == 200 and body["openWatches"] == 1
        request(port, "POST", "/_fake/bookmark", {})
        assert w.next_event()["type"] == "BOOKMARK"
        request(port, "POST", "/_fake/garbage", {"line": "{oops"})
        assert w.read_chunk() == b"{oops\n"
        request(port, "POST", "/_fake/error-watches", {"code": 410})
        ev = w.next_event()
        assert ev["type"] == "ERROR" and ev["object"]["code"] == 410
    finally:
        w.close()
    w = RawWatch(port, "/api/v1/services?watch=true&resourceVersion=%d" % last_rv, token="secret")
    try:
        assert request(port, "POST", "/_fake/wait-watches", {"count": 1})[0] == 200
        assert request(port, "POST", "/_fake/close-watches", {})[2]["watches"] == 1
        assert w.next_event() is None and w.end == "clean"
    finally:
        w.close()
    w = RawWatch(port, "/api/v1/services?watch=true&resourceVersion=%d" % last_rv, token="secret")
    try:
        assert request(port, "POST", "/_fake/wait-watches", {"count": 1})[0] == 200
        request(port, "POST", "/_fake/drop-watches", {"midEvent": True})
        request(port, "POST", "/api/v1/namespaces/default/services", svc("x"), **tok)
        with pytest.raises((EOFError, ConnectionResetError)):
            w.read_chunk()
            w.read_chunk()
        assert w.end in ("eof", "reset")
    finally:
        w.close()
    code, _, body = request(port, "POST", "/_fake/wait-watches", {"count": 5, "timeout": 0.2})
    assert code == 408 and body["ok"] is False
    # short-watches, hang, compact, config, objects, token, unauthorized, reset, requests.
    request(port, "POST", "/_fake/short-watches", {"count": 1})
    w = RawWatch(port, "/api/v1/services?watch=true", token="secret")
    assert w.read_to_end() == []
    w.close()
    request(port, "POST", "/_fake/hang", {"count": 1, "pathRegex": "watch"})
    w = RawWatch(port, "/api/v1/services?watch=true", token="secret")
    w.expect_silence(0.5)
    request(port, "POST", "/_fake/reset", {})
    w.close()
    code, _, body = request(port, "POST", "/_fake/compact", {})
    cur = int(body["resourceVersion"])
    code, _, body = get(port, "/api/v1/services?resourceVersion=%d&resourceVersionMatch=Exact"
                        % (cur - 1), **tok)
    assert code == 410
    code, _, body = request(port, "POST", "/_fake/config", {"historyLimit": 5,
                                                             "bookmarkInterval": 10})
    assert body["historyLimit"] == 5 and body["bookmarkInterval"] == 10
    code, _, body = request(port, "POST", "/_fake/objects", {"items": [pod("p1"), pod("p2")]})
    assert code == 200 and len(body["items"]) == 2
    request(port, "POST", "/_fake/token", {"token": "rotated"})
    assert get(port, "/api/v1/pods", **tok)[0] == 401
    assert get(port, "/api/v1/pods", token="rotated")[0] == 200
    request(port, "POST", "/_fake/unauthorized", {"enabled": True})
    assert get(port, "/api/v1/pods", token="rotated")[0] == 401
    request(port, "POST", "/_fake/token", {"token": "third"})
    assert get(port, "/api/v1/pods", token="third")[0] == 200
    code, _, body = get(port, "/_fake/requests")
    assert body["requests"][-1]["path"] == "/api/v1/pods"
    assert request(port, "DELETE", "/_fake/requests")[0] == 200
    assert get(port, "/_fake/requests")[2]["requests"] == []
    request(port, "POST", "/_fake/reset", {"data": True})
    assert get(port, "/api/v1/pods", token="third")[2]["items"] == []
    assert request(port, "POST", "/_fake/nope", {})[0] == 404
    # SIGTERM ends it promptly and cleanly.
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(5) == 0


def test_cli_tls(cli, tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not installed")
    certs = tmp_path / "certs"
    proc, port = cli("--tls", "--cert-dir", str(certs))
    ctx = ssl.create_default_context(cafile=str(certs / "ca.crt"))
    assert get(port, "/api/v1/namespaces", ctx=ctx)[0] == 200
    assert get(port, "/_fake/state", ctx=ctx)[0] == 200


# --------------------------------------------------------------------------------------------
# kubectl: the real client must work against the fake
# --------------------------------------------------------------------------------------------


def kubectl_bin():
    path = os.environ.get("KUBECTL") or shutil.which("kubectl")
    if not path:
        pytest.skip("kubectl not installed (apt-get install kubernetes-client)")
    return path


def run_kubectl(tmp_path, *args, timeout=30):
    env = dict(os.environ, HOME=str(tmp_path), KUBECONFIG=str(tmp_path / "no-kubeconfig"))
    return subprocess.run([kubectl_bin()] + list(args), capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_kubectl_get_all_namespaces(srv, tmp_path):
    kubectl_bin()
    seed(srv)
    r = run_kubectl(tmp_path, "--server", srv.url, "get", "svc", "-A")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:6] == ["NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP",
                                    "PORT(S)"]
    rows = sorted(tuple(ln.split()[:2]) for ln in lines[1:])
    assert rows == [("default", "api"), ("default", "nginx"), ("kube-system", "kube-dns"),
                    ("kube-system", "plain")]
    assert any(m == "GET" and p.startswith("/api/v1/services?") for m, p in srv.requests)
    r = run_kubectl(tmp_path, "--server", srv.url, "get", "svc", "-A", "-o", "json")
    assert r.returncode == 0 and len(json.loads(r.stdout)["items"]) == 4
    srv.create(eps("nginx-a1", "nginx"))
    r = run_kubectl(tmp_path, "--server", srv.url, "get", "endpointslices", "-n", "default")
    assert r.returncode == 0 and "nginx-a1" in r.stdout, r.stderr


def test_kubectl_watch(srv, tmp_path):
    kubectl_bin()
    srv.create(namespace("default"))
    srv.create(svc("first"))
    env = dict(os.environ, HOME=str(tmp_path), KUBECONFIG=str(tmp_path / "no-kubeconfig"))
    proc = subprocess.Popen([kubectl_bin(), "--server", srv.url, "get", "svc", "-w"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert srv.wait_for_watches(1, timeout=20), "kubectl never opened a watch"
        srv.create(svc("second", ports=((53, "UDP"),)))
        srv.delete("services", "default", "first")
        time.sleep(0.5)
        srv.close_watches()  # kubectl get -w exits when its watch ends cleanly
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    names_seen = [ln.split()[0] for ln in out.splitlines()[1:]]
    assert names_seen == ["first", "second", "first"], out + err
    assert "53/UDP" in out
    watch_reqs = [p for m, p in srv.requests if "watch=true" in p]
    assert watch_reqs and "resourceVersion=" in watch_reqs[0]


def test_kubectl_over_tls_with_token(make_srv, tmp_path):
    kubectl_bin()
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not installed")
    srv = make_srv(tls=True, token="kube-token")
    srv.create(svc("secure"))
    r = run_kubectl(tmp_path, "--server", srv.url, "--certificate-authority", srv.ca_file,
                    "--token", "kube-token", "get", "svc", "-A")
    assert r.returncode == 0 and "secure" in r.stdout, r.stderr
    r = run_kubectl(tmp_path, "--server", srv.url, "--certificate-authority", srv.ca_file,
                    "--token", "wrong", "get", "svc", "-A")
    assert r.returncode != 0 and "Unauthorized" in r.stderr + r.stdout


# --------------------------------------------------------------------------------------------
# Odds and ends
# --------------------------------------------------------------------------------------------


def test_discovery_endpoints(srv):
    code, _, body = get(srv, "/version")
    assert code == 200 and body["major"] == "1" and body["gitVersion"].startswith("v1.")
    _, _, body = get(srv, "/api")
    assert body["kind"] == "APIVersions" and body["versions"] == ["v1"]
    _, _, body = get(srv, "/apis")
    assert [g["name"] for g in body["groups"]] == ["discovery.k8s.io"]
    _, _, body = get(srv, "/api/v1")
    assert sorted(r["name"] for r in body["resources"]) == ["namespaces", "pods", "services"]
    _, _, body = get(srv, "/apis/discovery.k8s.io/v1")
    assert [(r["name"], r["kind"]) for r in body["resources"]] == [("endpointslices",
                                                                    "EndpointSlice")]


def test_accept_negotiation(srv):
    code, _, body = get(srv, "/api/v1/services",
                        headers={"Accept": "application/vnd.kubernetes.protobuf"})
    assert code == 406 and body["reason"] == "NotAcceptable"
    code, _, body = get(srv, "/api/v1/services", headers={
        "Accept": "application/vnd.kubernetes.protobuf, application/json"})
    assert code == 200 and body["kind"] == "ServiceList"
    code, _, body = get(srv, "/api/v1/services", headers={
        "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
    assert code == 200 and body["kind"] == "Table" and body["columnDefinitions"]


def test_go_style_json_escaping(srv):
    obj = svc("a")
    obj["metadata"]["annotations"] = {"note": "<b>&</b> é"}
    srv.create(obj)
    w = RawWatch(srv.port, "/api/v1/services?watch=true")
    try:
        raw = w.read_chunk()
        assert b'"\\u003cb\\u003e\\u0026\\u003c/b\\u003e \xc3\xa9"' in raw
    finally:
        w.close()


def test_timeout_zero_means_server_default(make_srv):
    srv = make_srv(default_watch_timeout=1)
    t = time.monotonic()
    w = RawWatch(srv.port, "/api/v1/services?watch=true&resourceVersion=1&timeoutSeconds=0")
    try:
        assert w.read_to_end() == [] and 0.9 < time.monotonic() - t < 3
    finally:
        w.close()


def test_watch_single_object_by_name(srv):
    srv.create(svc("a"))
    srv.create(svc("b"))
    w = RawWatch(srv.port, "/api/v1/namespaces/default/services/b?watch=true")
    try:
        assert w.next_event()["object"]["metadata"]["name"] == "b"
        srv.delete("services", "default", "a")
        srv.delete("services", "default", "b")
        ev = w.next_event()
        assert ev["type"] == "DELETED" and ev["object"]["metadata"]["name"] == "b"
    finally:
        w.close()


def test_patch_and_namespace_cascade(srv):
    srv.create(namespace("team"))
    srv.create(svc("a", "team"))
    srv.create(pod("p", "team"))
    srv.create(svc("keep"))
    code, _, body = request(srv, "PATCH", "/api/v1/namespaces/team/services/a",
                            {"metadata": {"labels": {"patched": "yes"}}})
    assert code == 200 and body["metadata"]["labels"] == {"patched": "yes"}
    w = RawWatch(srv.port, "/api/v1/services?watch=true&resourceVersion=%d"
                 % srv.resource_version)
    try:
        code, _, body = request(srv, "DELETE", "/api/v1/namespaces/team")
        assert code == 200 and body["kind"] == "Namespace"
        ev = w.next_event()
        assert ev["type"] == "DELETED" and ev["object"]["metadata"]["name"] == "a"
    finally:
        w.close()
    assert [o["metadata"]["name"] for o in srv.objects("services")] == ["keep"]
    assert srv.objects("pods") == []


def test_cli_loads_several_files(cli, tmp_path):
    f1, f2 = tmp_path / "a.json", tmp_path / "b.json"
    f1.write_text(json.dumps(svc("one")))
    f2.write_text(json.dumps([pod("two"), eps("one-x", "one")]))
    proc, port = cli("--load", str(f1), str(f2))
    assert names(get(port, "/api/v1/services")[2]["items"]) == ["one"]
    assert names(get(port, "/api/v1/pods")[2]["items"]) == ["two"]
    assert names(get(port, "/apis/discovery.k8s.io/v1/endpointslices")[2]["items"]) == ["one-x"]

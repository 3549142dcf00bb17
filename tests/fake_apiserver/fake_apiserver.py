#!/usr/bin/python3
"""A fake Kubernetes API server for petdns tests (Python 3 standard library only).

Serves v1 services, pods, namespaces and discovery.k8s.io/v1 endpointslices over
HTTP/1.1 (optionally TLS) with the list+watch protocol described in
shared/reference/k8s-watch-protocol.md: one global monotonic resourceVersion, a
bounded per-resource event history (compaction), limit/continue pagination,
label/field selectors, chunked JSON watch streams with replay, BOOKMARKs,
timeouts, ERROR events, bearer-token auth and fault injection.

Two ways to use it:
  * in-process:  srv = FakeApiServer(); srv.start(); ... srv.stop()
  * standalone:  /usr/bin/python3 fake_apiserver.py --port 0 --port-file PATH
    (REST writes plus the /_fake/ control API, see README.md).

Threading: one thread per connection (ThreadingHTTPServer). All state lives in
one Store guarded by one Condition; every write wakes every watcher. Every
blocking wait has a timeout so stop() returns promptly.
"""

import argparse
import base64
import collections
import copy
import fcntl
import datetime
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# --------------------------------------------------------------------------------------------
# Resource catalogue
# --------------------------------------------------------------------------------------------

ResourceType = collections.namedtuple(
    "ResourceType", "name singular kind group version namespaced short_names list_kind")

RESOURCES = {
    "services": ResourceType("services", "service", "Service", "", "v1", True, ["svc"],
                             "ServiceList"),
    "endpointslices": ResourceType("endpointslices", "endpointslice", "EndpointSlice",
                                   "discovery.k8s.io", "v1", True, [], "EndpointSliceList"),
    "pods": ResourceType("pods", "pod", "Pod", "", "v1", True, ["po"], "PodList"),
    "namespaces": ResourceType("namespaces", "namespace", "Namespace", "", "v1", False, ["ns"],
                               "NamespaceList"),
}
KIND_TO_RESOURCE = {rt.kind: name for name, rt in RESOURCES.items()}


def api_version(rt):
    return rt.version if not rt.group else rt.group + "/" + rt.version


def qualified(rt):
    """schema.GroupResource.String(): "services", "endpointslices.discovery.k8s.io"."""
    return rt.name if not rt.group else rt.name + "." + rt.group


# Body of a BOOKMARK object besides kind/apiVersion/metadata: the zero value of each kind as
# Go's encoding/json writes it (non-omitempty fields appear as "" / null / {}).
BOOKMARK_BODY = {
    "services": {"spec": {}, "status": {"loadBalancer": {}}},
    "endpointslices": {"addressType": "", "endpoints": None, "ports": None},
    "pods": {"spec": {"containers": None}, "status": {}},
    "namespaces": {"spec": {}, "status": {}},
}

# Field selector labels each kind supports (metadata.name/namespace work everywhere).
FIELD_LABELS = {
    "services": {"spec.clusterIP", "spec.type"},
    "endpointslices": set(),
    "pods": {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
             "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP",
             "status.nominatedNodeName"},
    "namespaces": {"status.phase"},
}

# Go struct order of ObjectMeta, used to print metadata the way the real server does.
META_ORDER = ["name", "generateName", "namespace", "selfLink", "uid", "resourceVersion",
              "generation", "creationTimestamp", "deletionTimestamp",
              "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences",
              "finalizers", "managedFields"]

DEFAULT_FORBIDDEN_USER = "system:serviceaccount:kube-system:petdns"
FAKE_VERSION = {"major": "1", "minor": "30", "gitVersion": "v1.30.0",
                "gitCommit": "0000000000000000000000000000000000000000",
                "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
                "goVersion": "go1.22.0", "compiler": "gc", "platform": "linux/amd64"}

# --------------------------------------------------------------------------------------------
# JSON helpers
# --------------------------------------------------------------------------------------------


def dumps(obj):
    """Compact JSON as Go's json.Encoder writes it (UTF-8, HTML characters escaped)."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    s = (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
         .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return s.encode("utf-8")


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_bool(v):
    """strconv.ParseBool."""
    if v in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if v in ("0", "f", "F", "FALSE", "false", "False", ""):
        return False
    raise ApiError(bad_request("invalid boolean value: %r" % v))


def ordered_meta(meta):
    out = {k: meta[k] for k in META_ORDER if k in meta}
    out.update((k, v) for k, v in meta.items() if k not in out)
    return out


def with_rv(obj, rv):
    """Shallow copy of a stored object with metadata.resourceVersion set."""
    out = dict(obj)
    meta = dict(obj.get("metadata") or {})
    meta["resourceVersion"] = str(rv)
    out["metadata"] = ordered_meta(meta)
    return out


def with_kind(rt, obj):
    out = {"kind": rt.kind, "apiVersion": api_version(rt)}
    out.update((k, v) for k, v in obj.items() if k not in ("kind", "apiVersion"))
    return out


# --------------------------------------------------------------------------------------------
# Status objects (metav1.Status) and the errors the real apiserver returns
# --------------------------------------------------------------------------------------------


class ApiError(Exception):
    def __init__(self, status, headers=None):
        super().__init__(status.get("message", ""))
        self.status = status
        self.headers = headers or {}

    @property
    def code(self):
        return self.status["code"]


def status_obj(code, reason, message, details=None, status="Failure"):
    st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": status}
    if message:
        st["message"] = message
    if reason:
        st["reason"] = reason
    if details is not None:
        st["details"] = details
    st["code"] = code
    return st


def details_for(rt, name=None):
    d = {}
    if name:
        d["name"] = name
    if rt.group:
        d["group"] = rt.group
    d["kind"] = rt.name
    return d


def unauthorized():
    return status_obj(401, "Unauthorized", "Unauthorized")


def forbidden(rt, verb, ns, user=DEFAULT_FORBIDDEN_USER, name=None):
    scope = 'in the namespace "%s"' % ns if ns else "at the cluster scope"
    why = 'User "%s" cannot %s resource "%s" in API group "%s" %s' % (
        user, verb, rt.name, rt.group, scope)
    msg = ("%s %s is forbidden: %s" % (qualified(rt), json.dumps(name), why) if name
           else "%s is forbidden: %s" % (qualified(rt), why))
    return status_obj(403, "Forbidden", msg, details_for(rt, name))


def not_found(rt, name):
    return status_obj(404, "NotFound", '%s "%s" not found' % (qualified(rt), name),
                      details_for(rt, name))


def path_not_found():
    return status_obj(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(rt, name):
    return status_obj(409, "AlreadyExists", '%s "%s" already exists' % (qualified(rt), name),
                      details_for(rt, name))


def conflict(rt, name):
    return status_obj(
        409, "Conflict",
        'Operation cannot be fulfilled on %s "%s": the object has been modified; please apply '
        "your changes to the latest version and try again" % (qualified(rt), name),
        details_for(rt, name))


def bad_request(msg):
    return status_obj(400, "BadRequest", msg)


def method_not_allowed():
    return status_obj(405, "MethodNotAllowed",
                      "the server does not allow this method on the requested resource", {})


def not_acceptable():
    return status_obj(406, "NotAcceptable",
                      "only the following media types are accepted: application/json")


def invalid(group, kind, name, errs):
    """errors.NewInvalid; errs = [(field, type, body)] e.g. ("sendInitialEvents",
    "FieldValueForbidden", "Forbidden: ...")."""
    parts = ["%s: %s" % (f, body) for f, _, body in errs]
    agg = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    gk = kind + ("." + group if group else "")
    details = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    details["kind"] = kind
    details["causes"] = [{"reason": t, "message": body, "field": f} for f, t, body in errs]
    return status_obj(422, "Invalid", '%s "%s" is invalid: %s' % (gk, name, agg), details)


def invalid_list_options(errs):
    return invalid("meta.k8s.io", "ListOptions", "", errs)


def forbidden_field(field, detail):
    return (field, "FieldValueForbidden", "Forbidden: " + detail)


def expired(msg):
    return status_obj(410, "Expired", msg)


def too_old_watch(asked, oldest):
    return expired("too old resource version: %d (%d)" % (asked, oldest))


LIST_TOO_OLD = "The resourceVersion for the provided list is too old."
CONTINUE_EXPIRED = ("The provided continue parameter is too old to display a consistent list "
                    "result. You can start a new list without the continue parameter.")
CONTINUE_INCONSISTENT = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list.")


def too_large(asked, current, retry=1):
    return status_obj(
        504, "Timeout", "Timeout: Too large resource version: %d, current: %d" % (asked, current),
        {"causes": [{"reason": "ResourceVersionTooLarge",
                     "message": "Too large resource version"}],
         "retryAfterSeconds": retry})


def too_many_requests(retry):
    return status_obj(429, "TooManyRequests", "Too many requests, please try again later.",
                      {"retryAfterSeconds": retry})


def internal_error(msg):
    return status_obj(500, "InternalError", "Internal error occurred: " + msg,
                      {"causes": [{"message": msg}]})


# --------------------------------------------------------------------------------------------
# Selectors
# --------------------------------------------------------------------------------------------

_LABEL_KEY = re.compile(
    r"^([A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_SET_TERM = re.compile(r"^(\S+)\s+(in|notin)\s*\((.*)\)$")
_OP_TERM = re.compile(r"^([^\s!=<>]+)\s*(==|!=|=|>|<)\s*(\S*)$")


def _split_top_level(s):
    """Split on commas that are not inside parentheses."""
    out, depth, cur = [], 0, []
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def parse_label_selector(s):
    """Returns a list of (key, op, values); op in = != in notin exists !exists > <."""
    if s is None or not s.strip():
        return []
    reqs = []
    for raw in _split_top_level(s):
        term = raw.strip()

        def fail(why):
            raise ApiError(bad_request("unable to parse requirement: %s: %r" % (why, term)))

        if not term:
            fail("found '', expected: identifier")
        m = _SET_TERM.match(term)
        if m:
            key, op, vals = m.group(1), m.group(2), [v.strip() for v in m.group(3).split(",")]
            if vals == [""]:
                fail("for 'in', 'notin' operators, values set can't be empty")
        elif term.startswith("!"):
            key, op, vals = term[1:].strip(), "!exists", []
        else:
            m = _OP_TERM.match(term)
            if m:
                key, op, vals = m.group(1), m.group(2), [m.group(3)]
                if op == "==":
                    op = "="
                if op in (">", "<") and not re.match(r"^-?\d+$", vals[0]):
                    fail("for 'Gt', 'Lt' operators, the value must be an integer")
            elif re.match(r"^\S+$", term) and not re.search(r"[=!<>(),]", term):
                key, op, vals = term, "exists", []
            else:
                fail("invalid syntax")
        if not _LABEL_KEY.match(key):
            fail("invalid label key %r" % key)
        for v in vals:
            if op not in (">", "<") and not _LABEL_VALUE.match(v):
                fail("invalid label value %r" % v)
        reqs.append((key, op, vals))
    return reqs


def label_matches(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        has = key in labels
        val = labels.get(key)
        if op == "=" and not (has and val == vals[0]):
            return False
        if op == "!=" and has and val == vals[0]:
            return False
        if op == "in" and not (has and val in vals):
            return False
        if op == "notin" and has and val in vals:
            return False
        if op == "exists" and not has:
            return False
        if op == "!exists" and has:
            return False
        if op in (">", "<"):
            try:
                num = int(val)
            except (TypeError, ValueError):
                return False
            if (op == ">" and not num > int(vals[0])) or (op == "<" and not num < int(vals[0])):
                return False
    return True


def parse_field_selector(rt, s):
    """Returns a list of (field, op, value); op in = !=."""
    if s is None or not s.strip():
        return []
    out = []
    for raw in s.split(","):
        term = raw.strip()
        m = re.match(r"^([^=!]+?)\s*(==|!=|=)\s*(.*)$", term)
        if not m:
            raise ApiError(bad_request("invalid selector: '%s'; can't understand '%s'" % (s, term)))
        field, op, value = m.group(1).strip(), m.group(2), m.group(3).strip()
        if op == "==":
            op = "="
        if field not in ("metadata.name", "metadata.namespace") and \
                field not in FIELD_LABELS[rt.name]:
            raise ApiError(bad_request("field label not supported: %s" % field))
        out.append((field, op, value))
    return out


def field_value(obj, field):
    cur = obj
    for part in field.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def field_matches(reqs, obj):
    for field, op, value in reqs:
        actual = field_value(obj, field)
        if op == "=" and actual != value:
            return False
        if op == "!=" and actual == value:
            return False
    return True


class Filter:
    def __init__(self, rt, ns, labels, fields):
        self.rt, self.ns, self.labels, self.fields = rt, ns, labels, fields

    def matches(self, obj):
        meta = obj.get("metadata") or {}
        if self.ns and meta.get("namespace") != self.ns:
            return False
        return label_matches(self.labels, meta.get("labels")) and field_matches(self.fields, obj)


# --------------------------------------------------------------------------------------------
# Continue tokens (opaque to clients: base64url(JSON {"v","rv","start"}))
# --------------------------------------------------------------------------------------------


def encode_continue(rv, start):
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(token):
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        if data.get("v") != "meta.k8s.io/v1" or not isinstance(data.get("rv"), int) or \
                not isinstance(data.get("start"), str):
            raise ValueError("unexpected content")
        return data["rv"], data["start"]
    except (ValueError, TypeError, AttributeError) as e:
        raise ApiError(bad_request("continue key is not valid: %s" % e))


# --------------------------------------------------------------------------------------------
# Store
# --------------------------------------------------------------------------------------------

Event = collections.namedtuple("Event", "rv type key obj prev")


def object_key(rt, obj):
    meta = obj.get("metadata") or {}
    return "%s/%s" % (meta.get("namespace", ""), meta.get("name")) if rt.namespaced \
        else meta.get("name")


class Watch:
    """One open watch connection (state shared between its handler thread and writers)."""
    _ids = iter(range(1, 1 << 62))

    def __init__(self, rt, flt, allow_bookmarks, path):
        self.id = next(Watch._ids)
        self.rt, self.filter, self.allow_bookmarks, self.path = rt, flt, allow_bookmarks, path
        # Events not yet written, interleaved in order with control commands (plain tuples).
        self.queue = collections.deque()
        self.opened = time.time()

    def convert(self, ev):
        """cacheWatcher semantics: objects moving in/out of the selector become ADDED/DELETED."""
        cur = ev.type != "DELETED" and self.filter.matches(ev.obj)
        old = ev.prev is not None and self.filter.matches(ev.prev)
        if cur and not old:
            return "ADDED", ev.obj
        if cur and old:
            return "MODIFIED", ev.obj
        if old:
            return "DELETED", with_rv(ev.prev, ev.rv)
        return None


class Store:
    def __init__(self, history_limit=1000, initial_rv=1):
        self.cond = threading.Condition()
        self.rv = initial_rv
        self.history_limit = max(1, int(history_limit))
        self.objects = {r: {} for r in RESOURCES}
        self.history = {r: collections.deque() for r in RESOURCES}
        # Watching from N needs every event with RV > N: allowed iff N >= floor.
        self.floor = {r: initial_rv for r in RESOURCES}
        self.watches = []

    # All methods below are called with self.cond held.

    def _record(self, rname, etype, key, obj, prev):
        ev = Event(self.rv, etype, key, obj, prev)
        hist = self.history[rname]
        hist.append(ev)
        while len(hist) > self.history_limit:
            self.floor[rname] = hist.popleft().rv
        for w in self.watches:
            if w.rt.name == rname:
                w.queue.append(ev)
        self.cond.notify_all()

    def put(self, rname, obj, must_exist=None):
        """Create or replace; returns the stored object. obj must already be defaulted."""
        rt = RESOURCES[rname]
        key = object_key(rt, obj)
        prev = self.objects[rname].get(key)
        self.rv += 1
        stored = with_rv(obj, self.rv)
        self.objects[rname][key] = stored
        self._record(rname, "MODIFIED" if prev else "ADDED", key, stored, prev)
        return stored

    def remove(self, rname, key):
        prev = self.objects[rname].pop(key)
        self.rv += 1
        gone = with_rv(prev, self.rv)
        self._record(rname, "DELETED", key, gone, prev)
        return gone

    def compact(self):
        for r in RESOURCES:
            self.history[r].clear()
            self.floor[r] = self.rv

    def snapshot(self, rname, rv):
        """State of a resource at rv (rv >= floor), rebuilt by undoing newer events."""
        objs = dict(self.objects[rname])
        for ev in reversed(self.history[rname]):
            if ev.rv <= rv:
                break
            if ev.prev is None:
                objs.pop(ev.key, None)
            else:
                objs[ev.key] = ev.prev
        return objs


# --------------------------------------------------------------------------------------------
# Object defaulting
# --------------------------------------------------------------------------------------------


def _spec_part(obj):
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "kind", "apiVersion")}


def default_new(rt, obj, ns):
    obj = copy.deepcopy(obj)
    obj.pop("kind", None)
    obj.pop("apiVersion", None)
    meta = obj.setdefault("metadata", {})
    if not meta.get("name"):
        if meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(
                random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        else:
            raise ApiError(invalid(rt.group, rt.kind, "", [(
                "metadata.name", "FieldValueRequired",
                "Required value: name or generateName is required")]))
    if rt.namespaced:
        if meta.get("namespace") and ns and meta["namespace"] != ns:
            raise ApiError(bad_request("the namespace of the provided object does not match the "
                                       "namespace sent on the request"))
        meta["namespace"] = ns or meta.get("namespace") or "default"
    else:
        meta.pop("namespace", None)
    meta.pop("resourceVersion", None)
    meta["uid"] = meta.get("uid") or str(uuid.uuid4())
    meta["creationTimestamp"] = meta.get("creationTimestamp") or now_rfc3339()
    if rt.name == "endpointslices":
        meta["generation"] = 1
    if rt.name == "namespaces":
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj.setdefault("status", {"phase": "Active"})
    if rt.name == "services":
        obj.setdefault("status", {"loadBalancer": {}})
    obj["metadata"] = ordered_meta(meta)
    return obj


def default_update(rt, obj, old):
    obj = copy.deepcopy(obj)
    obj.pop("kind", None)
    obj.pop("apiVersion", None)
    meta = obj.setdefault("metadata", {})
    ometa = old["metadata"]
    meta["name"] = ometa["name"]
    if rt.namespaced:
        meta["namespace"] = ometa["namespace"]
    meta["uid"] = ometa["uid"]
    meta["creationTimestamp"] = ometa["creationTimestamp"]
    meta.pop("resourceVersion", None)
    if "generation" in ometa:
        meta["generation"] = ometa["generation"] + (
            1 if _spec_part(obj) != _spec_part(old) else 0)
    if rt.name == "namespaces":
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
    obj["metadata"] = ordered_meta(meta)
    return obj


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


# --------------------------------------------------------------------------------------------
# Tables (Accept: application/json;as=Table;v=v1;g=meta.k8s.io), for kubectl get
# --------------------------------------------------------------------------------------------


def _age(ts):
    try:
        t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return "<unknown>"
    s = max(0, int((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds()))
    if s < 120:
        return "%ds" % s
    if s < 7200:
        return "%dm" % (s // 60)
    if s < 172800:
        return "%dh" % (s // 3600)
    return "%dd" % (s // 86400)


def _col(name, typ="string", fmt="", desc="", priority=0):
    return {"name": name, "type": typ, "format": fmt, "description": desc, "priority": priority}


def table_columns(rt):
    name = _col("Name", fmt="name", desc="Name must be unique within a namespace.")
    age = _col("Age", desc="CreationTimestamp is a timestamp representing the server time when "
               "this object was created.")
    if rt.name == "services":
        return [name, _col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)"),
                age, _col("Selector", priority=1)]
    if rt.name == "pods":
        return [name, _col("Ready"), _col("Status"), _col("Restarts"), age,
                _col("IP", priority=1), _col("Node", priority=1)]
    if rt.name == "endpointslices":
        return [name, _col("AddressType"), _col("Ports"), _col("Endpoints"), age]
    return [name, _col("Status"), age]


def table_cells(rt, obj):
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    age = _age(meta.get("creationTimestamp"))
    if rt.name == "services":
        ports = ",".join("%s/%s" % (p.get("port"), p.get("protocol", "TCP"))
                         for p in spec.get("ports") or []) or "<none>"
        ext = spec.get("externalName") or ",".join(
            i.get("ip") or i.get("hostname", "")
            for i in (status.get("loadBalancer") or {}).get("ingress") or []) or "<none>"
        sel = ",".join("%s=%s" % kv for kv in (spec.get("selector") or {}).items()) or "<none>"
        return [meta.get("name"), spec.get("type", "ClusterIP"),
                spec.get("clusterIP") or "<none>", ext, ports, age, sel]
    if rt.name == "pods":
        cs = status.get("containerStatuses") or []
        ready = "%d/%d" % (sum(1 for c in cs if c.get("ready")), len(spec.get("containers") or []))
        return [meta.get("name"), ready, status.get("phase", ""),
                sum(c.get("restartCount", 0) for c in cs), age,
                status.get("podIP") or "<none>", spec.get("nodeName") or "<none>"]
    if rt.name == "endpointslices":
        ports = ",".join(str(p.get("port", "")) for p in obj.get("ports") or []) or "<unset>"
        addrs = [a for e in obj.get("endpoints") or [] for a in e.get("addresses") or []]
        eps = ",".join(addrs[:3]) + (" + %d more..." % (len(addrs) - 3) if len(addrs) > 3 else "")
        return [meta.get("name"), obj.get("addressType", ""), ports, eps or "<unset>", age]
    return [meta.get("name"), status.get("phase", ""), age]


def partial_meta(rt, obj):
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata") or {}}


def make_table(rt, objs, list_meta, table_version, with_columns=True):
    t = {"kind": "Table", "apiVersion": "meta.k8s.io/" + table_version, "metadata": list_meta}
    t["columnDefinitions"] = table_columns(rt) if with_columns else None
    t["rows"] = [{"cells": table_cells(rt, o), "object": partial_meta(rt, o)} for o in objs]
    return t


def negotiate(accept):
    """Returns None (plain JSON), "v1"/"v1beta1" (Table), or raises 406."""
    if not accept:
        return None
    for part in accept.split(","):
        items = [p.strip() for p in part.split(";")]
        mtype = items[0].lower()
        params = dict(p.split("=", 1) for p in items[1:] if "=" in p)
        if mtype not in ("application/json", "application/*", "*/*"):
            continue
        if params.get("as") == "Table":
            if params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
                return params["v"]
            continue
        if "as" in params:
            continue  # PartialObjectMetadata etc.: not served
        return None
    raise ApiError(not_acceptable())


# --------------------------------------------------------------------------------------------
# Discovery documents
# --------------------------------------------------------------------------------------------


def api_resource_list(group_version):
    res = []
    for rt in RESOURCES.values():
        if api_version(rt) != group_version:
            continue
        r = {"name": rt.name, "singularName": rt.singular, "namespaced": rt.namespaced,
             "kind": rt.kind,
             "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}
        if rt.short_names:
            r["shortNames"] = rt.short_names
        if rt.name in ("services", "pods"):
            r["categories"] = ["all"]
        res.append(r)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": res}


DISCOVERY_GROUP = {"name": "discovery.k8s.io",
                   "versions": [{"groupVersion": "discovery.k8s.io/v1", "version": "v1"}],
                   "preferredVersion": {"groupVersion": "discovery.k8s.io/v1", "version": "v1"}}


# --------------------------------------------------------------------------------------------
# Fault injection state
# --------------------------------------------------------------------------------------------


class FailRule:
    def __init__(self, count, status, path_regex=None, method=None, retry_after=1,
                 as_event=False, message=None, user=None):
        self.count = int(count)  # < 0: until reset
        self.status = int(status)
        self.regex = re.compile(path_regex) if path_regex else None
        self.method = method.upper() if method else None
        self.retry_after = int(retry_after)
        self.as_event = bool(as_event)
        self.message = message
        self.user = user or DEFAULT_FORBIDDEN_USER

    def matches(self, method, target):
        if self.method and self.method != method:
            return False
        return self.regex is None or self.regex.search(target) is not None

    def error(self, route, current_rv):
        """The Status (and headers) this rule produces for a request on route."""
        code = self.status
        rt = route.rt if route else RESOURCES["services"]
        if code == 401:
            return ApiError(unauthorized())
        if code == 403:
            verb = route.verb if route else "list"
            return ApiError(forbidden(rt, verb, route.ns if route else None, self.user,
                                      route.name if route and route.name else None))
        if code == 404:
            return ApiError(not_found(rt, route.name if route and route.name else "x")
                            if route else path_not_found())
        if code == 410:
            return ApiError(expired(self.message or LIST_TOO_OLD))
        if code == 429:
            return ApiError(too_many_requests(self.retry_after),
                            {"Retry-After": str(self.retry_after)})
        if code == 500:
            return ApiError(internal_error(self.message or "injected failure"))
        if code == 504:
            return ApiError(too_large(current_rv + 1000, current_rv, self.retry_after),
                            {"Retry-After": str(self.retry_after)})
        if code == 503:
            return ApiError(status_obj(503, "ServiceUnavailable",
                                       self.message or "the server is currently unable to handle "
                                       "the request", {"retryAfterSeconds": self.retry_after}),
                            {"Retry-After": str(self.retry_after)})
        return ApiError(status_obj(code, "", self.message or "injected failure %d" % code))


class Faults:
    def __init__(self):
        self.reset()

    def reset(self):
        self.rules = []
        self.short_watches = 0
        self.hang = []  # [count, regex or None, before_headers]
        self.garbage_next = 0
        self.garbage_line = None
        self.garbage_lists = []  # [count, regex or None, body]
        self.unauthorized_until_token_change = False
        self.generation = getattr(self, "generation", 0) + 1  # releases hung requests


# --------------------------------------------------------------------------------------------
# Routing
# --------------------------------------------------------------------------------------------

Route = collections.namedtuple("Route", "rt ns name sub verb")


def route_for(method, path, query):
    """Returns ("discovery", doc-fn), ("resource", Route) or ("notfound", None)."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group_version, rest = "v1", parts[2:]
    elif parts[:3] == ["apis", "discovery.k8s.io", "v1"]:
        group_version, rest = "discovery.k8s.io/v1", parts[3:]
    else:
        return "notfound", None
    if not rest:
        return "notfound", None

    def rtype(name):
        rt = RESOURCES.get(name)
        return rt if rt and api_version(rt) == group_version else None

    ns = name = sub = None
    if rest[0] == "namespaces" and len(rest) >= 3 and rtype("namespaces") is None:
        rt = rtype(rest[2])  # discovery.k8s.io/v1/namespaces/{ns}/endpointslices...
        ns, rest = rest[1], rest[2:]
    elif rest[0] == "namespaces" and len(rest) >= 3 and rest[2] != "status" and \
            rest[2] != "finalize":
        rt = rtype(rest[2])
        ns, rest = rest[1], rest[2:]
    else:
        rt = rtype(rest[0])
    if rt is None or (ns is not None and not rt.namespaced):
        return "notfound", None
    if len(rest) >= 2:
        name = rest[1]
    if len(rest) == 3:
        sub = rest[2]
        if sub not in ("status",) and not (rt.name == "namespaces" and sub == "finalize"):
            return "notfound", None
    if len(rest) > 3:
        return "notfound", None
    watch = parse_bool(query.get("watch", "false"))
    verb = {"GET": "watch" if watch else ("get" if name else "list"), "POST": "create",
            "PUT": "update", "DELETE": "delete", "PATCH": "patch"}.get(method, method.lower())
    return "resource", Route(rt, ns, name, sub, verb)


# --------------------------------------------------------------------------------------------
# HTTP handler
# --------------------------------------------------------------------------------------------


class _Abort(Exception):
    """Unwinds a handler whose connection was aborted on purpose."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-apiserver"
    sys_version = ""
    IO_TIMEOUT = 60.0

    # -- plumbing ------------------------------------------------------------------------------

    def setup(self):
        super().setup()
        self.connection.settimeout(self.IO_TIMEOUT)
        # Watch events are small writes: without this, Nagle holds each one back until the
        # previous is acknowledged (~20-40 ms on loopback). The real API server sets it too.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.settimeout(10.0)
            try:
                self.connection.do_handshake()
            except (OSError, ssl.SSLError):
                self.close_connection = True
                self._handshake_failed = True
                return
            self.connection.settimeout(self.IO_TIMEOUT)

    def handle(self):
        if getattr(self, "_handshake_failed", False):
            return
        try:
            super().handle()
        except (OSError, _Abort):
            self.close_connection = True

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, fmt, *args):
        if self.server.fake.verbose:
            sys.stderr.write("fake-apiserver: %s - %s\n" % (self.address_string(), fmt % args))

    def version_string(self):
        return ""

    def send_response(self, code, message=None):
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Date", self.date_time_string())

    def _send_bytes(self, code, body, ctype="application/json", headers=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, code, obj, headers=None):
        self._send_bytes(code, dumps(obj), headers=headers)

    def _send_status(self, err):
        self._send_json(err.code, err.status, err.headers)

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _json_body(self, raw):
        try:
            obj = json.loads(raw.decode("utf-8") or "null")
        except (ValueError, UnicodeDecodeError) as e:
            raise ApiError(bad_request("invalid JSON in request body: %s" % e))
        if not isinstance(obj, dict):
            raise ApiError(bad_request("request body must be a JSON object"))
        return obj

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    # -- dispatch ------------------------------------------------------------------------------

    def _dispatch(self):
        fake = self.server.fake
        try:
            body = self._read_body()
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            if url.path.startswith("/_fake/") or url.path == "/_fake":
                return self._control(url.path, query, body)
            fake._log_request(self.command, self.path, self.headers)
            self._maybe_hang_before_headers()
            fake._check_auth(self.headers.get("Authorization"))
            kind, route = route_for(self.command, url.path, query)
            is_watch = kind == "resource" and route.verb == "watch"
            rule = fake._take_fail_rule(self.command, self.path)
            if rule is not None and not (rule.as_event and is_watch):
                raise rule.error(route, fake.store.rv)
            if kind == "resource" and route.verb == "list":
                garbage = fake._take_garbage_list(self.path)
                if garbage is not None:
                    return self._send_bytes(200, garbage)
            if kind == "notfound":
                return self._non_resource(url.path)
            table = negotiate(self.headers.get("Accept"))
            if is_watch:
                return self._watch(route, query, table, rule)
            return self._resource(route, query, body, table)
        except ApiError as e:
            self._send_status(e)

    def _non_resource(self, path):
        if self.command not in ("GET", "HEAD"):
            raise ApiError(path_not_found())
        fake = self.server.fake
        path = path.rstrip("/") or "/"
        if path == "/version":
            return self._send_json(200, FAKE_VERSION)
        if path == "/api":
            return self._send_json(200, {
                "kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                "serverAddress": "127.0.0.1:%d" % fake.port}]})
        if path == "/apis":
            return self._send_json(200, {"kind": "APIGroupList", "apiVersion": "v1",
                                         "groups": [DISCOVERY_GROUP]})
        if path == "/apis/discovery.k8s.io":
            return self._send_json(200, dict({"kind": "APIGroup", "apiVersion": "v1"},
                                             **DISCOVERY_GROUP))
        if path == "/api/v1":
            return self._send_json(200, api_resource_list("v1"))
        if path == "/apis/discovery.k8s.io/v1":
            return self._send_json(200, api_resource_list("discovery.k8s.io/v1"))
        if path in ("/healthz", "/readyz", "/livez"):
            return self._send_bytes(200, b"ok", "text/plain; charset=utf-8")
        raise ApiError(path_not_found())

    # -- REST ----------------------------------------------------------------------------------

    def _resource(self, route, query, body, table):
        fake = self.server.fake
        rt, method = route.rt, self.command
        if method in ("GET", "HEAD"):
            if route.name:
                if route.sub == "finalize":
                    raise ApiError(method_not_allowed())
                obj = fake._get(rt, route.ns, route.name)
                if table:
                    return self._send_json(200, make_table(
                        rt, [obj], {"resourceVersion": obj["metadata"]["resourceVersion"]}, table))
                return self._send_json(200, with_kind(rt, obj))
            return self._list(route, query, table)
        if method == "POST":
            if route.name or (rt.namespaced and not route.ns):
                raise ApiError(method_not_allowed())
            obj = self._json_body(body)
            return self._send_json(201, with_kind(rt, fake._create(rt, route.ns, obj)))
        if not route.name:
            raise ApiError(method_not_allowed())
        if method == "PUT":
            obj = self._json_body(body)
            meta = obj.get("metadata") or {}
            if meta.get("name") and meta["name"] != route.name:
                raise ApiError(bad_request("the name of the object (%s) does not match the name "
                                           "on the URL (%s)" % (meta["name"], route.name)))
            return self._send_json(200, with_kind(rt, fake._update(rt, route.ns, route.name, obj)))
        if method == "PATCH":
            patch = self._json_body(body)
            return self._send_json(200, with_kind(rt, fake._patch(rt, route.ns, route.name,
                                                                  patch)))
        if method == "DELETE":
            return self._send_json(200, with_kind(rt, fake._delete(rt, route.ns, route.name)))
        raise ApiError(method_not_allowed())

    def _list(self, route, query, table):
        fake = self.server.fake
        rt = route.rt
        labels = parse_label_selector(query.get("labelSelector"))
        fields = parse_field_selector(rt, query.get("fieldSelector"))
        rv = query.get("resourceVersion", "")
        rvm = query.get("resourceVersionMatch", "")
        cont = query.get("continue", "")
        errs = []
        if rvm:
            if not rv:
                errs.append(forbidden_field("resourceVersionMatch", "resourceVersionMatch is "
                                            "forbidden unless resourceVersion is provided"))
            if cont:
                errs.append(forbidden_field("resourceVersionMatch", "resourceVersionMatch is "
                                            "forbidden when continue is provided"))
            if rvm not in ("Exact", "NotOlderThan"):
                errs.append(("resourceVersionMatch", "FieldValueNotSupported",
                             'Unsupported value: "%s": supported values: "Exact", '
                             '"NotOlderThan", ""' % rvm))
            if rvm == "Exact" and rv == "0":
                errs.append(forbidden_field("resourceVersionMatch", 'resourceVersionMatch "exact" '
                                            'is forbidden for resourceVersion "0"'))
        if "sendInitialEvents" in query:
            errs.append(forbidden_field("sendInitialEvents", "sendInitialEvents is forbidden for "
                                        "list"))
        if errs:
            raise ApiError(invalid_list_options(errs))
        try:
            limit = int(query.get("limit") or 0)
        except ValueError:
            raise ApiError(bad_request("invalid limit: %r" % query.get("limit")))
        if cont and rv and rv != "0":
            raise ApiError(bad_request("specifying resource version is not allowed when using "
                                       "continue"))
        flt = Filter(rt, route.ns, labels, fields)
        items, meta = fake._list(rt, flt, rv, rvm, limit, cont,
                                 count_remaining=not labels and not fields)
        if table:
            return self._send_json(200, make_table(rt, items, meta, table))
        self._send_json(200, {"kind": rt.list_kind, "apiVersion": api_version(rt),
                              "metadata": meta, "items": items})

    # -- WATCH ---------------------------------------------------------------------------------

    def _write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _end_chunks(self):
        self.wfile.write(b"0\r\n\r\n")

    def _abort_connection(self, reset=True):
        """Close abruptly, without the terminating chunk: RST (reset) or a bare FIN. Waits (up
        to 1 s) until the peer has acknowledged what was written, so a partial event written
        just before still reaches it (a RST would discard unsent data)."""
        try:
            fd = self.connection.fileno()
            end = time.monotonic() + 1.0
            while time.monotonic() < end:
                left = fcntl.ioctl(fd, termios.TIOCOUTQ, struct.pack("i", 0))
                if struct.unpack("i", left)[0] == 0:
                    break
                time.sleep(0.005)
            if reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True
        raise _Abort()

    def _peer_closed(self):
        sock = self.connection
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return False
            if isinstance(sock, ssl.SSLSocket):
                sock.settimeout(0.0)
                try:
                    return sock.recv(1) == b""
                except (ssl.SSLWantReadError, BlockingIOError):
                    return False
                finally:
                    sock.settimeout(self.IO_TIMEOUT)
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except (OSError, ValueError):
            return True

    def _start_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def _wait_idle(self, stop_pred, hang_gen=None):
        """Block until stop_pred(), the peer closes, the server stops, or (for hangs) a reset."""
        fake = self.server.fake
        while True:
            with fake.store.cond:
                if fake._stopping or stop_pred() or \
                        (hang_gen is not None and fake.faults.generation != hang_gen):
                    return
                fake.store.cond.wait(0.2)
            if self._peer_closed():
                self.close_connection = True
                raise _Abort()

    def _maybe_hang_before_headers(self):
        fake = self.server.fake
        with fake.store.cond:
            entry = fake._take_hang(self.path, before_headers=True)
            gen = fake.faults.generation
        if entry:
            fake._note_hang(+1)
            try:
                self._wait_idle(lambda: False, gen)
            finally:
                fake._note_hang(-1)
            self.close_connection = True
            raise _Abort()

    def _watch(self, route, query, table, rule):
        fake = self.server.fake
        rt = route.rt
        labels = parse_label_selector(query.get("labelSelector"))
        fields = parse_field_selector(rt, query.get("fieldSelector"))
        if route.name:
            fields = fields + [("metadata.name", "=", route.name)]
        rv = query.get("resourceVersion", "")
        rvm = query.get("resourceVersionMatch", "")
        errs = []
        if "sendInitialEvents" in query:
            if rvm != "NotOlderThan":
                errs.append(forbidden_field("resourceVersionMatch", "sendInitialEvents requires "
                                            "setting resourceVersionMatch to NotOlderThan"))
            errs.append(forbidden_field("sendInitialEvents", "sendInitialEvents is forbidden for "
                                        "watch unless the WatchList feature gate is enabled"))
        if rvm:
            if "sendInitialEvents" not in query:
                errs.append(forbidden_field("resourceVersionMatch", "resourceVersionMatch is "
                                            "forbidden for watch unless sendInitialEvents is "
                                            "provided"))
            if rvm != "NotOlderThan":
                errs.append(("resourceVersionMatch", "FieldValueNotSupported",
                             'Unsupported value: "%s": supported values: "NotOlderThan"' % rvm))
        if errs:
            raise ApiError(invalid_list_options(errs))
        allow_bm = parse_bool(query.get("allowWatchBookmarks", "false"))
        timeout = fake.default_watch_timeout
        if query.get("timeoutSeconds"):
            try:
                asked = int(query["timeoutSeconds"])
            except ValueError:
                raise ApiError(bad_request("invalid timeoutSeconds: %r"
                                           % query["timeoutSeconds"]))
            if asked > 0:  # 0 means "server default", as in handlers/get.go
                timeout = float(asked)
        if rv not in ("", "0") and not re.match(r"^\d+$", rv):
            raise ApiError(bad_request("invalid resource version: %s" % rv))

        flt = Filter(rt, route.ns, labels, fields)
        w = Watch(rt, flt, allow_bm, self.path)
        with fake.store.cond:
            short = fake.faults.short_watches > 0
            if short:
                fake.faults.short_watches -= 1
            hang = fake._take_hang(self.path, before_headers=False)
            hang_gen = fake.faults.generation
            garbage_first = None
            if fake.faults.garbage_next > 0:
                fake.faults.garbage_next -= 1
                garbage_first = fake.faults.garbage_line
            initial, start_error, cursor = [], None, fake.store.rv
            if rule is not None:
                start_error = rule.error(route, fake.store.rv).status
            elif rv in ("", "0"):
                for key in sorted(fake.store.objects[rt.name]):
                    obj = fake.store.objects[rt.name][key]
                    if flt.matches(obj):
                        initial.append(("ADDED", obj))
            else:
                n = int(rv)
                if n > fake.store.rv:
                    start_error = too_large(n, fake.store.rv)
                elif n < fake.store.floor[rt.name]:
                    start_error = too_old_watch(n, fake.store.floor[rt.name])
                else:
                    w.queue.extend(ev for ev in fake.store.history[rt.name] if ev.rv > n)
                    cursor = n
            if not (short or hang or start_error):
                fake.store.watches.append(w)
                fake.store.cond.notify_all()
        self._start_stream()
        if short:
            self._end_chunks()
            return
        if start_error:
            self._write_chunk(dumps({"type": "ERROR", "object": start_error}) + b"\n")
            self._end_chunks()
            self.close_connection = True
            return
        if hang:
            fake._note_hang(+1)
            try:
                self._wait_idle(lambda: False, hang_gen)
            finally:
                fake._note_hang(-1)
            self.close_connection = True
            raise _Abort()
        try:
            self._stream(w, initial, timeout, table, garbage_first, cursor)
        finally:
            with fake.store.cond:
                if w in fake.store.watches:
                    fake.store.watches.remove(w)
                fake.store.cond.notify_all()

    def _encode_event(self, w, etype, obj, table, first):
        if table:
            body = make_table(w.rt, [obj], {"resourceVersion": obj["metadata"]["resourceVersion"]},
                              table, with_columns=first)
        else:
            body = with_kind(w.rt, obj)
        return dumps({"type": etype, "object": body}) + b"\n"

    def _stream(self, w, initial, timeout, table, garbage_first, cursor):
        fake = self.server.fake
        start = time.monotonic()
        deadline = start + timeout
        pre_timeout = deadline - min(2.0, timeout / 2.0)
        pre_timeout_sent = False
        next_bookmark = start + max(0.05, fake.bookmark_interval)
        split_next = None  # armed by a midEvent drop: "body" or "chunk"
        reset_on_drop = True
        first = [True]

        def send(etype, obj):
            data = self._encode_event(w, etype, obj, table, first[0])
            first[0] = False
            if split_next:
                half = max(1, len(data) // 2)
                if split_next == "chunk":  # chunk header promises all bytes, half arrive
                    self.wfile.write(b"%x\r\n%s" % (len(data), data[:half]))
                else:  # a complete chunk holding half of the JSON object
                    self._write_chunk(data[:half])
                self.wfile.flush()
                self._abort_connection(reset_on_drop)
            self._write_chunk(data)

        def bookmark(rv):
            obj = {"metadata": {"resourceVersion": str(rv)}}
            if fake.bookmark_creation_timestamp_null:
                obj["metadata"]["creationTimestamp"] = None
            obj.update(copy.deepcopy(BOOKMARK_BODY[w.rt.name]))
            send("BOOKMARK", obj)

        if garbage_first is not None:
            self._write_chunk(garbage_first)
        for etype, obj in initial:
            send(etype, obj)
        last_check = time.monotonic()
        while True:
            with fake.store.cond:
                while True:
                    now = time.monotonic()
                    due = [deadline]
                    if w.allow_bookmarks:
                        due.append(next_bookmark)
                        if not pre_timeout_sent and pre_timeout > start:
                            due.append(pre_timeout)
                    if w.queue or fake._stopping or now >= min(due) or \
                            now - last_check >= 0.5:
                        break
                    fake.store.cond.wait(min(min(due) - now, 0.5))
                items = list(w.queue)
                w.queue.clear()
                current_rv = fake.store.rv
                stopping = fake._stopping
            for item in items:
                if isinstance(item, Event):
                    converted = w.convert(item)
                    if converted:
                        send(*converted)
                    cursor = item.rv
                    continue
                cmd = item
                op = cmd[0]
                if op == "drop":
                    reset_on_drop = cmd[2]
                    if cmd[1]:
                        split_next = cmd[1]
                    else:
                        self._abort_connection(reset_on_drop)
                elif op == "close":
                    self._end_chunks()
                    return
                elif op == "error":
                    self._write_chunk(dumps({"type": "ERROR", "object": cmd[1](cursor)}) + b"\n")
                    self._end_chunks()
                    self.close_connection = True
                    return
                elif op == "garbage":
                    self._write_chunk(cmd[1])
                elif op == "bookmark" and w.allow_bookmarks:
                    bookmark(cmd[1])
            if stopping:
                self._end_chunks()
                self.close_connection = True
                return
            now = time.monotonic()
            if w.allow_bookmarks and now < deadline:
                pre_due = not pre_timeout_sent and pre_timeout > start and now >= pre_timeout
                if now >= next_bookmark or pre_due:
                    bookmark(current_rv)
                    next_bookmark = now + max(0.05, fake.bookmark_interval)
                    pre_timeout_sent = pre_timeout_sent or now >= pre_timeout
            if now >= deadline:
                self._end_chunks()
                return
            if now - last_check >= 0.5:
                last_check = now
                if self._peer_closed():
                    self.close_connection = True
                    return

    # -- control API ---------------------------------------------------------------------------

    def _control(self, path, query, raw):
        fake = self.server.fake
        op = path[len("/_fake/"):].strip("/")
        if self.command == "GET" and op == "state":
            return self._send_json(200, fake.state())
        if op == "requests":
            if self.command == "DELETE":
                fake.clear_requests()
                return self._send_json(200, {"ok": True})
            return self._send_json(200, {"requests": fake.request_log()})
        if self.command != "POST":
            raise ApiError(method_not_allowed())
        body = self._json_body(raw) if raw.strip() else {}
        try:
            result = fake._control(op, body)
        except (KeyError, TypeError, ValueError, re.error) as e:
            raise ApiError(bad_request("bad control request %s: %s" % (op, e)))
        if result is None:
            raise ApiError(path_not_found())
        code, obj = result
        self._send_json(code, obj)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, addr, fake, ssl_ctx):
        self.fake = fake
        self.ssl_ctx = ssl_ctx
        self.conns = set()
        self.conn_lock = threading.Lock()
        super().__init__(addr, _Handler)

    def get_request(self):
        sock, addr = super().get_request()
        if self.ssl_ctx is not None:
            sock = self.ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def process_request(self, request, client_address):
        with self.conn_lock:
            self.conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.conn_lock:
            self.conns.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        if self.fake.verbose:
            super().handle_error(request, client_address)

    def close_all(self):
        with self.conn_lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


# --------------------------------------------------------------------------------------------
# TLS material
# --------------------------------------------------------------------------------------------


def make_certs(cert_dir):
    """Self-signed CA + server cert (IP 127.0.0.1, localhost, kubernetes.default.svc...) made
    with the openssl CLI. Reuses existing files. Returns (ca, cert, key) paths."""
    ca, ca_key = os.path.join(cert_dir, "ca.crt"), os.path.join(cert_dir, "ca.key")
    crt, key = os.path.join(cert_dir, "server.crt"), os.path.join(cert_dir, "server.key")
    if all(os.path.exists(p) for p in (ca, crt, key)):
        return ca, crt, key
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("TLS needs the openssl CLI (apt-get install openssl)")
    os.makedirs(cert_dir, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args):
        subprocess.run([openssl] + list(args), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=30)

    run("req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "3650",
        "-subj", "/CN=fake-apiserver-ca", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    csr = os.path.join(cert_dir, "server.csr")
    run("req", "-new", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=kube-apiserver")
    ext = os.path.join(cert_dir, "server.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,"
                "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,"
                "DNS:kubernetes.default.svc.cluster.local\n")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", crt, "-days", "3650", "-extfile", ext)
    return ca, crt, key


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeApiServer:
    """A fake kube-apiserver on 127.0.0.1. See README.md for the protocol it implements."""

    def __init__(self, tls=False, token=None, bookmark_interval=60.0, history_limit=1000,
                 cert_dir=None, host="127.0.0.1", port=0, default_watch_timeout=1800.0,
                 initial_rv=1, verbose=False):
        self.tls = tls
        self.token = token
        self.bookmark_interval = float(bookmark_interval)
        self.default_watch_timeout = float(default_watch_timeout)
        self.bookmark_creation_timestamp_null = False
        self.host, self.port = host, port
        self.verbose = verbose
        self.store = Store(history_limit, initial_rv)
        self.faults = Faults()
        self.requests = []  # (method, path+query) of every API request (not /_fake/)
        self._request_details = []
        self._stopping = False
        self._hanging = 0
        self._httpd = None
        self._thread = None
        self._tmpdir = None
        self.cert_dir = cert_dir
        self.ca_file = self.cert_file = self.key_file = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self):
        ctx = None
        self._stopping = False  # a stopped server may start again (same port: API came back)
        if self.tls:
            if self.cert_dir is None:
                self._tmpdir = tempfile.mkdtemp(prefix="fake-apiserver-tls-")
                self.cert_dir = self._tmpdir
            self.ca_file, self.cert_file, self.key_file = make_certs(self.cert_dir)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.cert_file, self.key_file)
            ctx.set_alpn_protocols(["http/1.1"])
        self._httpd = _Server((self.host, self.port), self, ctx)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={
            "poll_interval": 0.1}, name="fake-apiserver", daemon=True)
        self._thread.start()
        return self

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.port)

    def stop(self):
        if self._httpd is None:
            return
        with self.store.cond:
            self._stopping = True
            self.store.cond.notify_all()
        self._httpd.shutdown()
        with self.store.cond:  # let watchers write their final chunk (bounded)
            self.store.cond.wait_for(lambda: not self.store.watches, timeout=1.0)
        self._httpd.close_all()
        self._httpd.server_close()
        self._thread.join(5)
        self._httpd = None
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- objects -------------------------------------------------------------------------------

    def _resource_of(self, obj, resource=None):
        if resource:
            return RESOURCES[resource]
        kind = obj.get("kind")
        if kind not in KIND_TO_RESOURCE:
            raise ValueError("object needs a kind of %s, got %r" % (sorted(KIND_TO_RESOURCE), kind))
        return RESOURCES[KIND_TO_RESOURCE[kind]]

    def _create(self, rt, ns, obj):
        with self.store.cond:
            obj = default_new(rt, obj, ns)
            key = object_key(rt, obj)
            if key in self.store.objects[rt.name]:
                raise ApiError(already_exists(rt, obj["metadata"]["name"]))
            return self.store.put(rt.name, obj)

    def _get(self, rt, ns, name):
        with self.store.cond:
            obj = self.store.objects[rt.name].get("%s/%s" % (ns, name) if rt.namespaced else name)
            if obj is None:
                raise ApiError(not_found(rt, name))
            return obj

    def _update(self, rt, ns, name, obj):
        with self.store.cond:
            key = "%s/%s" % (ns, name) if rt.namespaced else name
            old = self.store.objects[rt.name].get(key)
            if old is None:
                raise ApiError(not_found(rt, name))
            want = (obj.get("metadata") or {}).get("resourceVersion")
            if want and want != old["metadata"]["resourceVersion"]:
                raise ApiError(conflict(rt, name))
            return self.store.put(rt.name, default_update(rt, obj, old))

    def _patch(self, rt, ns, name, patch):
        with self.store.cond:
            old = self._get(rt, ns, name)
            return self._update(rt, ns, name, merge_patch(old, patch))

    def _delete(self, rt, ns, name):
        with self.store.cond:
            key = "%s/%s" % (ns, name) if rt.namespaced else name
            if key not in self.store.objects[rt.name]:
                raise ApiError(not_found(rt, name))
            if rt.name == "namespaces":  # the namespace controller empties it first
                for rname, r in RESOURCES.items():
                    if r.namespaced:
                        for k in sorted(self.store.objects[rname]):
                            if k.startswith(name + "/"):
                                self.store.remove(rname, k)
            return self.store.remove(rt.name, key)

    def _list(self, rt, flt, rv, rvm, limit, cont, count_remaining):
        """Returns (items, list metadata) following §3.1/§3.2 of the reference."""
        st = self.store
        with st.cond:
            cur = st.rv
            paged = limit > 0
            start = ""
            if cont:
                tok_rv, start = decode_continue(cont)
                if tok_rv == -1:  # inconsistent continuation handed out after expiry
                    objs, list_rv = st.objects[rt.name], cur
                elif tok_rv < st.floor[rt.name]:
                    rest = [k for k in sorted(st.objects[rt.name])
                            if k >= start and flt.matches(st.objects[rt.name][k])]
                    if rest:
                        status = expired(CONTINUE_INCONSISTENT)
                        status["metadata"] = {"continue": encode_continue(-1, start)}
                        raise ApiError(status)
                    raise ApiError(expired(CONTINUE_EXPIRED))
                else:
                    objs, list_rv = st.snapshot(rt.name, tok_rv), tok_rv
            elif rv == "":
                objs, list_rv = st.objects[rt.name], cur
            elif rv == "0":
                objs, list_rv, paged = st.objects[rt.name], cur, False
            else:
                if not re.match(r"^\d+$", rv):
                    raise ApiError(bad_request("invalid resource version: %s" % rv))
                n = int(rv)
                if n > cur:
                    raise ApiError(too_large(n, cur), {"Retry-After": "1"})
                if rvm == "Exact" or (rvm == "" and paged):
                    if n < st.floor[rt.name]:
                        raise ApiError(expired(LIST_TOO_OLD))
                    objs, list_rv = st.snapshot(rt.name, n), n
                else:
                    objs, list_rv = st.objects[rt.name], cur
            keys = [k for k in sorted(objs) if k >= start and flt.matches(objs[k])]
            meta = {"resourceVersion": str(list_rv)}
            if paged and len(keys) > limit:
                page, rest = keys[:limit], len(keys) - limit
                meta["continue"] = encode_continue(list_rv, page[-1] + "\x00")
                if count_remaining:
                    meta["remainingItemCount"] = rest
            else:
                page = keys
            return [objs[k] for k in page], meta

    def create(self, obj, resource=None):
        """Creates obj (needs kind, or resource=); returns the stored object with kind."""
        rt = self._resource_of(obj, resource)
        ns = (obj.get("metadata") or {}).get("namespace") if rt.namespaced else None
        return with_kind(rt, self._create(rt, ns, obj))

    def update(self, obj, resource=None):
        """Replaces obj (matched by namespace/name); honours metadata.resourceVersion if set."""
        rt = self._resource_of(obj, resource)
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace", "default") if rt.namespaced else None
        return with_kind(rt, self._update(rt, ns, meta["name"], obj))

    def apply(self, obj, resource=None):
        """Create, or update if it exists."""
        rt = self._resource_of(obj, resource)
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace", "default") if rt.namespaced else None
        with self.store.cond:
            key = "%s/%s" % (ns, meta.get("name")) if rt.namespaced else meta.get("name")
            if key in self.store.objects[rt.name]:
                obj = dict(obj, metadata={k: v for k, v in meta.items() if k != "resourceVersion"})
                return with_kind(rt, self._update(rt, ns, meta["name"], obj))
            return with_kind(rt, self._create(rt, ns, obj))

    def delete(self, resource, ns, name):
        """Deletes; returns the last state with the deletion RV (what DELETED carries)."""
        rt = RESOURCES[resource]
        return with_kind(rt, self._delete(rt, ns if rt.namespaced else None, name))

    def get(self, resource, ns, name):
        rt = RESOURCES[resource]
        return with_kind(rt, self._get(rt, ns if rt.namespaced else None, name))

    def objects(self, resource):
        rt = RESOURCES[resource]
        with self.store.cond:
            return [with_kind(rt, self.store.objects[resource][k])
                    for k in sorted(self.store.objects[resource])]

    def load(self, path_or_obj):
        """Loads objects from a JSON file or value: one object, a list, or a *List with items."""
        data = path_or_obj
        if isinstance(path_or_obj, (str, os.PathLike)):
            with open(path_or_obj, encoding="utf-8") as f:
                data = json.load(f)
        if isinstance(data, dict) and "items" in data and \
                (data.get("kind", "").endswith("List") or "kind" not in data):
            item_kind = data.get("kind", "")[:-4] if data.get("kind", "") != "List" else None
            items = [dict(i, kind=i.get("kind") or item_kind) for i in data["items"]]
        elif isinstance(data, list):
            items = data
        else:
            items = [data]
        # Namespaces first so that a file can list them anywhere.
        items.sort(key=lambda o: 0 if o.get("kind") == "Namespace" else 1)
        return [self.apply(i) for i in items]

    @property
    def resource_version(self):
        with self.store.cond:
            return self.store.rv

    def compact(self):
        """Drops all history: any RV older than the current one now gets 410."""
        with self.store.cond:
            self.store.compact()
            return self.store.rv

    def set_history_limit(self, n):
        with self.store.cond:
            self.store.history_limit = max(1, int(n))
            for r in RESOURCES:
                hist = self.store.history[r]
                while len(hist) > self.store.history_limit:
                    self.store.floor[r] = hist.popleft().rv

    # -- auth ----------------------------------------------------------------------------------

    def _check_auth(self, header):
        with self.store.cond:
            if self.faults.unauthorized_until_token_change:
                raise ApiError(unauthorized())
            if self.token is None:
                return
            if header != "Bearer " + self.token:
                raise ApiError(unauthorized())

    def set_token(self, token):
        """Rotates the accepted bearer token (None: no auth). Clears 401-until-token-change."""
        with self.store.cond:
            if token != self.token:
                self.faults.unauthorized_until_token_change = False
            self.token = token

    def set_unauthorized_until_token_change(self, enabled=True):
        """Answer every request 401 (even with the current token) until set_token() changes it."""
        with self.store.cond:
            self.faults.unauthorized_until_token_change = bool(enabled)

    # -- request log ---------------------------------------------------------------------------

    def _log_request(self, method, target, headers):
        with self.store.cond:
            self.requests.append((method, target))
            self._request_details.append({
                "method": method, "path": target, "time": time.time(),
                "authorization": headers.get("Authorization"), "accept": headers.get("Accept"),
                "userAgent": headers.get("User-Agent")})

    def request_log(self):
        with self.store.cond:
            return list(self._request_details)

    def clear_requests(self):
        with self.store.cond:
            del self.requests[:]
            del self._request_details[:]

    # -- faults --------------------------------------------------------------------------------

    def fail_next(self, count=1, status=500, path_regex=None, method=None, retry_after=1,
                  as_event=False, message=None, user=None):
        """Fail the next `count` requests whose method+path+query match (count < 0: until
        reset). status: 401, 403, 404, 410, 429 (Retry-After), 500, 503, 504
        (ResourceVersionTooLarge) or any other code. as_event: for watches answer 200 + an
        ERROR event carrying the Status instead of an HTTP error."""
        with self.store.cond:
            self.faults.rules.append(FailRule(count, status, path_regex, method, retry_after,
                                              as_event, message, user))

    def _take_fail_rule(self, method, target):
        with self.store.cond:
            for rule in self.faults.rules:
                if rule.count != 0 and rule.matches(method, target):
                    if rule.count > 0:
                        rule.count -= 1
                    return rule
            return None

    def _watches_matching(self, path_regex):
        rx = re.compile(path_regex) if path_regex else None
        return [w for w in self.store.watches if rx is None or rx.search(w.path)]

    def _command(self, cmd, path_regex=None):
        with self.store.cond:
            ws = self._watches_matching(path_regex)
            for w in ws:
                w.queue.append(cmd)
            self.store.cond.notify_all()
            return len(ws)

    def drop_watches(self, mid_event=False, truncate_chunk=False, reset=True, path_regex=None):
        """Abort open watches now, without the terminating chunk: TCP RST (reset=True) or a bare
        FIN. mid_event: instead, each cuts its *next* event in half -- a complete chunk holding
        half of the JSON (or, truncate_chunk, a chunk header announcing the whole event followed
        by only half of it) -- and then aborts."""
        mode = ("chunk" if truncate_chunk else "body") if mid_event else None
        return self._command(("drop", mode, bool(reset)), path_regex)

    def close_watches(self, path_regex=None):
        """End open watches cleanly (zero-length chunk), as at a timeout."""
        return self._command(("close",), path_regex)

    def error_watches(self, code=410, path_regex=None, message=None):
        """Send an ERROR event (410 too old resource version / 500 / 504 / other) and close."""
        store = self.store

        def make(cursor):
            if code == 410:
                return too_old_watch(cursor, store.rv)
            if code == 504:
                return too_large(cursor + 1000, store.rv)
            if code == 500:
                return internal_error(message or "injected failure")
            return status_obj(code, "", message or "injected failure %d" % code)
        return self._command(("error", make), path_regex)

    def garbage_watches(self, line=None, path_regex=None):
        """Write a line that is not JSON on open watches (in its own chunk)."""
        data = (line if line is not None else '{"type":"ADDED","object":{garbage').encode()
        if not data.endswith(b"\n"):
            data += b"\n"
        return self._command(("garbage", data), path_regex)

    def garbage_next_watches(self, count=1, line=None):
        data = (line if line is not None else '{"type":"ADDED","object":{garbage').encode()
        if not data.endswith(b"\n"):
            data += b"\n"
        with self.store.cond:
            self.faults.garbage_next = int(count)
            self.faults.garbage_line = data

    def garbage_next_lists(self, count=1, body=None, path_regex=None):
        """The next `count` matching list requests get 200 and `body` (default: JSON cut off in
        the middle of an item) instead of the list."""
        data = body if body is not None else '{"kind":"ServiceList","items":[{"metadata":{"na'
        if isinstance(data, str):
            data = data.encode()
        with self.store.cond:
            self.faults.garbage_lists.append(
                [int(count), re.compile(path_regex) if path_regex else None, data])

    def _take_garbage_list(self, target):
        with self.store.cond:
            for entry in self.faults.garbage_lists:
                count, rx, data = entry
                if count != 0 and (rx is None or rx.search(target)):
                    if count > 0:
                        entry[0] -= 1
                    return data
            return None

    def bookmark_now(self, path_regex=None):
        """Send a BOOKMARK now on open watches that asked for bookmarks."""
        with self.store.cond:  # (an RLock) so no event slips in between
            return self._command(("bookmark", self.store.rv), path_regex)

    def short_watches(self, count=1):
        """The next `count` watches get 200 + headers and end at once (clean, no events)."""
        with self.store.cond:
            self.faults.short_watches = int(count)

    def hang_next(self, count=1, path_regex=None, before_headers=False):
        """The next `count` matching requests hang: watches get 200 + headers and then nothing
        (timeoutSeconds ignored); before_headers=True (any request): nothing at all. Hung
        requests end when the client closes, on reset_faults() or on stop()."""
        with self.store.cond:
            self.faults.hang.append([int(count), re.compile(path_regex) if path_regex else None,
                                     bool(before_headers)])

    def _take_hang(self, target, before_headers):
        for entry in self.faults.hang:
            if entry[0] != 0 and entry[2] == before_headers and \
                    (entry[1] is None or entry[1].search(target)):
                entry[0] -= 1
                return entry
        return None

    def _note_hang(self, delta):
        with self.store.cond:
            self._hanging += delta
            self.store.cond.notify_all()

    def reset_faults(self):
        """Clear every fault knob (token and data are kept); hung requests are released."""
        with self.store.cond:
            self.faults.reset()
            self.bookmark_creation_timestamp_null = False
            self.store.cond.notify_all()

    def reset(self):
        """Clear faults, data, history and the request log (the RV keeps increasing)."""
        with self.store.cond:
            self.reset_faults()
            for r in RESOURCES:
                self.store.objects[r].clear()
            self.store.compact()
            del self.requests[:]
            del self._request_details[:]

    def open_watches(self, path_regex=None):
        with self.store.cond:
            return [w.path for w in self._watches_matching(path_regex)]

    def wait_for_watches(self, count, timeout=5.0, path_regex=None):
        """Wait until at least `count` matching watches are open; returns whether they are."""
        end = time.monotonic() + timeout
        with self.store.cond:
            while len(self._watches_matching(path_regex)) < count:
                left = end - time.monotonic()
                if left <= 0 or self._stopping:
                    return False
                self.store.cond.wait(min(left, 0.2))
            return True

    def wait_for_requests(self, pred, timeout=5.0):
        """Wait until pred(list of (method, target)) is true; returns whether it became true."""
        end = time.monotonic() + timeout
        while True:
            with self.store.cond:
                if pred(list(self.requests)):
                    return True
            if time.monotonic() >= end:
                return False
            time.sleep(0.02)

    def state(self):
        with self.store.cond:
            return {
                "resourceVersion": str(self.store.rv),
                "objects": {r: len(o) for r, o in self.store.objects.items()},
                "history": {r: len(h) for r, h in self.store.history.items()},
                "historyFloor": {r: str(f) for r, f in self.store.floor.items()},
                "openWatches": [{"id": w.id, "path": w.path, "queued": len(w.queue)}
                                for w in self.store.watches],
                "hangingRequests": self._hanging,
                "tokenRequired": self.token is not None,
                "bookmarkInterval": self.bookmark_interval,
                "historyLimit": self.store.history_limit,
            }

    # -- control API (CLI mode) ----------------------------------------------------------------

    def _control(self, op, b):
        ok = {"ok": True}
        rx = b.get("pathRegex")
        if op == "compact":
            return 200, {"ok": True, "resourceVersion": str(self.compact())}
        if op == "fail":
            self.fail_next(b.get("count", 1), b["status"], rx, b.get("method"),
                           b.get("retryAfter", 1), b.get("asEvent", False), b.get("message"),
                           b.get("user"))
            return 200, ok
        if op == "drop-watches":
            n = self.drop_watches(b.get("midEvent", False), b.get("truncateChunk", False),
                                  b.get("reset", True), rx)
            return 200, {"ok": True, "watches": n}
        if op == "close-watches":
            return 200, {"ok": True, "watches": self.close_watches(rx)}
        if op == "error-watches":
            return 200, {"ok": True, "watches": self.error_watches(b.get("code", 410), rx,
                                                                   b.get("message"))}
        if op == "garbage":
            if b.get("nextLists"):
                self.garbage_next_lists(b["nextLists"], b.get("body"), rx)
                return 200, ok
            if b.get("nextWatches"):
                self.garbage_next_watches(b["nextWatches"], b.get("line"))
                return 200, ok
            return 200, {"ok": True, "watches": self.garbage_watches(b.get("line"), rx)}
        if op == "bookmark":
            return 200, {"ok": True, "watches": self.bookmark_now(rx)}
        if op == "short-watches":
            self.short_watches(b.get("count", 1))
            return 200, ok
        if op == "hang":
            self.hang_next(b.get("count", 1), rx, b.get("beforeHeaders", False))
            return 200, ok
        if op == "token":
            self.set_token(b.get("token"))
            return 200, ok
        if op == "unauthorized":
            self.set_unauthorized_until_token_change(b.get("enabled", True))
            return 200, ok
        if op == "reset":
            if b.get("data"):
                self.reset()
            else:
                self.reset_faults()
            return 200, ok
        if op == "config":
            with self.store.cond:
                if "bookmarkInterval" in b:
                    self.bookmark_interval = float(b["bookmarkInterval"])
                if "defaultWatchTimeout" in b:
                    self.default_watch_timeout = float(b["defaultWatchTimeout"])
                if "bookmarkCreationTimestampNull" in b:
                    self.bookmark_creation_timestamp_null = bool(b["bookmarkCreationTimestampNull"])
            if "historyLimit" in b:
                self.set_history_limit(b["historyLimit"])
            return 200, self.state()
        if op == "objects":
            return 200, {"ok": True, "items": self.load(b)}
        if op == "wait-watches":
            got = self.wait_for_watches(int(b.get("count", 1)), float(b.get("timeout", 5.0)), rx)
            n = len(self.open_watches(rx))
            return (200 if got else 408), {"ok": got, "openWatches": n}
        return None


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description="Fake Kubernetes API server for petdns tests.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="write the listening port here (atomically)")
    ap.add_argument("--tls", action="store_true", help="serve HTTPS with a self-signed CA")
    ap.add_argument("--cert-dir", help="where ca.crt/server.crt/server.key are (made if absent)")
    ap.add_argument("--token", help="require Authorization: Bearer TOKEN")
    ap.add_argument("--load", action="extend", nargs="+", default=[], metavar="FILE.json",
                    help="load objects (object, array or *List); repeatable")
    ap.add_argument("--bookmark-interval", type=float, default=60.0)
    ap.add_argument("--history-limit", type=int, default=1000)
    ap.add_argument("--default-watch-timeout", type=float, default=1800.0)
    ap.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = ap.parse_args(argv)
    cert_dir = args.cert_dir
    if args.tls and cert_dir is None and args.port_file:
        cert_dir = os.path.join(os.path.dirname(os.path.abspath(args.port_file)), "fake-tls")
    srv = FakeApiServer(tls=args.tls, token=args.token, bookmark_interval=args.bookmark_interval,
                        history_limit=args.history_limit, cert_dir=cert_dir, host=args.host,
                        port=args.port, default_watch_timeout=args.default_watch_timeout,
                        verbose=args.verbose)
    for f in args.load:
        srv.load(f)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    srv.start()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.port)
        os.replace(tmp, args.port_file)
    sys.stderr.write("fake-apiserver: listening on %s%s\n" % (
        srv.url, " (CA %s)" % srv.ca_file if srv.tls else ""))
    sys.stderr.flush()
    while not done.wait(0.1):
        pass
    srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

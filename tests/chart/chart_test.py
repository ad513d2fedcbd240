"""Lints and renders helm/switchyard with Helm's own engine, validates what it renders.

Run by tests/tests/chart.rs (which also runs `switchyard config check` on every rendered
switchyard.toml). Usage: chart_test.py CHART_DIR OUT_DIR [PLAIN_DIR]

- `helm lint --strict` over the defaults and every case below;
- a render per case (defaults, external Redis, bundled Redis, Ingress, HTTPRoute, HPA,
  existingSecret, Sentinel URL, ServiceMonitor + NetworkPolicy), each manifest validated
  against the Kubernetes schemas of two minor versions (strict: unknown fields fail), and
  what each case is for checked in the manifests;
- a table of bad values that values.schema.json must reject;
- PLAIN_DIR/switchyard.yaml must equal a fresh render of PLAIN_DIR/values.yaml.

Each case's switchyard.toml is written to OUT_DIR/<case>.toml. The last stdout line is a
JSON summary; any failed check raises (exit status 1).
"""

import json
import os
import pathlib
import sys

import kubernetes_validate
import yaml
from helm_python import chart as helm

KUBERNETES = ["1.36.0", "1.37.0"]
# Kinds whose schemas are CRDs, not part of Kubernetes: checked field by field below.
CRDS = {"HTTPRoute", "ServiceMonitor"}
RELEASE = "sy"
NAMESPACE = "mcp"

CASES = {
    "defaults": {},
    "external-redis": {
        "redis": {"url": "redis://redis.example:6379/0"},
        "secret": {"adminToken": "admin", "stateKey": "k" * 64, "redisPassword": "pw"},
        "config": {"redis": {"username": "switchyard", "wait_replicas": 1}},
    },
    "bundled-redis": {"redis": {"bundled": {"enabled": True, "storage": "2Gi"}}},
    "ingress": {
        "ingress": {
            "enabled": True,
            "hosts": [{"host": "mcp.example.com"}],
            "tls": [{"hosts": ["mcp.example.com"], "secretName": "mcp-tls"}],
            "annotations": {"nginx.ingress.kubernetes.io/proxy-read-timeout": "7200"},
        }
    },
    "httproute": {
        "httpRoute": {
            "enabled": True,
            "parentRefs": [{"name": "gw", "namespace": "infra"}],
            "hostnames": ["mcp.example.com"],
        }
    },
    "hpa": {"autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 6}},
    "existing-secret": {
        "secret": {"existingSecret": "switchyard-prod"},
        "redis": {"bundled": {"enabled": False}},
    },
    "sentinel": {"redis": {"url": "redis+sentinel://s1:26379,s2:26379,s3:26379/mymaster"}},
    "monitoring": {
        "serviceMonitor": {"enabled": True, "labels": {"release": "prom"}},
        "networkPolicy": {
            "enabled": True,
            "from": [{"namespaceSelector": {"matchLabels": {"name": "ingress"}}}],
        },
        "config": {"http": {"workers": 4}, "shutdown": {"drain_delay_secs": 3, "timeout_secs": 40}},
    },
}

# Values values.schema.json must refuse: (what, values).
BAD = [
    ("a misspelt top-level key", {"replicas": 3}),
    ("replicaCount as a string", {"replicaCount": "3"}),
    ("replicaCount zero", {"replicaCount": 0}),
    ("a misspelt config key", {"config": {"http": {"keep_alive_sec": 15}}}),
    ("an unknown config section", {"config": {"htttp": {}}}),
    ("a config value of the wrong type", {"config": {"shutdown": {"timeout_secs": "20"}}}),
    ("an unknown backend", {"config": {"backend": "rails"}}),
    ("bind set in config (the chart sets it)", {"config": {"bind": "0.0.0.0:1"}}),
    ("the Redis URL in config (redis.url holds it)", {"config": {"redis": {"url": "redis://x"}}}),
    ("a Redis URL of another scheme", {"redis": {"url": "http://redis:6379"}}),
    ("a misspelt redis key", {"redis": {"uri": "redis://x"}}),
    ("bundled.enabled as a string", {"redis": {"bundled": {"enabled": "yes"}}}),
    ("a bad storage size", {"redis": {"bundled": {"storage": "lots"}}}),
    ("a port out of range", {"port": 70000}),
    ("a service type that does not exist", {"service": {"type": "Cluster"}}),
    ("an ingress host without a name", {"ingress": {"hosts": [{"path": "/"}]}}),
    ("an HPA target over 100%", {"autoscaling": {"targetCPUUtilizationPercentage": 150}}),
    ("a negative preStop sleep", {"preStopSleepSeconds": -1}),
    ("a grace period as a string", {"terminationGracePeriodSeconds": "60"}),
    ("a scrape interval without a unit", {"serviceMonitor": {"interval": "30"}}),
    ("a misspelt secret key", {"secret": {"existing": "x"}}),
    ("an image pull policy that does not exist", {"image": {"pullPolicy": "Sometimes"}}),
]


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (switchyard.toml) as literal blocks, as a person would write them."""


def _str(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(ch, values, name=RELEASE, namespace=NAMESPACE):
    out = ch.render(values, name=name, namespace=namespace, is_install=True)
    docs = []
    for path, text in sorted(out.items()):
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                docs.append(doc)
    notes = next((t for p, t in out.items() if p.endswith("NOTES.txt")), "")
    return docs, notes


def by_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def one(docs, kind):
    found = by_kind(docs, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def validate(doc, case):
    """Every manifest against both Kubernetes versions; CRD kinds by hand."""
    kind = doc["kind"]
    if kind in CRDS:
        try:
            kubernetes_validate.validate(doc, KUBERNETES[-1], strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            pass
        else:
            raise AssertionError(f"{kind} unexpectedly has a Kubernetes schema")
        check_crd(doc)
        return 0
    for version in KUBERNETES:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            raise AssertionError(
                f"{case}: {kind} {doc['metadata']['name']} is invalid for Kubernetes "
                f"{version}: {e.message} at {list(e.path)}"
            ) from None
    return len(KUBERNETES)


def check_crd(doc):
    spec = doc["spec"]
    if doc["kind"] == "HTTPRoute":
        assert doc["apiVersion"] == "gateway.networking.k8s.io/v1", doc["apiVersion"]
        assert spec["parentRefs"] and all("name" in p for p in spec["parentRefs"]), spec
        refs = [r for rule in spec["rules"] for r in rule["backendRefs"]]
        assert refs == [{"name": f"{RELEASE}-switchyard", "port": 80}], refs
    else:
        assert doc["apiVersion"] == "monitoring.coreos.com/v1", doc["apiVersion"]
        assert spec["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s"}], spec
        assert spec["selector"]["matchLabels"]["app.kubernetes.io/component"] == "gateway"


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def check_common(docs, values):
    """What every render must say, whatever the values."""
    dep = one(docs, "Deployment")
    strategy = dep["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0, strategy
    pod = dep["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["args"][:3] == ["serve", "--config", "/etc/switchyard/switchyard.toml"], c["args"]
    assert c["startupProbe"]["httpGet"]["path"] == "/livez"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert c["resources"]["requests"], c["resources"]
    assert pod["topologySpreadConstraints"], pod
    pre = c["lifecycle"]["preStop"]["sleep"]["seconds"]
    config = ch_values(values)["config"]
    shutdown = config.get("shutdown", {})
    drain = shutdown.get("drain_delay_secs", 0) + shutdown.get("timeout_secs", 5)
    grace = pod["terminationGracePeriodSeconds"]
    assert grace > pre + drain, f"grace {grace} must exceed preStop {pre} + drain {drain}"
    env = env_of(c)
    assert env["SWITCHYARD__STATELESS__STATE_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "state-key"
    assert env["SWITCHYARD__NODE_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    svc = [s for s in by_kind(docs, "Service") if s["metadata"]["name"] == f"{RELEASE}-switchyard"]
    assert len(svc) == 1 and svc[0]["spec"]["sessionAffinity"] == "None", svc
    cm = one(docs, "ConfigMap")
    assert "switchyard.toml" in cm["data"]
    assert dep["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    assert one(docs, "ServiceAccount")["automountServiceAccountToken"] is False
    assert one(docs, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    return dep, c, cm


_MERGED = {}


def ch_values(values):
    return _MERGED[json.dumps(values, sort_keys=True)]


def secret_data(docs):
    import base64

    (s,) = by_kind(docs, "Secret")
    return {k: base64.b64decode(v).decode() for k, v in s["data"].items()}


def check_case(case, docs, notes, dep, c):
    env = env_of(c)
    stateful = by_kind(docs, "StatefulSet")
    redis_env = env.get("SWITCHYARD__REDIS__URL")
    if case in ("defaults", "bundled-redis", "ingress", "httproute", "hpa", "monitoring"):
        (sts,) = stateful
        args = sts["spec"]["template"]["spec"]["containers"][0]["args"]
        assert "--appendonly" in args and args[args.index("--appendonly") + 1] == "yes", args
        assert args[args.index("--maxmemory-policy") + 1] == "noeviction", args
        assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
        assert redis_env["value"] == f"redis://{RELEASE}-switchyard-redis:6379", redis_env
        assert "bundled Redis" in notes, notes
    if case == "bundled-redis":
        assert stateful[0]["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "2Gi"
    if case in ("external-redis", "sentinel"):
        assert not stateful, "an external Redis needs no bundled one"
        assert redis_env["valueFrom"]["secretKeyRef"] == {
            "name": f"{RELEASE}-switchyard", "key": "redis-url", "optional": False,
        }, redis_env
        data = secret_data(docs)
        want = CASES[case]["redis"]["url"]
        assert data["redis-url"] == want, data
        assert len(data["state-key"]) >= 32, data
    if case == "external-redis":
        data = secret_data(docs)
        assert data["admin-token"] == "admin" and data["state-key"] == "k" * 64, data
        assert data["redis-password"] == "pw", data
        assert env["SWITCHYARD__REDIS__PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "redis-password"
    if case == "defaults":
        data = secret_data(docs)
        assert len(data["state-key"]) == 64 and "admin-token" not in data, data
        assert dep["spec"]["replicas"] == 3
        for kind in ("Ingress", "HTTPRoute", "HorizontalPodAutoscaler", "ServiceMonitor", "NetworkPolicy"):
            assert not by_kind(docs, kind), f"{kind} is off by default"
    if case == "ingress":
        ing = one(docs, "Ingress")
        ann = ing["metadata"]["annotations"]
        assert ann["nginx.ingress.kubernetes.io/proxy-buffering"] == "off", ann
        assert ann["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "7200", "user annotations win"
        assert ing["spec"]["tls"][0]["secretName"] == "mcp-tls"
        assert ing["spec"]["rules"][0]["host"] == "mcp.example.com"
    if case == "httproute":
        assert one(docs, "HTTPRoute")["spec"]["hostnames"] == ["mcp.example.com"]
    if case == "hpa":
        hpa = one(docs, "HorizontalPodAutoscaler")
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6), hpa
        assert "replicas" not in dep["spec"], "the HPA owns the replica count"
    if case == "existing-secret":
        assert not by_kind(docs, "Secret"), "an existing Secret is used, none created"
        refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"] if "secretKeyRef" in e.get("valueFrom", {})}
        assert {r["name"] for r in refs.values()} == {"switchyard-prod"}, refs
        assert refs["SWITCHYARD__REDIS__URL"]["optional"] is True, refs
    if case == "monitoring":
        one(docs, "ServiceMonitor")
        np = one(docs, "NetworkPolicy")
        assert np["spec"]["ingress"][0]["ports"] == [{"port": "http", "protocol": "TCP"}], np
        assert dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 5 + 3 + 40 + 10


PLAIN_HEADER = """\
# Generated from helm/switchyard with deploy/kubernetes/values.yaml; do not edit by hand.
# Regenerate: WRITE_PLAIN=1 tests/chart/.venv/bin/python tests/chart/chart_test.py \\
#   helm/switchyard target/chart-out deploy/kubernetes
# (tests/tests/chart.rs fails when this file and a fresh render differ.)
# Create the Secret first (see deploy/kubernetes/README.md), then: kubectl apply -f this file.
"""

# Values documented whole, not key by key: free-form maps and Kubernetes blocks.
WHOLE = {"config", "resources", "redis.bundled.resources"}


def leaves(d, prefix=""):
    for k, v in d.items():
        path = prefix + k
        if isinstance(v, dict) and v and path not in WHOLE:
            yield from leaves(v, path + ".")
        else:
            yield path


def main():
    chart_dir, out_dir = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    plain = pathlib.Path(sys.argv[3]) if len(sys.argv) > 3 else None
    out_dir.mkdir(parents=True, exist_ok=True)
    ch = helm.Chart.load(chart_dir)
    summary = {"cases": 0, "manifests": 0, "validations": 0, "bad_values_rejected": 0, "lint": 0}
    for case, values in CASES.items():
        report = helm.lint(chart_dir, values, strict=True, namespace=NAMESPACE)
        problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
        assert not problems, f"lint --strict ({case}): {problems}"
        summary["lint"] += 1
        ch.validate_schema(values)
        _MERGED[json.dumps(values, sort_keys=True)] = ch.merge_values(values)
        docs, notes = render(ch, values)
        for doc in docs:
            summary["validations"] += validate(doc, case)
        summary["manifests"] += len(docs)
        dep, c, cm = check_common(docs, values)
        check_case(case, docs, notes, dep, c)
        (out_dir / f"{case}.toml").write_text(cm["data"]["switchyard.toml"])
        summary["cases"] += 1
    in_memory = {"redis": {"bundled": {"enabled": False}}}
    try:
        render(ch, in_memory)
    except Exception as e:  # noqa: BLE001 - the engine's error type is what we test
        assert "one replica" in str(e), e
    else:
        raise AssertionError("in-memory state with 3 replicas must not render")
    docs, _ = render(ch, {**in_memory, "replicaCount": 1})
    assert "SWITCHYARD__REDIS__URL" not in env_of(one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0])
    for what, values in BAD:
        try:
            ch.validate_schema(values)
        except Exception as e:  # noqa: BLE001
            if "values" not in type(e).__name__.lower() and "schema" not in str(e).lower():
                raise AssertionError(f"{what}: rejected for another reason: {e!r}") from None
        else:
            raise AssertionError(f"values.schema.json accepted {what}: {values}")
        try:
            render(ch, values)
        except Exception:  # noqa: BLE001
            pass
        else:
            raise AssertionError(f"the chart rendered {what}: {values}")
        summary["bad_values_rejected"] += 1
    readme = (chart_dir / "README.md").read_text()
    listed = {line.split("`")[1] for line in readme.splitlines() if line.startswith("| `")}
    defaults = yaml.safe_load((chart_dir / "values.yaml").read_text())
    missing = [k for k in leaves(defaults) if k not in listed]
    assert not missing, f"values missing from {chart_dir}/README.md: {missing}"
    stale = [k for k in listed if k not in set(leaves(defaults))]
    assert not stale, f"{chart_dir}/README.md lists values that do not exist: {stale}"
    summary["values_documented"] = len(listed)
    if plain is not None:
        values = yaml.safe_load((plain / "values.yaml").read_text())
        ch.validate_schema(values)
        docs, _ = render(ch, values, name="switchyard", namespace="default")
        for doc in docs:
            summary["validations"] += validate(doc, "plain")
        assert not by_kind(docs, "Secret"), "the plain manifests take an existing Secret"
        fresh = "".join("---\n" + yaml.dump(d, Dumper=_Dumper, sort_keys=False) for d in docs)
        target = plain / "switchyard.yaml"
        if os.environ.get("WRITE_PLAIN") == "1":
            target.write_text(PLAIN_HEADER + fresh)
        header = target.read_text().split("---\n", 1)
        kept = "---\n" + header[1] if len(header) > 1 else ""
        assert kept == fresh, (
            f"{plain}/switchyard.yaml differs from a fresh render of {plain}/values.yaml; "
            f"regenerate it (see {plain}/README.md)"
        )
        summary["plain_manifests"] = len(docs)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

"""The Helm chart (deploy/helm/fleetkeeper): `helm lint` passes, `helm template` renders with the
defaults and with every optional part on, every rendered object validates strictly against the
Kubernetes API schemas, the probes and the security context are what the worker needs, and the
configuration the chart ships validates with the worker itself."""

import os
import pathlib
import subprocess
import sys

import kubernetes_validate
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "fleetkeeper"
BIN = pathlib.Path(os.environ.get("FK_BIN", ROOT / "build" / "app" / "fleetkeeper"))
KUBE_VERSION = "1.30.0"  # the oldest Kubernetes EKS still supports on standard support, 2026


def helm():
    path = ROOT / ".cache" / "bin" / "helm"
    if not path.exists():
        pytest.fail("helm is missing: scripts/install-deps.sh builds it into .cache/bin")
    return str(path)


def render(*sets):
    args = [helm(), "template", "demo", str(CHART), "--kube-version", KUBE_VERSION]
    for s in sets:
        args += ["--set", s]
    out = subprocess.run(args, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def by_kind(docs):
    return {d["kind"]: d for d in docs}


def test_lint():
    out = subprocess.run([helm(), "lint", "--strict", str(CHART), "--kube-version", KUBE_VERSION],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("sets", [(), ("serviceMonitor.enabled=true", "existingSecret=fk",
                                       "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn="
                                       "arn:aws:iam::111122223333:role/fleetkeeper")])
def test_every_object_validates_against_the_kubernetes_schemas(sets):
    for doc in render(*sets):
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # a CRD of the Prometheus Operator: not in the Kubernetes API schemas
        try:
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{doc['kind']} {doc['metadata']['name']}: {e.message} at {list(e.path)}")


def test_the_schema_check_can_fail():
    deployment = by_kind(render())["Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGets"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSION, strict=True)


def test_optional_parts():
    plain = by_kind(render())
    assert "ServiceMonitor" not in plain and "PodDisruptionBudget" in plain
    full = by_kind(render("serviceMonitor.enabled=true", "existingSecret=fk",
                          "podDisruptionBudget.enabled=false"))
    assert full["ServiceMonitor"]["spec"]["endpoints"][0]["path"] == "/metrics"
    assert "PodDisruptionBudget" not in full
    container = full["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": "fk"}}]


def test_probes_security_and_irsa():
    docs = by_kind(render("serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn="
                          "arn:aws:iam::111122223333:role/fleetkeeper"))
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001, "the Dockerfile's numeric user"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert docs["ServiceAccount"]["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/fleetkeeper"}
    assert pod["serviceAccountName"] == docs["ServiceAccount"]["metadata"]["name"]


def test_the_shipped_configuration_validates(tmp_path):
    config = by_kind(render())["ConfigMap"]["data"]["fleetkeeper.yaml"]
    path = tmp_path / "fleetkeeper.yaml"
    path.write_text(config)
    out = subprocess.run([str(BIN), "validate-config", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    port = yaml.safe_load(config)["observability"]["listen"].rsplit(":", 1)[1]
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert int(port) == values["service"]["port"], "the probes' port is the one the worker serves"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))

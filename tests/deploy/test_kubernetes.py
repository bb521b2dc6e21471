"""The Kubernetes manifests validate with `kubernetes-validate --strict` and wire up.

kustomize itself is not needed: every complete resource file of the base and the
overlay is validated on its own (the overlay's patch files are partial by design and
are checked here only for pointing at real base resources). Validation runs against
Kubernetes 1.29, the first release with native sidecars on by default, and against
the validator's newest schema.

CRDs excepted: ServiceMonitor and PrometheusRule (monitoring.coreos.com/v1) have no
schema in kubernetes-validate, which only warns about them. The PrometheusRule is
checked instead by being equal to deploy/prometheus/alerts.yml (which promtool checks),
and the ServiceMonitor by pointing at the Service's metrics port.
"""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from daemon.config import load_config

KUBERNETES = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
BASE = KUBERNETES / "base"
POSTGRES = KUBERNETES / "overlays" / "postgres"
ALERTS = KUBERNETES.parent / "prometheus" / "alerts.yml"
VALIDATOR = Path(sys.executable).with_name("kubernetes-validate")

CRDS_WITHOUT_SCHEMA = {("monitoring.coreos.com/v1", "ServiceMonitor"),
                       ("monitoring.coreos.com/v1", "PrometheusRule")}  # fmt: skip
KUBERNETES_VERSIONS = ["1.29.0", None]  # None: the validator's default, its newest


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def kustomization(directory: Path) -> dict:
    return load(directory / "kustomization.yaml")


def complete_resources() -> list[Path]:
    """Every resource file listed by the base and the overlay (not the patches)."""
    files = []
    for directory in (BASE, POSTGRES):
        for entry in kustomization(directory)["resources"]:
            path = (directory / entry).resolve()
            if not path.is_dir():
                files.append(path)
    return files


def base_resource(kind: str, name: str | None = None) -> dict:
    for entry in kustomization(BASE)["resources"]:
        document = load(BASE / entry)
        if document["kind"] == kind and name in (None, document["metadata"]["name"]):
            return document
    raise AssertionError(f"the base has no {kind} {name or ''}")


def sidecar() -> dict:
    pod = base_resource("Deployment")["spec"]["template"]["spec"]
    (container,) = [c for c in pod["initContainers"] if c["name"] == "stacks-opsd"]
    return container


def volume_mount_of(container: dict, volume_kind: str) -> tuple[str, dict]:
    """(mountPath, volume) of the container's mount of the one volume of `volume_kind`."""
    pod = base_resource("Deployment")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    (mount,) = [m for m in container["volumeMounts"] if volume_kind in volumes[m["name"]]]
    return mount["mountPath"], volumes[mount["name"]]


def config_toml(configmap: dict) -> dict:
    return tomllib.loads(configmap["data"]["config.toml"])


def test_every_listed_file_exists() -> None:
    for directory in (BASE, POSTGRES):
        spec = kustomization(directory)
        listed = spec["resources"] + [patch["path"] for patch in spec.get("patches", [])]
        for entry in listed:
            assert (directory / entry).exists(), f"{directory.name}/kustomization.yaml: {entry}"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS, ids=["1.29", "newest"])
def test_resources_validate_strictly(version: str | None) -> None:
    files = [p for p in complete_resources() if (load(p)["apiVersion"], load(p)["kind"])
             not in CRDS_WITHOUT_SCHEMA]  # fmt: skip
    version_args = ["-k", version] if version else []
    result = subprocess.run(
        [str(VALIDATOR), "--strict", *version_args, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(" passed for resource ") == len(files), result.stdout


def test_only_the_named_crds_are_excepted() -> None:
    kinds = {(load(p)["apiVersion"], load(p)["kind"]) for p in complete_resources()}
    assert kinds & CRDS_WITHOUT_SCHEMA == CRDS_WITHOUT_SCHEMA
    result = subprocess.run(
        [str(VALIDATOR), "--strict", str(BASE / "servicemonitor.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Should kubernetes-validate learn these CRDs, move them into the strict test.
    assert "Couldn't find schema for kind ServiceMonitor" in result.stdout + result.stderr


def test_stacks_opsd_is_a_native_sidecar_running_the_daemon() -> None:
    container = sidecar()
    assert container["restartPolicy"] == "Always"
    assert container["args"] == ["--config", "/etc/stacks-opsd/config.toml", "run"]
    assert container["image"] in {image["name"] for image in kustomization(BASE)["images"]}


def test_probes_use_health_endpoints_on_the_listen_port() -> None:
    container = sidecar()
    probes = {
        kind: (container[kind]["httpGet"]["path"], container[kind]["httpGet"]["port"])
        for kind in ("startupProbe", "livenessProbe")
    }
    assert probes == {"startupProbe": ("/healthz", 9847), "livenessProbe": ("/healthz", 9847)}
    listen = config_toml(base_resource("ConfigMap"))["daemon"]["listen"]
    assert listen == "0.0.0.0:9847", "the kubelet's probes come from outside the Pod"


def test_an_audit_database_outage_does_not_take_the_application_out_of_its_service() -> None:
    """A native sidecar's readiness counts for the Pod, and /readyz fails while the audit
    database is down: the sidecar carries no readinessProbe."""
    assert "readinessProbe" not in sidecar()


def test_sidecar_runs_unprivileged_on_a_read_only_root() -> None:
    context = sidecar()["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["runAsUser"] == 10001
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert context["seccompProfile"]["type"] == "RuntimeDefault"


def test_config_key_and_database_paths_match_the_mounts() -> None:
    container = sidecar()
    config = config_toml(base_resource("ConfigMap"))
    config_dir, _ = volume_mount_of(container, "configMap")
    assert f"{config_dir}/config.toml" == container["args"][1]
    secret_dir, secret_volume = volume_mount_of(container, "secret")
    key_dir, key_name = config["api"]["api_key_file"].rsplit("/", 1)
    assert key_dir == secret_dir
    secret = base_resource("Secret", secret_volume["secret"]["secretName"])
    assert key_name in secret["stringData"]
    state_dir, state_volume = volume_mount_of(container, "persistentVolumeClaim")
    assert config["daemon"]["database_url"] == f"sqlite:///{state_dir}/audit.db"
    base_resource("PersistentVolumeClaim", state_volume["persistentVolumeClaim"]["claimName"])


def test_shipped_configs_load(tmp_path: Path) -> None:
    base_config = base_resource("ConfigMap")["data"]["config.toml"]
    postgres_config = load(POSTGRES / "config-patch.yaml")["data"]["config.toml"]
    for name, text in (("base", base_config), ("postgres", postgres_config)):
        path = tmp_path / f"{name}.toml"
        path.write_text(text)
        config = load_config(str(path), env={})
        assert config.daemon.listen == "0.0.0.0:9847"
    assert config.daemon.database_url.startswith("postgresql+psycopg://")


def test_postgres_overlay_keeps_the_password_in_a_secret() -> None:
    url = tomllib.loads(load(POSTGRES / "config-patch.yaml")["data"]["config.toml"])["daemon"][
        "database_url"
    ]
    assert ":" not in url.split("//", 1)[1].split("@", 1)[0], "no password in the ConfigMap"
    patch = load(POSTGRES / "deployment-patch.yaml")["spec"]["template"]["spec"]
    (container,) = patch["initContainers"]
    assert container["name"] == sidecar()["name"]
    (env,) = container["env"]
    secret = load(POSTGRES / "secret.yaml")
    assert env["name"] == "PGPASSWORD"
    assert env["valueFrom"]["secretKeyRef"]["name"] == secret["metadata"]["name"]
    assert env["valueFrom"]["secretKeyRef"]["key"] in secret["stringData"]


def test_overlay_patches_target_base_resources() -> None:
    for patch in kustomization(POSTGRES)["patches"]:
        document = load(POSTGRES / patch["path"])
        base_resource(document["kind"], document["metadata"]["name"])


def test_service_monitor_scrapes_the_metrics_port() -> None:
    service = base_resource("Service")
    monitor = base_resource("ServiceMonitor")
    assert service["metadata"]["name"] == "stacks-opsd", "the alerts expect job=stacks-opsd"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= (
        service["metadata"]["labels"].items()
    )
    (endpoint,) = monitor["spec"]["endpoints"]
    (port,) = service["spec"]["ports"]
    assert (endpoint["port"], endpoint["path"]) == (port["name"], "/metrics")
    assert port["targetPort"] == sidecar()["ports"][0]["containerPort"]
    pod_labels = base_resource("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()


def test_prometheus_rule_carries_the_same_alerts_as_alerts_yml() -> None:
    assert base_resource("PrometheusRule")["spec"]["groups"] == load(ALERTS)["groups"]

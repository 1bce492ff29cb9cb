"""deploy/kubernetes: valid objects (Kubernetes' own schemas, offline) that fit the budget.

No cluster here: every object is validated against the JSON schemas that
``kubernetes-validate`` ships (strict: unknown fields are errors), and the settings the pods
would start with are checked the way the service checks them at start-up. Then the fleet's
worst case (every Deployment at its HPA maximum plus its rolling-update surge, every
worker at its per-process cap, plus the migrate Job) must fit the PostgreSQL connection
budget the ConfigMap documents.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from app.cli import COMPONENTS, _parser
from app.config import Settings

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.30.0"  # the oldest release we support; the objects are stable APIs
BUDGET_ANNOTATION = "global-integrations/postgres-connection-budget"
# PostgreSQL's defaults: the budget must leave the reserved slots and some headroom.
POSTGRES_MAX_CONNECTIONS = 100
SUPERUSER_RESERVED = 3
MIGRATE_CONNECTIONS = 1


def _documents() -> list[dict[str, Any]]:
    documents = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        documents += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return documents


DOCUMENTS = _documents()


def _one(kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in DOCUMENTS if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def _deployments() -> list[dict[str, Any]]:
    return [d for d in DOCUMENTS if d["kind"] == "Deployment"]


@pytest.mark.parametrize(
    "document", DOCUMENTS, ids=[f"{d['kind']}/{d['metadata']['name']}" for d in DOCUMENTS]
)
def test_every_object_is_valid_against_the_kubernetes_schema(document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    on_disk = {p.name for p in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk


def test_the_fleet_has_what_operations_expect() -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for d in DOCUMENTS}
    assert {
        ("ConfigMap", "global-integrations"),
        ("Secret", "global-integrations"),
        ("Job", "global-integrations-migrate"),
        ("Deployment", "global-integrations-management"),
        ("Deployment", "global-integrations-introspection"),
        ("HorizontalPodAutoscaler", "global-integrations-introspection"),
        ("PodDisruptionBudget", "global-integrations-introspection"),
    } <= kinds
    pdb = _one("PodDisruptionBudget", "global-integrations-introspection")
    hpa = _one("HorizontalPodAutoscaler", "global-integrations-introspection")
    assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"], "a node drain must proceed"


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return container


def _settings(workload: dict[str, Any]) -> Settings:
    """The settings a container of ``workload`` starts with, validated as at start-up."""
    env: dict[str, str] = {}
    container = _container(workload)
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(_one("ConfigMap", source["configMapRef"]["name"])["data"])
        else:
            env.update(_one("Secret", source["secretRef"]["name"])["stringData"])
    env.update({item["name"]: item["value"] for item in container.get("env", [])})
    known = {name.upper() for name in Settings.model_fields}
    assert set(env) <= known, f"not a setting: {sorted(set(env) - known)}"
    return Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "name", ["global-integrations-management", "global-integrations-introspection"]
)
def test_deployments_run_the_real_serve_command_with_probes(name: str) -> None:
    deployment = _one("Deployment", name)
    container = _container(deployment)
    assert container["args"][:3] == ["python", "-m", "app"]
    args = _parser().parse_args(container["args"][3:])
    assert args.command == "serve"
    assert args.component in COMPONENTS
    assert name.endswith(args.component)
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    port = container["ports"][0]["containerPort"]
    assert args.port == port
    resources = container["resources"]
    # ~100 MB peak RSS per worker (README "Performance"): the request covers every worker.
    assert _mebibytes(resources["requests"]["memory"]) >= 96 * args.workers
    assert _mebibytes(resources["limits"]["memory"]) >= 2 * 96 * args.workers
    settings = _settings(deployment)
    assert not settings.is_sqlite
    assert settings.environment == "production"


def test_the_migrate_job_migrates_with_the_same_settings() -> None:
    job = _one("Job", "global-integrations-migrate")
    assert _parser().parse_args(_container(job)["args"][3:]).command == "migrate"
    assert _settings(job).listen_url.startswith("postgresql+asyncpg://")


def _mebibytes(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    return float(quantity) / 2**20


def _surge(deployment: dict[str, Any]) -> int:
    surge = deployment["spec"].get("strategy", {}).get("rollingUpdate", {}).get("maxSurge", "25%")
    assert isinstance(surge, int), "an absolute maxSurge, so that the budget can count it"
    return surge


def _most_replicas(deployment: dict[str, Any]) -> int:
    name = deployment["metadata"]["name"]
    for hpa in (d for d in DOCUMENTS if d["kind"] == "HorizontalPodAutoscaler"):
        if hpa["spec"]["scaleTargetRef"]["name"] == name:
            assert hpa["spec"]["maxReplicas"] >= deployment["spec"]["replicas"]
            return int(hpa["spec"]["maxReplicas"])
    return int(deployment["spec"]["replicas"])


def fleet_connections() -> dict[str, int]:
    """Each Deployment's worst case: (most replicas + surge) x workers x per-process cap."""
    worst = {}
    for deployment in _deployments():
        settings = _settings(deployment)
        workers = _parser().parse_args(_container(deployment)["args"][3:]).workers
        pods = _most_replicas(deployment) + _surge(deployment)
        assert settings.connection_budget.total <= settings.database_max_connections
        worst[deployment["metadata"]["name"]] = pods * workers * settings.database_max_connections
    return worst


def test_the_whole_fleet_fits_the_postgresql_connection_budget() -> None:
    configmap = _one("ConfigMap", "global-integrations")
    budget = int(configmap["metadata"]["annotations"][BUDGET_ANNOTATION])
    assert budget <= POSTGRES_MAX_CONNECTIONS - SUPERUSER_RESERVED
    worst = fleet_connections()
    assert worst == {
        "global-integrations-management": (2 + 1) * 1 * 6,
        "global-integrations-introspection": (6 + 1) * 2 * 4,
    }
    assert sum(worst.values()) + MIGRATE_CONNECTIONS <= budget

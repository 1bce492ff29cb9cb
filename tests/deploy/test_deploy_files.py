"""Dockerfile and docker-compose.yml cannot run here; check they refer to what exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.cli import COMPONENTS, _parser

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def _stages(dockerfile: str) -> list[str]:
    return re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[1:]


def test_compose_has_the_services_operations_expect(compose: dict[str, Any]) -> None:
    assert {"postgres", "migrate", "management", "introspection", "gateway"} <= set(
        compose["services"]
    )
    assert compose["services"]["introspection"]["deploy"]["replicas"] == 2


def test_compose_commands_are_real_cli_commands(compose: dict[str, Any]) -> None:
    parser = _parser()
    for name, service in compose["services"].items():
        command = service.get("command")
        if not command or command[:3] != ["python", "-m", "app"]:
            continue
        args = parser.parse_args(command[3:])
        if args.command == "serve":
            assert args.component in COMPONENTS, name


def test_migrations_run_once_before_the_servers(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["command"] == ["python", "-m", "app", "migrate"]
    for name in ("management", "introspection"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_gateway_mounts_the_shipped_nginx_template(compose: dict[str, Any]) -> None:
    gateway = compose["services"]["gateway"]
    source = gateway["volumes"][0].split(":")[0]
    templates = list((ROOT / source).glob("*.template"))
    assert templates, "no nginx template where the gateway looks for one"
    needed = set(re.findall(r"\$\{([A-Z_]+)\}", templates[0].read_text()))
    assert needed <= set(gateway["environment"])


def test_production_services_set_what_production_settings_require(compose: dict[str, Any]) -> None:
    for name in ("migrate", "management", "introspection"):
        environment = compose["services"][name]["environment"]
        assert environment["ENVIRONMENT"] == "production"
        assert environment["DATABASE_URL"].startswith("postgresql://")
        assert "ISSUER" in environment


def test_dockerfile_is_multi_stage_non_root_with_healthcheck() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = _stages(dockerfile)
    assert len(stages) >= 2
    final = stages[-1]
    assert re.search(r"^USER (?!root)\w+", final, flags=re.MULTILINE)
    assert "HEALTHCHECK" in final
    assert "gcc" not in final
    assert "build-essential" not in final


def test_dockerfile_copies_files_that_exist() -> None:
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            sources = line.split()[1:-1]
            for source in sources:
                assert (ROOT / source).exists(), source

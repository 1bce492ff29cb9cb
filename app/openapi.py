"""Print the served OpenAPI document as YAML: ``python -m app.openapi > openapi.yaml``."""

from __future__ import annotations

import sys
from typing import Any

import yaml

from app.apps import create_app
from app.config import Settings


def openapi_document() -> dict[str, Any]:
    # Settings are explicit so the document never depends on the caller's environment.
    return create_app(Settings(environment="development")).openapi()


def render_yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


if __name__ == "__main__":
    sys.stdout.write(render_yaml(openapi_document()))

"""Reading the hub's OpenAPI document in tests: its operations, and validators of its schemas."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

METHODS = ("get", "put", "post", "delete", "patch")


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path, operation) of each operation of the hub's own API (/v1, /healthz)."""
    for path, ops in doc["paths"].items():
        if not (path.startswith("/v1") or path == "/healthz"):
            continue  # /dss/v1 and /aux/v1: the F3548 interface, ASTM's own document
        for method, op in ops.items():
            if method in METHODS:
                yield method.upper(), path, op


def validator(doc: dict[str, Any], schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    """A validator of `schema` whose `#/components/...` references resolve in `doc`."""
    resource = Resource.from_contents(doc, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource("urn:deconflict:openapi", resource)
    wrapped = {"$id": "urn:deconflict:openapi", **doc, "$ref": "#/__schema__", "__schema__": schema}
    registry = registry.with_resource(
        "urn:deconflict:openapi", Resource.from_contents(wrapped, DRAFT202012)
    )
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(
        {"$ref": "urn:deconflict:openapi#/__schema__"},
        registry=registry,
        format_checker=cls.FORMAT_CHECKER,
    )


def errors(doc: dict[str, Any], schema: dict[str, Any], instance: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator(doc, schema).iter_errors(instance)
    ]

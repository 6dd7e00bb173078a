#!/usr/bin/env python3
"""Generate contract/planetscale-contract.json from PlanetScale's OpenAPI spec.

Why this exists: dbplane's integration tests check that our /v1 responses have
the shapes PlanetScale's API documents. The upstream spec is ~3 MB, mostly
prose. This script keeps only the machine-checkable facts -- paths, methods,
operationIds, parameters, and JSON schemas (types, required, nullable, enum,
...) -- and drops every description, summary, example, tag, header and vendor
extension. The output is deterministic so it can be committed and diffed.

Usage (from the repository root):
    python3 scripts/gen-contract.py [path/to/planetscale-openapi.json]

Default input: ../shared/reference/planetscale-openapi.json
Output:        contract/planetscale-contract.json
Stdlib only.
"""

import hashlib
import json
import re
import os
import sys

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Schema keywords we keep verbatim (after recursing into sub-schemas).
KEEP_SCALAR = {
    "type",
    "required",
    "nullable",
    "enum",
    "format",
    "default",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "readOnly",
    "writeOnly",
}
# Prose / presentation keywords we drop.
STRIP = {"description", "summary", "example", "examples", "tags", "headers", "title"}

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_INPUT = os.path.join(REPO_ROOT, "..", "shared", "reference", "planetscale-openapi.json")
OUTPUT = os.path.join(REPO_ROOT, "contract", "planetscale-contract.json")


class ContractError(Exception):
    pass


def fail(where, msg):
    raise ContractError(f"{where}: {msg}")


def strip_schema(schema, where):
    """Return a copy of `schema` with only the structural keywords kept."""
    if not isinstance(schema, dict):
        fail(where, f"schema must be an object, got {type(schema).__name__}")
    out = {}
    for key, value in schema.items():
        if key == "$ref":
            fail(where, f"$ref is not supported (found {value!r}); resolve it first")
        if key in STRIP or key.startswith("x-"):
            continue
        if key == "properties":
            if not isinstance(value, dict):
                fail(where, "properties must be an object")
            # Keys here are property *names*, not keywords: keep them all.
            out[key] = {
                name: strip_schema(sub, f"{where}.properties.{name}") for name, sub in value.items()
            }
        elif key in ("items", "not"):
            out[key] = strip_schema(value, f"{where}.{key}")
        elif key == "additionalProperties":
            if isinstance(value, bool):
                out[key] = value
            else:
                out[key] = strip_schema(value, f"{where}.{key}")
        elif key in ("oneOf", "anyOf", "allOf"):
            if not isinstance(value, list):
                fail(where, f"{key} must be an array")
            out[key] = [strip_schema(sub, f"{where}.{key}[{i}]") for i, sub in enumerate(value)]
        elif key in KEEP_SCALAR:
            out[key] = value
        else:
            fail(where, f"unknown schema keyword {key!r}; decide whether to keep or strip it")
    return out


def json_schema(content, where):
    """The application/json schema of a `content` map, or None if there is none."""
    if content is None:
        return None
    media = content.get("application/json")
    if media is None:
        return None
    if "$ref" in media:
        fail(where, "$ref is not supported")
    schema = media.get("schema")
    return None if schema is None else strip_schema(schema, f"{where}.schema")


def strip_parameter(param, where):
    if "$ref" in param:
        fail(where, "$ref is not supported")
    for key in ("name", "in"):
        if key not in param:
            fail(where, f"parameter without {key!r}")
    schema = param.get("schema")
    return {
        "name": param["name"],
        "in": param["in"],
        "required": bool(param.get("required", param["in"] == "path")),
        "schema": None if schema is None else strip_schema(schema, f"{where}.schema"),
    }


def service_token_accesses(op):
    """The access names of the operation's "Service Token Accesses" block: a fact the
    authorization tests compare our table with. The prose around it is not kept."""
    text = op.get("description") or ""
    marker = "**Service Token Accesses**"
    if marker not in text:
        return []
    block = text.split(marker, 1)[1].split("**", 1)[0]
    return sorted(set(re.findall(r"`([a-z_]+)`", block)))


def strip_operation(path, method, op, path_params):
    where = f"{method.upper()} {path}"
    if "operationId" not in op:
        fail(where, "operation without operationId")
    # Operation-level parameters override path-level ones with the same (name, in).
    params = {}
    for i, p in enumerate(path_params):
        sp = strip_parameter(p, f"{path}.parameters[{i}]")
        params[(sp["name"], sp["in"])] = sp
    for i, p in enumerate(op.get("parameters", [])):
        sp = strip_parameter(p, f"{where}.parameters[{i}]")
        params[(sp["name"], sp["in"])] = sp
    body = op.get("requestBody")
    if body is not None and "$ref" in body:
        fail(where, "requestBody $ref is not supported")
    responses = {}
    for status, resp in op.get("responses", {}).items():
        if "$ref" in resp:
            fail(f"{where} {status}", "response $ref is not supported")
        responses[str(status)] = json_schema(resp.get("content"), f"{where} {status}")
    return {
        "operationId": op["operationId"],
        "parameters": list(params.values()),
        "requestBody": None if body is None else json_schema(body.get("content"), f"{where} body"),
        "responses": responses,
        "x-service-token-accesses": service_token_accesses(op),
    }


def build(spec, source_bytes):
    paths = {}
    seen_ids = set()
    for path, item in spec["paths"].items():
        if "$ref" in item:
            fail(path, "path item $ref is not supported")
        path_params = item.get("parameters", [])
        ops = {}
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            stripped = strip_operation(path, method, op, path_params)
            if stripped["operationId"] in seen_ids:
                fail(path, f"duplicate operationId {stripped['operationId']!r}")
            seen_ids.add(stripped["operationId"])
            ops[method] = stripped
        paths[path] = ops
    servers = [s.get("url") for s in spec.get("servers", [])]
    return {
        "source": {
            "openapi": spec.get("openapi"),
            "version": spec.get("info", {}).get("version"),
            "servers": servers,
            "sha256": hashlib.sha256(source_bytes).hexdigest(),
        },
        "paths": paths,
    }


def main(argv):
    src = argv[1] if len(argv) > 1 else DEFAULT_INPUT
    with open(src, "rb") as f:
        raw = f.read()
    spec = json.loads(raw)
    try:
        contract = build(spec, raw)
    except ContractError as e:
        print(f"gen-contract: {e}", file=sys.stderr)
        return 1
    text = json.dumps(contract, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    n_ops = sum(len(v) for v in contract["paths"].values())
    print(f"wrote {os.path.relpath(OUTPUT, REPO_ROOT)}: {len(contract['paths'])} paths, {n_ops} operations, {len(text.encode())} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

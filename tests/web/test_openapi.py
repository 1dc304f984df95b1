"""The OpenAPI document covers every route, and real responses match its schemas."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import trio
from quart_trio import QuartTrio

from pulse_core.daemon import Daemon
from pulse_core.web.openapi import document

# The UI's HTML and assets are not part of the API.
UNDOCUMENTED_ENDPOINTS = {"ui.index", "ui.asset"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def openapi_path(rule: Any) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda match: "{" + match.group(1) + "}", rule.rule)


def response_schema(path: str, method: str, status: int) -> dict[str, Any]:
    doc = document()
    operation = doc["paths"][path][method.lower()]
    assert str(status) in operation["responses"], f"{method} {path}: status {status} is not documented"
    content = operation["responses"][str(status)].get("content", {})
    schema = dict(content["application/json"]["schema"])
    # Refs point at #/components/..., so the components travel with the schema being checked.
    schema["components"] = doc["components"]
    return schema


def check(path: str, method: str, response: httpx.Response) -> None:
    schema = response_schema(path, method, response.status_code)
    jsonschema.Draft202012Validator(schema).validate(response.json())


def test_document_is_valid_openapi() -> None:
    doc = document()

    assert doc["openapi"] == "3.1.0"
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert operation["responses"], f"{method} {path}"
            for name in re.findall(r"\{([^}]+)\}", path):
                declared = [p["name"] for p in item.get("parameters", []) + operation.get("parameters", [])]
                assert name in declared, f"{method} {path}: path parameter {name} is not declared"
    for name, schema in doc["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema)


def is_core_or_described(app: QuartTrio, rule: Any) -> bool:
    """Core routes must be in the document; a plugin's only when its blueprint describes any."""
    view = app.view_functions[rule.endpoint]
    if view.__module__.startswith("pulse_core."):
        return True
    blueprint = app.blueprints.get(rule.endpoint.split(".", 1)[0])
    return bool(getattr(blueprint, "openapi_paths", None))


async def test_every_route_is_documented(app: QuartTrio) -> None:
    # Parameter names may differ in spelling (node_id in Python, nodeId in the document).
    def shape(path: str) -> str:
        return re.sub(r"\{[^}]+\}", "{}", path)

    documented = {shape(path): item for path, item in document()["paths"].items()}
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in UNDOCUMENTED_ENDPOINTS or not is_core_or_described(app, rule):
            continue
        path = openapi_path(rule)
        methods = {"GET"} if rule.websocket else set(rule.methods or ()) - IGNORED_METHODS
        for method in methods:
            if method.lower() not in documented.get(shape(path), {}):
                missing.append(f"{method} {path}")
    assert sorted(missing) == []


async def test_openapi_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/openapi.json")

    assert response.status_code == 200
    assert response.json() == document()


async def test_read_responses_match_schemas(client: httpx.AsyncClient, live: Daemon) -> None:
    node_id = live.state.all("nodes")[0].id
    reads = [
        ("/api/health", "/api/health"), ("/api/version", "/api/version"), ("/api/state", "/api/state"),
        ("/api/plugins", "/api/plugins"), ("/api/charts?range=24h&points=5", "/api/charts"),
        ("/api/storage-charts", "/api/storage-charts"), ("/api/storage/", "/api/storage/"),
        ("/api/storage", "/api/storage"),
        (f"/api/storage/{node_id}", "/api/storage/{nodeId}"), ("/api/storage/nope", "/api/storage/{nodeId}"),
        ("/api/backups", "/api/backups"), ("/api/backups/unified", "/api/backups/unified"),
        ("/api/backups/pve", "/api/backups/pve"), ("/api/backups/pbs", "/api/backups/pbs"),
        ("/api/snapshots", "/api/snapshots"), ("/api/config/nodes", "/api/config/nodes"),
        ("/api/config/nodes/demo", "/api/config/nodes/{nodeId}"), ("/api/config/system", "/api/config/system"),
        ("/api/charts?range=5y", "/api/charts"),
    ]
    for url, path in reads:
        check(path, "GET", await client.get(url))


async def test_write_responses_match_schemas(client: httpx.AsyncClient, sim: Any) -> None:
    from .test_nodes import pve_body

    check("/api/config/nodes", "POST", await client.post("/api/config/nodes", json=pve_body(sim)))
    check("/api/config/nodes", "POST", await client.post("/api/config/nodes", json=pve_body(sim)))  # 409
    check("/api/config/nodes", "POST", await client.post("/api/config/nodes", json={"type": "pve"}))  # 400
    check("/api/config/nodes/{nodeId}", "PUT", await client.put("/api/config/nodes/lab", json={"enabled": False}))
    check("/api/config/nodes/test-connection", "POST",
          await client.post("/api/config/nodes/test-connection", json={**pve_body(sim), "name": "probe"}))
    check("/api/config/system", "POST", await client.post("/api/config/system", json={"theme": "light"}))
    check("/api/config/system", "POST", await client.post("/api/config/system", json={"theme": 3}))
    deleted = await client.delete("/api/config/nodes/lab")
    assert deleted.status_code == 204
    check("/api/config/nodes/{nodeId}", "DELETE", await client.delete("/api/config/nodes/lab"))


# Operations fuzzed by schemathesis: the read endpoints, node removal and system settings. Node
# creation, updates and connection tests are left out because generated hosts would make the daemon
# open connections to arbitrary addresses, and other areas' operations (webhook tests, update checks)
# reach external servers.
FUZZED_OPERATIONS = {
    **{path: ("get",) for path in (
        "/api/health", "/api/version", "/api/state", "/api/plugins", "/api/charts", "/api/storage-charts",
        "/api/storage/", "/api/storage/{nodeId}", "/api/backups", "/api/backups/unified", "/api/backups/pve",
        "/api/backups/pbs", "/api/snapshots", "/api/config/nodes",
    )},
    "/api/config/nodes/{nodeId}": ("get", "delete"),
    "/api/config/system": ("get", "post"),
}


def fuzzed_document() -> dict[str, Any]:
    """Return the OpenAPI document cut down to ``FUZZED_OPERATIONS``."""
    doc = document()
    paths = {}
    for path, methods in FUZZED_OPERATIONS.items():
        item = doc["paths"][path]
        paths[path] = {key: value for key, value in item.items() if key in methods or key == "parameters"}
    doc["paths"] = paths
    return doc


async def test_schemathesis_finds_no_server_errors(live: Daemon, tmp_path: Path) -> None:
    """Fuzz the API's own operations against the live server: no 5xx, every response as documented.

    Schemathesis reads a copy of the document cut down to ``FUZZED_OPERATIONS``, so
    it cannot reach any other operation. About 300 requests, under the general rate
    limit of 500 requests per minute per client.
    """
    import json

    executable = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if executable is None:
        pytest.skip("schemathesis is not installed; install the test extras")
    schema_file = tmp_path / "openapi.json"
    schema_file.write_text(json.dumps(fuzzed_document()))
    result = await trio.run_process(
        [
            executable, "run", str(schema_file), "--url", live.bound_urls[0],
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
            "response_schema_conformance",
            "--max-examples", "10", "--phases", "coverage,fuzzing", "--seed", "7", "--no-color",
            # Generous, because settings writes fsync and a busy CI disk can take seconds.
            "--request-timeout", "60",
        ],
        check=False, capture_stdout=True, capture_stderr=True,
    )
    output = result.stdout.decode() + result.stderr.decode()
    assert result.returncode == 0, output
    assert "18 selected" in output, output
    assert re.search(r"\d+ generated, \d+ passed", output), output


async def test_plugin_blueprint_paths_are_merged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from quart import Blueprint

    from pulse_core.web import openapi

    from pulse_core.web.app import create_app

    from .conftest import make_daemon

    monkeypatch.setattr(openapi, "PATHS", dict(openapi.PATHS))  # keep the merge out of other tests
    daemon = make_daemon(tmp_path)
    extra = Blueprint("extra", __name__)

    @extra.get("/api/extra/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    extra.openapi_paths = {"/api/extra/ping": {"get": {"summary": "Ping", "responses": {"200": {"description": "ok"}}}}}
    daemon.plugins.blueprints = lambda context: [extra]  # type: ignore[method-assign]
    app = create_app(daemon)

    assert document()["paths"]["/api/extra/ping"]["get"]["summary"] == "Ping"
    assert is_core_or_described(app, next(r for r in app.url_map.iter_rules() if r.rule == "/api/extra/ping"))

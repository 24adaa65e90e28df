"""openapi.json: it documents exactly the routes there are, and real traffic matches it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import flask
import pytest
from flask import Flask, Response, jsonify
from jsonschema import Draft202012Validator
from sqlalchemy.orm import Session

from casework.recipients import unit_recipients
from casework.sealing import NewCaseKeys, seal_submission
from tests.submit.test_api_followup import followup_traffic
from tests.submit.test_api_support import (
    API_PREFIX,
    SPEC,
    SPEC_PATH,
    Api,
    Exchanges,
    api,
    check_exchange,
    envelope_of,
    openapi_checked,
    pending_files,
    resolve,
    seal_file,
    spec_path,
)
from tests.worlds import World

__all__ = ["api", "openapi_checked"]  # fixtures
pytestmark = pytest.mark.usefixtures("openapi_checked")

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def routes(app: Flask) -> dict[tuple[str, str], str]:
    """(OpenAPI path, method) -> endpoint for every rule under /api/v1."""
    found = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API_PREFIX + "/"):
            continue
        methods = set(rule.methods or ()) - {"OPTIONS"}
        if "GET" in methods:
            methods.discard("HEAD")  # Flask's automatic HEAD for a GET
        for method in methods:
            found[(spec_path(rule.rule), method.lower())] = rule.endpoint
    return found


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def schemas(node: Any) -> Iterator[dict[str, Any]]:
    """Every top-level JSON Schema in the document (not the subschemas inside them)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "schema" and isinstance(value, dict):
                yield value
            elif key == "schemas" and isinstance(value, dict):
                yield from value.values()
            else:
                yield from schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from schemas(value)


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def test_every_api_route_is_documented_with_its_methods_and_nothing_else(app: Flask) -> None:
    documented = {(path, method) for path, method, _ in operations()}
    assert set(routes(app)) == documented


def test_operation_ids_are_the_endpoint_names(app: Flask) -> None:
    ids = {(path, method): op["operationId"] for path, method, op in operations()}
    for place, endpoint in routes(app).items():
        assert "api." + ids[place] == endpoint


def test_the_document_is_openapi_3_1_and_its_schemas_are_valid_json_schema() -> None:
    assert SPEC["openapi"].startswith("3.1.")
    assert SPEC["servers"] == [{"url": API_PREFIX}]
    found = list(schemas(SPEC))
    assert len(found) > len(SPEC["components"]["schemas"])
    for schema in found:
        Draft202012Validator.check_schema(schema)


def test_every_reference_resolves() -> None:
    for ref in refs(SPEC):
        assert ref.startswith("#/")
        assert resolve({"$ref": ref})


def test_every_refusal_is_documented_as_the_error_object() -> None:
    for _path, _method, operation in operations():
        for status, response in operation["responses"].items():
            content = resolve(response).get("content")
            if int(status) >= 400:
                assert content == {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                }


def test_the_document_is_served(api: Api) -> None:
    response = api.client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == json.loads(SPEC_PATH.read_text(encoding="utf-8"))


def test_real_traffic_of_every_operation_matches_the_document(
    api: Api, session: Session, world: World, openapi_checked: Exchanges
) -> None:
    """One successful exchange per operation, each checked by ``openapi_checked``."""
    keys = NewCaseKeys()
    file = seal_file(keys.case_key, keys.case_id, b"evidence", "a.txt", "text/plain", keys.signer)
    submission = seal_submission(
        keys,
        unit_recipients(session, world.unit),
        category="land",
        report={"what": "x"},
        identity=None,
        attachments=pending_files(file.meta),
    )
    session.commit()
    assert api.client.get("/api/v1/recipients").status_code == 200
    assert api.client.get("/api/v1/openapi.json").status_code == 200
    abandoned = api.create_upload(10)
    assert api.client.delete(f"/api/v1/uploads/{abandoned}", headers=api.headers).status_code == 204
    token = api.upload(file.stream)
    assert api.head(token).status_code == 200
    response = api.post(
        "/reports", envelope_of(submission, api.solution("report"), [(token, file.meta)])
    )
    assert response.status_code == 201
    followup_traffic(api, session, world)
    documented = {(path, method) for path, method, _ in operations()}
    assert documented == openapi_checked.operations


def test_the_checker_notices_what_contradicts_the_document(app: Flask) -> None:
    def problems(path: str, method: str, response: Response, body: Any = None) -> list[str]:
        with app.test_request_context(path, method=method, json=body):
            return check_exchange(flask.request, response)

    with app.app_context():
        good = jsonify(challenge="A" * 51, difficulty=4)
        wrong_field = jsonify(challenge="short", difficulty=4)
        extra_field = jsonify(challenge="A" * 51, difficulty=4, hint="none")
    assert problems("/api/v1/pow", "POST", good, {"purpose": "report"}) == []
    assert problems("/api/v1/pow", "POST", wrong_field, {"purpose": "report"})
    assert problems("/api/v1/pow", "POST", extra_field, {"purpose": "report"})
    assert problems("/api/v1/pow", "POST", good, {"purpose": "lunch"})  # the request too
    assert problems("/api/v1/pow", "POST", Response(status=418), {"purpose": "report"})
    assert problems("/api/v1/uploads/" + "A" * 43, "HEAD", Response(status=200))  # no headers
    assert problems("/api/v1/uploads/" + "A" * 43, "DELETE", Response(b"{}", status=204))

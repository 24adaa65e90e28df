"""Shared helpers for the JSON API tests (no tests of its own).

- ``Api``: a test client with a CSRF token, proof-of-work solving and upload helpers;
- envelope builders: a report sealed the way the browser does it (protocol 2: every record
  bound to its place and signed with the reporter's key, docs/crypto.md §13);
- ``openapi_checked``: a fixture that validates every /api/v1 exchange of a test against
  ``openapi.json`` (status documented, response body and headers, and the request body of
  every successful call), and fails the test on any mismatch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flask
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from flask import Flask, Request, Response
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

import crypto
from casework import records
from casework.intake import AttachmentIn, Submission
from casework.records import Signer, Trust
from crypto.encoding import b64u_encode
from store.blobs import BlobStore
from store.models import Attachment, Case, WrapPurpose
from submit import pow

SPEC_PATH = Path(__file__).resolve().parents[2] / "submit" / "openapi.json"
SPEC: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
SPEC_URI = "urn:minhbach:submit:openapi"
REGISTRY: Registry[Any] = Registry().with_resource(
    SPEC_URI, Resource.from_contents(SPEC, default_specification=DRAFT202012)
)
API_PREFIX = "/api/v1"
OFFSET_STREAM = "application/offset+octet-stream"


# --- a client that speaks the API ---------------------------------------------------------


def csrf_token(app: Flask, client: FlaskClient) -> str:
    """A CSRF token, with its session value put into ``client``'s cookie jar."""
    with app.test_request_context():
        token: str = generate_csrf()
        values = dict(flask.session)
    with client.session_transaction() as session:
        session.update(values)
    return token


@dataclass
class Api:
    app: Flask
    client: FlaskClient
    token: str = ""

    def __post_init__(self) -> None:
        self.token = csrf_token(self.app, self.client)

    @property
    def headers(self) -> dict[str, str]:
        return {"X-CSRFToken": self.token}

    def post(self, path: str, document: Any) -> TestResponse:
        return self.client.post(API_PREFIX + path, json=document, headers=self.headers)

    def solution(self, purpose: str) -> str:
        response = self.post("/pow", {"purpose": purpose})
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        return pow.solve(body["challenge"], body["difficulty"])

    def create_upload(self, size: int) -> str:
        response = self.post("/uploads", {"size": size, "pow": self.solution("upload")})
        assert response.status_code == 201, response.get_data(as_text=True)
        token: str = response.get_json()["id"]
        return token

    def head(self, token: str) -> TestResponse:
        return self.client.head(f"{API_PREFIX}/uploads/{token}")

    def patch(self, token: str, offset: int, data: bytes) -> TestResponse:
        return self.client.patch(
            f"{API_PREFIX}/uploads/{token}",
            data=data,
            headers={**self.headers, "Upload-Offset": str(offset), "Content-Type": OFFSET_STREAM},
        )

    def upload(self, data: bytes, piece: int = 50_000) -> str:
        """Create an upload and send ``data`` in pieces; returns the upload id."""
        token = self.create_upload(len(data))
        for start in range(0, len(data), piece):
            response = self.patch(token, start, data[start : start + piece])
            assert response.status_code == 204, response.get_data(as_text=True)
        return token


# --- envelopes as a browser makes them ----------------------------------------------------


@dataclass
class SealedFile:
    stream: bytes
    meta: bytes


def seal_file(
    case_key: bytes, case_id: str, data: bytes, name: str, type_: str, signer: Signer
) -> SealedFile:
    """A file as the browser encrypts it: the stream, and its FILE_META signed by ``signer``
    (the reporter's, derived from the code)."""
    encryptor = crypto.FileEncryptor(case_key, case_id)
    stream = b"".join(crypto.encrypt_stream(encryptor, [data]))
    meta = records.seal_file_meta(case_key, case_id, encryptor.metadata(name, type_), signer)
    return SealedFile(stream, meta)


def pending_files(*metas: bytes) -> list[AttachmentIn]:
    """Files a report will carry, known by their FILE_META only until the uploads are
    claimed: what ``seal_submission`` needs to name them in the report's place."""
    return [AttachmentIn(blob_id="", meta=meta, stored_size=0) for meta in metas]


def envelope_of(
    submission: Submission, pow_solution: str, attachments: Sequence[tuple[str, bytes]] = ()
) -> dict[str, Any]:
    """The JSON envelope for a sealed ``Submission``; attachments are (upload id, meta),
    and the report must name their metas (``pending_files``) to be accepted."""
    return {
        "case_id": submission.case_id,
        "category": submission.category,
        "report": b64u_encode(submission.report),
        "identity": None if submission.identity is None else b64u_encode(submission.identity),
        "reporter_public_key": b64u_encode(submission.reporter_public_key),
        "reporter_signing_key": b64u_encode(submission.reporter_signing_key),
        "lookup_token": b64u_encode(submission.lookup_token),
        "wraps": [
            {
                "recipient": wrap.recipient.value,
                "inspector_id": wrap.inspector_id,
                "purpose": wrap.purpose.value,
                "envelope": b64u_encode(wrap.envelope),
            }
            for wrap in submission.wraps
        ],
        "attachments": [
            {"upload": upload, "meta": b64u_encode(meta)} for upload, meta in attachments
        ],
        "excluded": sorted(submission.excluded),
        "protection": [
            [person.value, kind.value] for person, kind in sorted(submission.protection)
        ],
        "pow": pow_solution,
    }


def case_key_of(case: Case, inspector_id: int, private: X25519PrivateKey) -> bytes:
    wrap = next(
        w
        for w in case.key_wraps
        if w.inspector_id == inspector_id and w.purpose is WrapPurpose.CASE_KEY
    )
    return crypto.unwrap(wrap.wrapped, private, crypto.Purpose.CASE_KEY, case.public_id)


def open_attachment(
    store: BlobStore, case: Case, case_key: bytes, attachment: Attachment
) -> tuple[crypto.FileMeta, bytes]:
    """A file as a reader opens it: its description signed by its author and in its place."""
    meta, trust = records.open_file_meta(case_key, case, attachment)
    assert meta is not None
    assert trust is Trust.SIGNED
    with store.open_reader(attachment.blob_id) as reader:
        pieces = crypto.read_pieces(reader)
        data = b"".join(crypto.decrypt_stream(case_key, case.public_id, meta, pieces))
    return meta, data


# --- OpenAPI validation of every exchange -------------------------------------------------


def spec_path(rule: str) -> str:
    """A Werkzeug rule under /api/v1 as an OpenAPI path: /a/<b> and /a/<int:b> -> /a/{b}."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.removeprefix(API_PREFIX))


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (responses, parameters, headers) to its target."""
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def schema_errors(location: tuple[str, ...], instance: Any) -> list[str]:
    """Validate ``instance`` against the schema at ``location`` inside the spec."""
    validator = Draft202012Validator(
        {"$ref": f"{SPEC_URI}#/{pointer(*location)}"}, registry=REGISTRY
    )
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(instance)
    ]


def operation_of(method: str, rule: Rule) -> tuple[str, str, dict[str, Any]] | None:
    item = SPEC["paths"].get(spec_path(rule.rule))
    if item is None:
        return None
    name = method.lower()
    if name == "head" and "head" not in item:
        name = "get"  # Flask answers HEAD for every GET
    operation = item.get(name)
    return None if operation is None else (spec_path(rule.rule), name, operation)


def check_exchange(request: Request, response: Response) -> list[str]:
    """Everything about this exchange that contradicts the spec (empty if it conforms)."""
    if not request.path.startswith(API_PREFIX + "/") or request.url_rule is None:
        return []
    where = f"{request.method} {request.path} -> {response.status_code}"
    found = operation_of(request.method, request.url_rule)
    if found is None:
        return [f"{where}: operation not documented"]
    path, method, operation = found
    status = str(response.status_code)
    if status not in operation["responses"]:
        return [f"{where}: status not documented"]
    problems = _response_problems(path, method, status, operation, response)
    if response.status_code < 300:
        problems += _request_problems(path, method, operation, request)
    return [f"{where}: {problem}" for problem in problems]


def _response_problems(
    path: str, method: str, status: str, operation: dict[str, Any], response: Response
) -> list[str]:
    documented = resolve(operation["responses"][status])
    problems = [
        f"header {name} missing"
        for name, header in documented.get("headers", {}).items()
        if resolve(header).get("required") and name not in response.headers
    ]
    content = documented.get("content")
    if content is None:
        if response.get_data():
            problems.append("a body where none is documented")
        return problems
    mimetype = str(response.mimetype)
    if mimetype not in content:
        return [*problems, f"content type {mimetype} not documented"]
    if method == "head":
        return problems
    location: tuple[str, ...] = ("paths", path, method, "responses", status)
    if "$ref" in operation["responses"][status]:
        location = tuple(operation["responses"][status]["$ref"].removeprefix("#/").split("/"))
    body = response.get_json()
    return problems + schema_errors((*location, "content", mimetype, "schema"), body)


def _request_problems(
    path: str, method: str, operation: dict[str, Any], request: Request
) -> list[str]:
    body = operation.get("requestBody")
    if body is None:
        return []
    if request.mimetype not in body["content"]:
        return [f"request content type {request.mimetype} not documented"]
    if request.mimetype != "application/json":
        return []
    location = ("paths", path, method, "requestBody", "content", "application/json", "schema")
    return schema_errors(location, request.get_json())


@dataclass
class Exchanges:
    seen: list[str] = field(default_factory=list)  # "METHOD /path" of every request
    operations: set[tuple[str, str]] = field(default_factory=set)  # (spec path, method)
    problems: list[str] = field(default_factory=list)


@pytest.fixture
def openapi_checked(app: Flask) -> Iterator[Exchanges]:
    """Check every API exchange of the test against the spec; fail the test on a mismatch."""
    exchanges = Exchanges()

    @app.after_request
    def _check(response: Response) -> Response:
        request = flask.request
        exchanges.seen.append(f"{request.method} {request.path}")
        found = None if request.url_rule is None else operation_of(request.method, request.url_rule)
        if found is not None:
            exchanges.operations.add(found[:2])
        exchanges.problems.extend(check_exchange(request, response))
        return response

    yield exchanges
    assert exchanges.problems == []


@pytest.fixture
def api(app: Flask) -> Api:
    return Api(app, app.test_client())

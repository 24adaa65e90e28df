"""schemathesis against the served OpenAPI document: no 5xx, every answer within the contract.

For every operation of ``submit/openapi.json`` schemathesis generates requests that fit the
schema and requests that break it (its examples, coverage and fuzzing phases) and sends each
in-process to the app (WSGI), as three callers: one without an anti-forgery token, one
with a token (and a solved proof of work where the body asks for one), and, for the
follow-up operations, one with a token in an open follow-up session. Every answer must
pass the checks below: not a server error, a status the operation documents, the
documented content type, headers and body schema.

The document fuzzed is the file; a test checks that it is the one the app serves.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from submit import pow
from tests.reliability.test_hostile_input import (
    app,
    settings_,
    start_followup,
    story,
)
from tests.submit.test_api_support import API_PREFIX, SPEC_PATH, csrf_token
from tests.submit.test_followup_pages import Story

__all__ = ["app", "settings_", "story"]  # fixtures

OFFSET_STREAM = "application/offset+octet-stream"
SESSION_COOKIE = "mb_submit"
FUZZED_EXAMPLES = 25  # per operation in the fuzzing phase; examples and coverage come on top
Operation = APIOperation[Any, Any, Any, Any]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# The proof of work each body's "pow" pays for, by path.
POW_PURPOSES = {
    "/uploads": pow.Purpose.UPLOAD,
    "/reports": pow.Purpose.REPORT,
    "/followup/session": pow.Purpose.FOLLOWUP,
}

# Upload bodies are opaque ciphertext: any bytes, sent as they are.
schemathesis.openapi.media_type(OFFSET_STREAM, st.binary(max_size=2048))
SCHEMA = schemathesis.openapi.from_path(SPEC_PATH)
SCHEMA.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=FUZZED_EXAMPLES,
    # The token and the session cookie are the callers' own (``send``), never generated.
    with_security_parameters=False,
)
SCHEMA.config.phases.update(phases=["examples", "coverage", "fuzzing"])


def test_the_fuzzed_document_is_the_one_the_app_serves(app: Flask) -> None:
    """The schema below is loaded from the file: it must be the document the app serves."""
    response = app.test_client().get(f"{API_PREFIX}/openapi.json")
    assert response.status_code == 200
    assert response.get_data() == SPEC_PATH.read_bytes()


def callers(case: Case[Operation]) -> list[str]:
    """The callers that send ``case``: the follow-up operations are also sent in a session."""
    path = case.operation.path
    states = ["anonymous", "token"]
    if path.startswith("/followup/") and path != "/followup/session":
        states.append("session")
    return states


def solution(client: FlaskClient, headers: dict[str, str], purpose: pow.Purpose) -> str:
    """A solved proof of work for ``purpose``, as the page's script gets one."""
    response = client.post(f"{API_PREFIX}/pow", json={"purpose": purpose.value}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    challenge = response.get_json()
    return pow.solve(challenge["challenge"], challenge["difficulty"])


def send(case: Case[Operation], app: Flask, story: Story, state: str) -> None:
    """Send ``case`` as the caller ``state`` and check the answer."""
    client = app.test_client()
    headers: dict[str, str] = {}
    if state != "anonymous":
        token = csrf_token(app, client)
        if state == "session":
            token = start_followup(app, client, story.case.public_id)
        headers["X-CSRFToken"] = token
        purpose = POW_PURPOSES.get(case.operation.path)
        if purpose is not None and isinstance(case.body, dict) and "pow" in case.body:
            case.body["pow"] = solution(client, headers, purpose)
    cookie = client.get_cookie(SESSION_COOKIE)
    cookies = {} if cookie is None else {SESSION_COOKIE: cookie.value}
    case.call_and_validate(app=app, headers=headers, cookies=cookies, checks=CHECKS)


@SCHEMA.parametrize()
@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_answers_within_its_contract(
    case: Case[Operation], app: Flask, story: Story
) -> None:
    """Whatever schemathesis sends, with or without a token, a proof of work or a session:
    never a 5xx, and the status, content type, headers and body the document gives."""
    for state in callers(case):
        send(case, app, story, state)

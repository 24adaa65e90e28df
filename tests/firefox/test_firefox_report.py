"""The tipster's JavaScript path in Firefox ESR, Tor Browser's engine: a report with a file
encrypted in the page, going through the form's steps (Next checks each one first), the
code on one line on a 320-pixel screen, then a reply with a file from the follow-up page.

The server records every request it receives, URL, headers and body, and none may carry
what the tipster wrote, a file's name or content, or the follow-up code (in any of its
spellings): the same check as tests/browser/test_report_js.py makes in Chromium, made on the
server's side since Firefox's driver does not hand over request bodies. The unit's
inspector must then open the report, the reply and both files.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

import crypto
from store.blobs import FilesystemBlobStore
from store.models import Party
from tests.browser import helpers
from tests.browser.helpers import Recorder, Sent
from tests.browser.test_report_js import FILE_CANARY, file_bytes
from tests.firefox.conftest import run_driver
from tests.live import serve
from tests.submit.test_report_form import case_key
from tests.worlds import World

pytestmark = pytest.mark.browser

DRIVER = Path(__file__).resolve().parent / "report-in-firefox.mjs"
FIELDS = {
    "what": "Can bo thu tien ngoai quy dinh CANARYFFWHAT31",
    "who": "Ong Pham Van D CANARYFFWHO32",
}
FILE_NAME = "bien ban CANARYFFNAME33.pdf"
FILE = file_bytes(150 * 1024 + 77, b"firefox")
REPLY = "Toi gui them anh chup CANARYFFREPLY34"
REPLY_NAME = "anh CANARYFFNAME35.jpg"
REPLY_FILE = file_bytes(7000, b"firefox-reply")

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
Wsgi = Callable[[Environ, StartResponse], Iterable[bytes]]


def recording(app: Wsgi, recorder: Recorder) -> Wsgi:
    """``app``, recording each request as it arrived: what the browser sent."""

    def wsgi(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        query = environ.get("QUERY_STRING", "")
        url = environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
        headers = {
            name.removeprefix("HTTP_").replace("_", "-").lower(): str(value)
            for name, value in environ.items()
            if name.startswith("HTTP_") or name == "CONTENT_TYPE"
        }
        recorder.requests.append(Sent(environ["REQUEST_METHOD"], url, headers, body))
        return app(environ, start_response)

    return wsgi


@pytest.fixture
def recorded(submit_app: Flask) -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()
    with serve(recording(submit_app, recorder)) as base:
        yield base, recorder


def test_a_report_and_a_reply_leave_firefox_encrypted_and_open_for_the_inspector(
    recorded: tuple[str, Recorder],
    session: Session,
    world: World,
    store: FilesystemBlobStore,
    tmp_path: Path,
) -> None:
    base_url, recorder = recorded
    (tmp_path / FILE_NAME).write_bytes(FILE)
    (tmp_path / REPLY_NAME).write_bytes(REPLY_FILE)
    given = {
        "fields": FIELDS,
        "file": {"name": FILE_NAME, "path": str(tmp_path / FILE_NAME)},
        "reply": {"text": REPLY, "file": {"name": REPLY_NAME, "path": str(tmp_path / REPLY_NAME)}},
    }
    report = run_driver(DRIVER, base_url, json.dumps(given))

    assert report["errors"] == []
    assert report["version"].lower().startswith("firefox/")
    assert "encrypted on this device" in report["mode"]
    assert report["refused"] == "Choose whether you give your name or report anonymously."
    assert report["steps"] == ["step-what-title", "step-protection-title", "step-send-title"]
    code = crypto.FollowUpCode.parse(report["code"])
    assert report["reference"].startswith("MB-")
    on_phone = report["codeOnPhone"]  # one line, inside a 320-pixel screen
    assert on_phone["lines"] < 1.5, on_phone
    assert on_phone["right"] <= on_phone["width"], on_phone
    assert on_phone["scroll"] <= 0, on_phone
    assert REPLY in report["replied"]
    # The case page's order: status and messages, then the actions, each behind its entry.
    order = report["order"]
    assert order.index("followup-js-status-heading") < order.index("followup-js-messages-heading")
    assert order.index("followup-js-messages-heading") < order.index("followup-js-actions-heading")
    assert (report["entryOpened"], report["entryClosedAfter"]) == (True, True)

    secrets = [text.encode() for text in (*FIELDS.values(), REPLY)]
    secrets += [b"CANARYFF", FILE_CANARY, FILE_NAME.encode(), REPLY_NAME.encode()]
    secrets += [report["code"].encode(), report["code"].replace("-", "").encode()]
    secrets += [code.lookup_token().hex().encode()]
    helpers.assert_not_sent(recorder, secrets)
    assert any(sent.method == "PATCH" for sent in recorder.requests)  # the files, uploaded

    case = helpers.the_case(session)
    assert case.submitted_with_js
    key = case_key(case, world.people["lan"].id, world.key_of("lan"))
    assert {name: helpers.open_report(case, key)[name] for name in FIELDS} == FIELDS
    opened = {meta.name: data for meta, data in (
        helpers.open_file(store, case, key, attachment) for attachment in case.attachments
    )}  # fmt: skip
    assert opened == {FILE_NAME: FILE, REPLY_NAME: REPLY_FILE}
    assert [m.author for m in case.messages].count(Party.REPORTER) >= 1

"""Steps the reliability tests share: the database of an instance, a sealed report, a
review sign-in, and the report page's script (anti-forgery header, proofs of work,
uploads) over real HTTP."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casework import intake
from casework.recipients import unit_recipients
from casework.sealing import NewCaseKeys, seal_submission
from store.blobs import FilesystemBlobStore
from store.db import make_engine, session_factory
from store.models import Base
from submit import pow
from tests.instances import Instance
from tests.review.conftest import Account
from tests.visitor import FORM_TOKEN, META_TOKEN, Reply, Sending, Tally, Visitor, token_in

CATEGORY = "land"


@contextlib.contextmanager
def session_of(place: Instance) -> Iterator[Session]:
    engine = make_engine(place.database_url)
    try:
        with session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def count(place: Instance, model: type[Base]) -> int:
    with session_of(place) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def store_of(place: Instance) -> FilesystemBlobStore:
    return FilesystemBlobStore(place.blob_root)


def sealed_report(
    place: Instance,
    what: str,
    keys: NewCaseKeys | None = None,
    attachments: Sequence[intake.AttachmentIn] = (),
) -> tuple[NewCaseKeys, intake.Submission]:
    """A report sealed as the browser seals it, to the unit's readers; ``attachments`` are
    the files it names (their descriptions sealed with the same ``keys`` first)."""
    keys = keys or NewCaseKeys()
    with session_of(place) as session:
        unit = session.merge(place.world.unit, load=True)
        report = {"schema": 1, "language": "en", "category": CATEGORY, "what": what}
        submission = seal_submission(
            keys,
            unit_recipients(session, unit),
            category=CATEGORY,
            report=report,
            identity=None,
            attachments=attachments,
        )
        return keys, submission


def store_case(place: Instance, what: str) -> str:
    keys, submission = sealed_report(place, what)
    params = place.settings.code_kdf
    with session_of(place) as session:
        unit = session.merge(place.world.unit, load=True)
        today = datetime.now(UTC).date()
        intake.accept(session, submission, unit, intake.lookup_hash(submission, params), today)
        session.commit()
    return keys.case_id


Parts = list[tuple[str, str | bytes]]


def report_form(visitor: Visitor, canary: str, *files: bytes) -> Parts:
    """The no-JavaScript report form as a tipster fills it in, with ``files``."""
    token = token_in(visitor.get("/report"), FORM_TOKEN)
    parts: Parts = [("csrf_token", token), ("category", CATEGORY), ("what", canary)]
    return parts + [("files", file) for file in files]


def evidence(canary: str, size: int) -> bytes:
    """A file of ``size`` bytes that is ``canary`` over and over."""
    return (canary.encode() * (size // len(canary) + 1))[:size]


def sign_in(
    visitor: Visitor, account: Account, token: str | None = None, expect: int | None = 303
) -> Reply:
    token = token or token_in(visitor.get("/login"), FORM_TOKEN)
    reply = visitor.post_form(
        "/login",
        [("csrf_token", token), ("username", account.username),
         ("passphrase", account.passphrase), ("code", account.code()), ("next", "/")],
    )  # fmt: skip
    if expect is not None:
        assert reply.status == expect, reply.text[:300]
    return reply


class ApiVisitor:
    """The report page's script: the anti-forgery header, proofs of work, uploads."""

    def __init__(self, base_url: str, visitor: Visitor | None = None) -> None:
        self.visitor = visitor or Visitor(base_url, Tally())
        self.token = token_in(self.visitor.get("/report"), META_TOKEN)

    def solution(self, purpose: str) -> str:
        reply = self.visitor.post_json("/api/v1/pow", {"purpose": purpose}, self.token)
        assert reply.status == 200, reply.text
        challenge = reply_json(reply)
        return pow.solve(challenge["challenge"], challenge["difficulty"])

    def create_upload(self, size: int) -> str:
        document = {"size": size, "pow": self.solution("upload")}
        reply = self.visitor.post_json("/api/v1/uploads", document, self.token)
        assert reply.status == 201, reply.text
        return str(reply_json(reply)["id"])

    def start_append(self, upload: str, offset: int, length: int) -> Sending:
        return self.visitor.start(
            "PATCH", f"/api/v1/uploads/{upload}", self._append(offset), length
        )

    def append(self, upload: str, offset: int, data: bytes) -> Reply:
        return self.visitor.request(
            "PATCH", f"/api/v1/uploads/{upload}", data, self._append(offset)
        )

    def offset(self, upload: str) -> int:
        reply = self.visitor.request("HEAD", f"/api/v1/uploads/{upload}")
        assert reply.status == 200
        return int(reply.headers["Upload-Offset"])

    def _append(self, offset: int) -> dict[str, str]:
        return {
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": str(offset),
            "X-CSRFToken": self.token,
        }


def reply_json(reply: Reply) -> dict[str, Any]:
    document = json.loads(reply.body)
    assert isinstance(document, dict)
    return document

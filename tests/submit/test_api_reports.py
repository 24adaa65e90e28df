"""POST /api/v1/reports: a browser-sealed report becomes a case, and bad input never does."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import os
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from casework import intake, records, uploads
from casework.recipients import unit_recipients
from casework.records import Signer
from casework.sealing import NewCaseKeys, report_place, seal_submission
from casework.settings import Settings
from crypto import bound, signing
from crypto.encoding import b64u_decode, b64u_encode
from crypto.places import Place
from store.blobs import FilesystemBlobStore
from store.models import (
    Case,
    InspectorRole,
    ProtectedPerson,
    ProtectionCategory,
    WrapPurpose,
)
from submit import create_app
from submit.api import reports
from tests.store.factories import add_inspector
from tests.submit.test_api_support import (
    Api,
    Exchanges,
    SealedFile,
    api,
    case_key_of,
    envelope_of,
    open_attachment,
    openapi_checked,
    pending_files,
    seal_file,
)
from tests.submit.test_report_form import open_identity, open_report
from tests.worlds import World

__all__ = ["api", "openapi_checked"]  # fixtures
pytestmark = pytest.mark.usefixtures("openapi_checked")

REPORT = {"schema": 1, "language": "vi", "category": "land", "what": "Nhận hối lộ khi cấp đất"}


@pytest.fixture
def store(settings: Settings) -> FilesystemBlobStore:
    return FilesystemBlobStore(settings.blob_path)


def sealed(
    session: Session,
    world: World,
    *,
    keys: NewCaseKeys | None = None,
    files: Sequence[bytes] = (),
    **changes: Any,
) -> tuple[NewCaseKeys, intake.Submission]:
    """A report sealed as the browser seals it; ``files`` are the FILE_META envelopes of
    the files it carries, which its signed place names (docs/crypto.md §13.3)."""
    keys = keys or NewCaseKeys()
    submission = seal_submission(
        keys,
        unit_recipients(session, world.unit),
        category="land",
        report=REPORT,
        identity=changes.pop("identity", None),
        attachments=pending_files(*files),
        excluded=changes.pop("excluded", frozenset()),
    )
    session.commit()  # end the read transaction, so later reads see the app's writes
    return keys, dataclasses.replace(submission, **changes)


def a_file(keys: NewCaseKeys, data: bytes = b"evidence", name: str = "a.txt") -> SealedFile:
    """A file of the report, encrypted and described as the browser does it."""
    return seal_file(keys.case_key, keys.case_id, data, name, "text/plain", keys.signer)


def stored_case(session: Session, case_id: str) -> Case | None:
    session.rollback()
    return session.scalars(select(Case).where(Case.public_id == case_id)).one_or_none()


def blob_files(store: FilesystemBlobStore) -> list[str]:
    return [name for _root, _dirs, names in os.walk(store.root / "blobs") for name in names]


def refusal(response: Any) -> tuple[int, str]:
    return response.status_code, response.get_json()["error"]["code"]


def test_a_sealed_report_becomes_a_case_an_inspector_can_open(
    api: Api, session: Session, world: World
) -> None:
    keys, submission = sealed(session, world)
    response = api.post("/reports", envelope_of(submission, api.solution("report")))
    assert response.status_code == 201
    assert response.get_json() == {"reference": "MB-" + keys.case_id[:8].upper()}
    case = stored_case(session, keys.case_id)
    assert case is not None
    assert (case.status, case.track.value, case.submitted_with_js) == (
        "received",
        "anonymous",
        True,
    )
    assert (case.protocol, case.reporter_signing_key) == (2, keys.signer.verifying_key)
    case_key = case_key_of(case, world.people["minh"].id, world.key_of("minh"))
    assert open_report(case, case_key) == REPORT


def test_a_report_sealed_like_the_browser_does_it(
    api: Api, session: Session, world: World, store: FilesystemBlobStore
) -> None:
    """Everything built from what GET /recipients says and the code, as the page does it:
    wraps, then records bound to their places and signed with the key the code gives
    (docs/crypto.md §13)."""
    recipients = api.client.get("/api/v1/recipients").get_json()
    minh = world.people["minh"].id
    code = crypto.FollowUpCode.generate()
    case_id, case_key, identity_key = str(uuid.uuid4()), crypto.random_key(), crypto.random_key()
    reporter_key = crypto.public_bytes(code.reporter_private_key())
    signer = Signer.reporter(code.reporter_private_key())

    def wrap(
        key: bytes, purpose: str, public_key: bytes, kind: str, reader: int | None
    ) -> dict[str, Any]:
        crypto_purpose = (
            crypto.Purpose.CASE_KEY if purpose == "case_key" else crypto.Purpose.IDENTITY_KEY
        )
        envelope = crypto.wrap(key, crypto.load_public_key(public_key), crypto_purpose, case_id)
        return {
            "recipient": kind,
            "inspector_id": reader,
            "purpose": purpose,
            "envelope": b64u_encode(envelope),
        }

    wraps = []
    for purpose, key in (("case_key", case_key), ("identity_key", identity_key)):
        for reader in recipients["readers"]:
            if reader["id"] == minh or (
                purpose == "identity_key" and reader["role"] != "custodian"
            ):
                continue
            wraps.append(
                wrap(key, purpose, b64u_decode(reader["public_key"]), "inspector", reader["id"])
            )
        wraps.append(
            wrap(key, purpose, b64u_decode(recipients["escrow"]["public_key"]), "escrow", None)
        )
        wraps.append(wrap(key, purpose, reporter_key, "reporter", None))
    data = os.urandom(5000)
    file = seal_file(case_key, case_id, data, "ảnh.jpg", "image/jpeg", signer)
    token = api.upload(file.stream)
    identity = {"schema": 1, "name": "Trần Thị Bình", "contact": "0900 000 000"}
    place = report_place(case_id, "procurement", pending_files(file.meta))
    assert place.files == (hashlib.sha256(file.meta).hexdigest(),)
    report = records.seal(case_key, crypto.Kind.REPORT, place, REPORT, signer)
    identity_place = Place(case_id, "identity", "reporter")
    sealed_identity = records.seal(
        identity_key, crypto.Kind.IDENTITY, identity_place, identity, signer
    )
    document = {
        "case_id": case_id,
        "category": "procurement",
        "report": b64u_encode(report),
        "identity": b64u_encode(sealed_identity),
        "reporter_public_key": b64u_encode(reporter_key),
        "reporter_signing_key": b64u_encode(signer.verifying_key),
        "lookup_token": b64u_encode(code.lookup_token()),
        "wraps": wraps,
        "attachments": [{"upload": token, "meta": b64u_encode(file.meta)}],
        "excluded": [minh],
        "protection": [["reporter", "job"], ["child", "life_health"]],
        "pow": api.solution("report"),
    }
    response = api.post("/reports", document)
    assert response.status_code == 201, response.get_json()

    case = stored_case(session, case_id)
    assert case is not None
    assert (case.track.value, case.category, case.urgent) == ("named", "procurement", True)
    assert [e.inspector_id for e in case.exclusions] == [minh]
    assert minh not in {w.inspector_id for w in case.key_wraps}
    assert {(p.person, p.category) for p in case.protections} == {
        (ProtectedPerson.REPORTER, ProtectionCategory.JOB),
        (ProtectedPerson.CHILD, ProtectionCategory.LIFE_HEALTH),
    }
    hoa = world.people["hoa"]
    identity_wrap = next(
        w
        for w in case.key_wraps
        if w.purpose is WrapPurpose.IDENTITY_KEY and w.inspector_id == hoa.id
    )
    opened_key = crypto.unwrap(
        identity_wrap.wrapped, world.key_of("hoa"), crypto.Purpose.IDENTITY_KEY, case_id
    )
    assert case.identity is not None
    assert open_identity(case, opened_key) == identity
    lan_key = case_key_of(case, world.people["lan"].id, world.key_of("lan"))
    assert open_report(case, lan_key) == REPORT
    assert open_attachment(store, case, lan_key, case.attachments[0])[1] == data
    assert (
        crypto.verify_lookup_token(
            code.lookup_token(), [case.lookup_hash], crypto.Argon2Params(1, 8)
        )
        == 0
    )
    # Back with the code, the page gets entry 0 and the file descriptions it names, and
    # checks them itself with the key the code gives.
    opened = api.post(
        "/followup/session",
        {
            "lookup_token": b64u_encode(code.lookup_token()),
            "pow": api.solution("followup"),
            "signing_key": b64u_encode(signer.verifying_key),
        },
    )
    assert opened.status_code == 200
    view = opened.get_json()
    assert (view["protocol"], view["report"], view["report_files"]) == (
        2,
        b64u_encode(report),
        [b64u_encode(file.meta)],
    )
    assert bound.verify_bound(crypto.Kind.REPORT, report, signer.verifying_key) == place


# --- every bad input is a clear 4xx ------------------------------------------------------

Mutation = Callable[[dict[str, Any], NewCaseKeys], None]


def put(name: str, value: Any) -> Mutation:
    return lambda document, _keys: document.__setitem__(name, value)


def drop(name: str) -> Mutation:
    return lambda document, _keys: document.pop(name)


def in_first_wrap(name: str, value: Any) -> Mutation:
    return lambda document, _keys: document["wraps"][0].__setitem__(name, value)


FAKE_META = b64u_encode(b"\x02\x05" + bytes(1200))  # a FILE_META header, contents unread
WRONG_KIND = b64u_encode(b"\x02\x03" + bytes(1200))
FUTURE_VERSION = b64u_encode(b"\x03\x02" + bytes(1200))
SHORT_WRAP = b64u_encode(b"\x01\x01" + bytes(40))


def upper_case_id(document: dict[str, Any], _keys: NewCaseKeys) -> None:
    document["case_id"] = document["case_id"].upper()


def padded_report(document: dict[str, Any], _keys: NewCaseKeys) -> None:
    document["report"] += "="


def duplicated_wrap(document: dict[str, Any], _keys: NewCaseKeys) -> None:
    document["wraps"].append(copy.deepcopy(document["wraps"][0]))


def attachment(upload: object, meta: str | None = None) -> Mutation:
    """One attachment, named by the report as the browser would name it: ``meta`` as
    given (b64u), or a real FILE_META signed by the reporter."""

    def mutate(document: dict[str, Any], keys: NewCaseKeys) -> None:
        described = a_file(keys).meta if meta is None else b64u_decode(meta)
        place = report_place(keys.case_id, document["category"], pending_files(described))
        report = records.seal(keys.case_key, crypto.Kind.REPORT, place, REPORT, keys.signer)
        document["report"] = b64u_encode(report)
        document["attachments"] = [{"upload": upload, "meta": b64u_encode(described)}]

    return mutate


BAD_FIELDS: dict[str, tuple[Mutation, int, str]] = {
    "case id of the wrong type": (put("case_id", 5), 400, "malformed_field"),
    "case id not a UUID": (put("case_id", "case-1"), 400, "malformed_case_id"),
    "upper-case case id": (upper_case_id, 400, "malformed_case_id"),
    "missing report": (drop("report"), 400, "malformed_field"),
    "report not b64u": (put("report", "not b64u!"), 400, "malformed_field"),
    "report padded b64u": (padded_report, 400, "malformed_field"),
    "report of the wrong kind": (put("report", WRONG_KIND), 400, "malformed_envelope"),
    "report of a future version": (put("report", FUTURE_VERSION), 400, "malformed_envelope"),
    "short reporter key": (put("reporter_public_key", "AAAA"), 400, "malformed_field"),
    "missing signing key": (drop("reporter_signing_key"), 400, "malformed_field"),
    "short signing key": (put("reporter_signing_key", "AAAA"), 400, "malformed_field"),
    "lookup token not text": (put("lookup_token", 12), 400, "malformed_field"),
    "identity not text": (put("identity", 12), 400, "malformed_field"),
    "unknown category": (put("category", "weather"), 400, "unknown_category"),
    "unknown field": (put("colour", "blue"), 400, "unknown_field"),
    "wraps not a list": (put("wraps", {}), 400, "malformed_field"),
    "no wraps": (put("wraps", []), 409, "recipients_changed"),
    "a wrap missing": (lambda d, _keys: d["wraps"].pop(), 409, "recipients_changed"),
    "a wrap twice": (duplicated_wrap, 409, "recipients_changed"),
    "a wrap to an unknown kind": (in_first_wrap("recipient", "boss"), 400, "malformed_field"),
    "a wrap of an unknown purpose": (in_first_wrap("purpose", "other"), 400, "malformed_field"),
    "a wrap with a text id": (in_first_wrap("inspector_id", "7"), 400, "malformed_field"),
    "a wrap with an extra field": (in_first_wrap("note", "x"), 400, "malformed_field"),
    "a wrap without an id": (
        lambda d, _keys: d["wraps"][0].pop("inspector_id"),
        400,
        "malformed_field",
    ),
    "a wrap that is not an object": (put("wraps", ["x"]), 400, "malformed_field"),
    "a short wrap": (in_first_wrap("envelope", SHORT_WRAP), 400, "malformed_envelope"),
    "a wrap not b64u": (in_first_wrap("envelope", "%%"), 400, "malformed_field"),
    "excluded text": (put("excluded", ["7"]), 400, "malformed_field"),
    "excluded booleans": (put("excluded", [True]), 400, "malformed_field"),
    "excluded stranger": (put("excluded", [999_999]), 409, "unknown_exclusion"),
    "protection not pairs": (put("protection", [["reporter"]]), 400, "malformed_field"),
    "protection of a stranger": (put("protection", [["uncle", "job"]]), 400, "malformed_field"),
    "protection of no kind": (put("protection", [["reporter", "luck"]]), 400, "malformed_field"),
    "an attachment without meta": (
        put("attachments", [{"upload": "A" * 43}]),
        400,
        "malformed_field",
    ),
    "an attachment of the wrong type": (attachment(5), 400, "malformed_field"),
    "attachment meta of the wrong kind": (
        attachment("A" * 43, WRONG_KIND),
        400,
        "malformed_envelope",
    ),
    "too many attachments": (
        put("attachments", [{"upload": str(n), "meta": FAKE_META} for n in range(101)]),
        400,
        "too_many_files",
    ),
    "an unknown upload": (attachment("A" * 43), 409, "upload_not_found"),
    "no proof of work": (drop("pow"), 400, "pow_required"),
    "a made-up proof of work": (put("pow", "AAAA.1"), 400, "pow_invalid"),
}


@pytest.mark.parametrize(
    ("mutate", "status", "code"), list(BAD_FIELDS.values()), ids=list(BAD_FIELDS)
)
def test_bad_envelopes_are_refused_clearly_and_store_nothing(
    api: Api, session: Session, world: World, mutate: Mutation, status: int, code: str
) -> None:
    keys, submission = sealed(session, world)
    document = envelope_of(submission, api.solution("report"))
    mutate(document, keys)
    response = api.post("/reports", document)
    assert refusal(response) == (status, code)
    assert response.get_json()["error"]["message"]
    assert stored_case(session, keys.case_id) is None


# --- every record is version 2, in its place, signed by the reporter (docs/crypto.md §13) --


def report_naming(
    keys: NewCaseKeys,
    metas: Sequence[bytes],
    *,
    category: str = "land",
    case_id: str | None = None,
    signer: Signer | None = None,
) -> bytes:
    place = report_place(case_id or keys.case_id, category, pending_files(*metas))
    return records.seal(keys.case_key, crypto.Kind.REPORT, place, REPORT, signer or keys.signer)


def stranger() -> Signer:
    """Someone signing as the reporter with a key the code does not give."""
    return Signer(records.REPORTER, signing.signing_key(crypto.generate_private_key()))


def file_of_version_1(
    keys: NewCaseKeys, _meta: bytes, described: crypto.FileMeta
) -> tuple[bytes, bytes]:
    """The file described as protocol 1 wrote it (unsigned), named by the report."""
    old = crypto.seal_file_meta(keys.case_key, keys.case_id, described)
    return report_naming(keys, [old]), old


def file_signed_by_another_key(
    keys: NewCaseKeys, _meta: bytes, described: crypto.FileMeta
) -> tuple[bytes, bytes]:
    forged = records.seal_file_meta(keys.case_key, keys.case_id, described, stranger())
    return report_naming(keys, [forged]), forged


# What the browser would send instead: (report, the file's FILE_META) from the keys, the
# reporter's real FILE_META and the file's description.
Misplacing = Callable[[NewCaseKeys, bytes, crypto.FileMeta], tuple[bytes, bytes]]
MISPLACED: dict[str, tuple[Misplacing, str]] = {
    "a report placed in another category": (
        lambda keys, meta, _d: (report_naming(keys, [meta], category="procurement"), meta),
        "misplaced_record",
    ),
    "a report that leaves its file out": (
        lambda keys, meta, _d: (report_naming(keys, []), meta),
        "misplaced_record",
    ),
    "a report placed in another case": (
        lambda keys, meta, _d: (report_naming(keys, [meta], case_id=str(uuid.uuid4())), meta),
        "misplaced_record",
    ),
    "a report of version 1": (
        lambda keys, meta, _d: (
            crypto.seal_json(keys.case_key, crypto.Kind.REPORT, keys.case_id, REPORT),
            meta,
        ),
        "malformed_envelope",
    ),
    "a report signed by another key": (
        lambda keys, meta, _d: (report_naming(keys, [meta], signer=stranger()), meta),
        "malformed_envelope",
    ),
    "a file description of version 1": (file_of_version_1, "malformed_envelope"),
    "a file description signed by another key": (file_signed_by_another_key, "malformed_envelope"),
}


@pytest.mark.parametrize(("misplace", "code"), list(MISPLACED.values()), ids=list(MISPLACED))
def test_a_record_not_signed_and_bound_where_it_belongs_is_refused_and_stores_nothing(
    api: Api,
    session: Session,
    world: World,
    store: FilesystemBlobStore,
    misplace: Misplacing,
    code: str,
) -> None:
    """The server opens nothing, but reads every record's place and checks its signature
    against the reporter's key before anything is stored: a report whose place names
    another category, case or set of files, or any record of version 1, is refused."""
    keys = NewCaseKeys()
    encryptor = crypto.FileEncryptor(keys.case_key, keys.case_id)
    stream = b"".join(crypto.encrypt_stream(encryptor, [b"evidence"]))
    described = encryptor.metadata("a.txt", "text/plain")
    meta = records.seal_file_meta(keys.case_key, keys.case_id, described, keys.signer)
    token = api.upload(stream)
    keys, submission = sealed(session, world, keys=keys, files=[meta])
    report, sent_meta = misplace(keys, meta, described)
    document = envelope_of(
        dataclasses.replace(submission, report=report),
        api.solution("report"),
        [(token, sent_meta)],
    )
    response = api.post("/reports", document)
    assert refusal(response) == (400, code)
    assert response.get_json()["error"]["message"]
    assert stored_case(session, keys.case_id) is None
    unclaimed = api.head(token)  # not claimed: the browser may still send it, done right
    assert (unclaimed.status_code, unclaimed.headers["Upload-Offset"]) == (200, str(len(stream)))
    assert blob_files(store) == []
    # The very same report, sealed where it belongs, is accepted.
    right = envelope_of(submission, api.solution("report"), [(token, meta)])
    assert api.post("/reports", right).status_code == 201


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"{not json", "application/json"), (b"[1, 2]", "application/json"), (b"{}", "text/plain")],
)
def test_a_body_that_is_not_a_json_object_is_refused(
    api: Api, body: bytes, content_type: str
) -> None:
    response = api.client.post(
        "/api/v1/reports", data=body, content_type=content_type, headers=api.headers
    )
    assert refusal(response) == (400, "malformed_json")


def test_an_oversized_body_is_refused_unread(api: Api) -> None:
    body = b"{" + b" " * reports.MAX_REPORT_JSON_BYTES + b"}"
    response = api.client.post(
        "/api/v1/reports", data=body, content_type="application/json", headers=api.headers
    )
    assert refusal(response) == (413, "too_large")


def test_a_body_without_a_length_is_refused(api: Api) -> None:
    response = api.client.post(
        "/api/v1/reports",
        data=b"{}",
        content_type="application/json",
        headers={**api.headers, "Transfer-Encoding": "chunked"},
    )
    assert refusal(response) == (411, "length_required")


def test_a_proof_of_work_for_uploads_does_not_pay_for_a_report(
    api: Api, session: Session, world: World
) -> None:
    _keys, submission = sealed(session, world)
    response = api.post("/reports", envelope_of(submission, api.solution("upload")))
    assert refusal(response) == (400, "pow_invalid")


def test_a_replayed_proof_of_work_is_refused(api: Api, session: Session, world: World) -> None:
    solution = api.solution("report")
    _keys, first = sealed(session, world)
    assert api.post("/reports", envelope_of(first, solution)).status_code == 201
    keys, second = sealed(session, world)
    assert refusal(api.post("/reports", envelope_of(second, solution))) == (400, "pow_replayed")
    assert stored_case(session, keys.case_id) is None


def test_the_same_case_twice_is_a_duplicate(api: Api, session: Session, world: World) -> None:
    _keys, submission = sealed(session, world)
    assert api.post("/reports", envelope_of(submission, api.solution("report"))).status_code == 201
    again = api.post("/reports", envelope_of(submission, api.solution("report")))
    assert refusal(again) == (409, "duplicate_case")


def test_a_retry_after_a_lost_answer_hears_duplicate_not_missing_uploads(
    api: Api, session: Session, world: World
) -> None:
    keys = NewCaseKeys()
    file = a_file(keys)
    keys, submission = sealed(session, world, keys=keys, files=[file.meta])
    token = api.upload(file.stream)
    assert (
        api.post(
            "/reports", envelope_of(submission, api.solution("report"), [(token, file.meta)])
        ).status_code
        == 201
    )
    again = api.post(
        "/reports", envelope_of(submission, api.solution("report"), [(token, file.meta)])
    )
    assert refusal(again) == (409, "duplicate_case")


def test_a_new_reader_since_the_page_loaded_means_recipients_changed(
    api: Api, session: Session, world: World
) -> None:
    keys, submission = sealed(session, world)
    newcomer = add_inspector(session, world.unit, "tuan.thanh-tra-tinh", InspectorRole.INSPECTOR)
    newcomer.public_key = crypto.public_bytes(crypto.generate_private_key())
    session.commit()
    response = api.post("/reports", envelope_of(submission, api.solution("report")))
    assert refusal(response) == (409, "recipients_changed")
    assert "reload" in response.get_json()["error"]["message"]
    assert stored_case(session, keys.case_id) is None


def test_an_identity_without_identity_wraps_is_refused(
    api: Api, session: Session, world: World
) -> None:
    keys, submission = sealed(session, world)
    place = Place(keys.case_id, "identity", records.REPORTER)
    identity = records.seal(
        keys.identity_key, crypto.Kind.IDENTITY, place, {"name": "B"}, keys.signer
    )
    document = envelope_of(
        dataclasses.replace(submission, identity=identity), api.solution("report")
    )
    assert refusal(api.post("/reports", document)) == (409, "recipients_changed")


def test_an_incomplete_upload_is_refused_and_kept(
    api: Api, session: Session, world: World, store: FilesystemBlobStore
) -> None:
    keys = NewCaseKeys()
    file = a_file(keys)
    keys, submission = sealed(session, world, keys=keys, files=[file.meta])
    token = api.create_upload(len(file.stream))
    api.patch(token, 0, file.stream[:100])
    response = api.post(
        "/reports", envelope_of(submission, api.solution("report"), [(token, file.meta)])
    )
    assert refusal(response) == (409, "upload_incomplete")
    assert stored_case(session, keys.case_id) is None
    assert api.head(token).headers["Upload-Offset"] == "100"  # the client can still finish it
    assert blob_files(store) == []


def test_a_failure_after_claiming_leaves_no_case_and_no_blob(
    api: Api,
    session: Session,
    world: World,
    store: FilesystemBlobStore,
    monkeypatch: pytest.MonkeyPatch,
    openapi_checked: Exchanges,
) -> None:
    keys = NewCaseKeys()
    file = a_file(keys)
    keys, submission = sealed(session, world, keys=keys, files=[file.meta])
    token = api.upload(file.stream)
    document = envelope_of(submission, api.solution("report"), [(token, file.meta)])

    def broken(*_args: object, **_kwargs: object) -> Case:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(intake, "accept", broken)
    response = api.post("/reports", document)
    assert refusal(response) == (500, "internal_error")
    # A server fault is no part of the contract: the checker rightly objects, once.
    assert openapi_checked.problems == ["POST /api/v1/reports -> 500: status not documented"]
    openapi_checked.problems.clear()
    assert stored_case(session, keys.case_id) is None
    assert blob_files(store) == []


def test_attachments_larger_than_a_report_may_be_are_given_back(
    settings: Settings, world: World, session: Session
) -> None:
    small = dataclasses.replace(settings, max_report_size=6000)
    app = create_app(small)
    app.config["TESTING"] = True
    client = Api(app, app.test_client())
    keys = NewCaseKeys()
    files = [
        seal_file(keys.case_key, keys.case_id, bytes(4000), f"{n}.bin", "x/y", keys.signer)
        for n in range(2)
    ]
    keys, submission = sealed(session, world, keys=keys, files=[f.meta for f in files])
    tokens = [client.upload(file.stream) for file in files]
    document = envelope_of(
        submission,
        client.solution("report"),
        [(t, f.meta) for t, f in zip(tokens, files, strict=True)],
    )
    assert uploads.ciphertext_limit(6000) < sum(len(f.stream) for f in files)
    assert refusal(client.post("/reports", document)) == (413, "too_large")
    assert stored_case(session, keys.case_id) is None
    assert blob_files(FilesystemBlobStore(small.blob_path)) == []
    # Claimed, then given back whole: the browser may send them again with a smaller report.
    for token, file in zip(tokens, files, strict=True):
        answer = client.head(token)
        assert answer.status_code == 200
        assert answer.headers["Upload-Offset"] == str(len(file.stream))


# --- exclusions: the same rule as the form -------------------------------------------------


@pytest.mark.parametrize(
    ("excluded", "identity", "code"),
    [
        (("lan", "minh", "hoa"), None, "excludes_every_reader"),
        (("lan", "minh", "hoa"), {"schema": 1, "name": "B"}, "excludes_every_reader"),
        (("hoa",), {"schema": 1, "name": "B"}, "excludes_every_custodian"),
    ],
)
def test_a_report_nobody_in_the_unit_could_read_is_refused(
    api: Api,
    session: Session,
    world: World,
    excluded: tuple[str, ...],
    identity: dict[str, Any] | None,
    code: str,
) -> None:
    people = frozenset(world.people[name].id for name in excluded)
    keys, submission = sealed(session, world, excluded=people, identity=identity)
    response = api.post("/reports", envelope_of(submission, api.solution("report")))
    assert refusal(response) == (400, code)
    assert "exclude" in response.get_json()["error"]["message"]
    assert stored_case(session, keys.case_id) is None


def test_a_named_report_that_leaves_the_custodian_is_accepted(
    api: Api, session: Session, world: World
) -> None:
    people = frozenset(world.people[name].id for name in ("lan", "minh"))
    keys, submission = sealed(session, world, excluded=people, identity={"schema": 1, "name": "B"})
    response = api.post("/reports", envelope_of(submission, api.solution("report")))
    assert response.status_code == 201
    assert stored_case(session, keys.case_id) is not None

"""Proof of work: challenges are authentic, bound to a purpose, short-lived and single-use."""

from __future__ import annotations

import hashlib
import time
from itertools import count

import pytest
from flask import Flask
from limits.storage import MemoryStorage

from crypto.encoding import b64u_decode, b64u_encode
from submit import pow
from submit.pow import PowError, Purpose
from tests.submit.test_api_support import Api, Exchanges, api, openapi_checked

__all__ = ["api", "openapi_checked"]  # fixtures
pytestmark = pytest.mark.usefixtures("openapi_checked")

KEY = pow.derive_key(b"\x07" * 32)
NOW = 1_800_000_000
DIFFICULTY = 8


def solved(purpose: Purpose = Purpose.REPORT, at: int = NOW) -> str:
    return pow.solve(pow.issue(KEY, purpose, at), DIFFICULTY)


def code_of(excinfo: pytest.ExceptionInfo[PowError]) -> str:
    return excinfo.value.code


def test_challenge_layout_is_version_purpose_expiry_id_and_mac() -> None:
    raw = b64u_decode(pow.issue(KEY, Purpose.UPLOAD, NOW))
    assert len(raw) == pow.CHALLENGE_SIZE == 38
    assert raw[0] == pow.VERSION
    assert raw[1] == 3  # upload
    assert int.from_bytes(raw[2:6], "big") == NOW + pow.TTL_SECONDS
    assert raw[-16:] == pow._mac(KEY, raw[:-16])
    assert len(pow.issue(KEY, Purpose.UPLOAD, NOW)) == pow.CHALLENGE_LENGTH
    assert pow.issue(KEY, Purpose.UPLOAD, NOW) != pow.issue(KEY, Purpose.UPLOAD, NOW)


def test_a_valid_solution_passes_and_has_the_zero_bits() -> None:
    solution = solved()
    digest = hashlib.sha256(solution.encode("ascii")).digest()
    assert pow.leading_zero_bits(digest) >= DIFFICULTY
    challenge_id, expiry = pow.verify(KEY, solution, Purpose.REPORT, DIFFICULTY, NOW + 1)
    assert len(challenge_id) == 16
    assert expiry == NOW + pow.TTL_SECONDS


def test_leading_zero_bits() -> None:
    assert pow.leading_zero_bits(b"\x00\x00") == 16
    assert pow.leading_zero_bits(b"\x00\x01") == 15
    assert pow.leading_zero_bits(b"\x80\x00") == 0
    assert pow.leading_zero_bits(b"\x0f\xff") == 4


def test_too_few_zero_bits_are_refused() -> None:
    challenge = pow.issue(KEY, Purpose.REPORT, NOW)
    weak = next(
        candidate
        for n in count()
        if pow.leading_zero_bits(
            hashlib.sha256((candidate := f"{challenge}.{n}").encode()).digest()
        )
        < DIFFICULTY
    )
    with pytest.raises(PowError) as excinfo:
        pow.verify(KEY, weak, Purpose.REPORT, DIFFICULTY, NOW)
    assert code_of(excinfo) == "pow_invalid"
    assert pow.verify(KEY, weak, Purpose.REPORT, 0, NOW)  # no work asked, none needed


def test_a_challenge_for_another_purpose_is_refused() -> None:
    with pytest.raises(PowError) as excinfo:
        pow.verify(KEY, solved(Purpose.UPLOAD), Purpose.REPORT, DIFFICULTY, NOW)
    assert code_of(excinfo) == "pow_invalid"


def test_an_expired_challenge_is_refused() -> None:
    solution = solved(at=NOW)
    pow.verify(KEY, solution, Purpose.REPORT, DIFFICULTY, NOW + pow.TTL_SECONDS - 1)
    with pytest.raises(PowError) as excinfo:
        pow.verify(KEY, solution, Purpose.REPORT, DIFFICULTY, NOW + pow.TTL_SECONDS)
    assert code_of(excinfo) == "pow_expired"


def test_a_forged_or_foreign_challenge_is_refused() -> None:
    raw = bytearray(b64u_decode(pow.issue(KEY, Purpose.REPORT, NOW)))
    raw[2:6] = (NOW + 10 * pow.TTL_SECONDS).to_bytes(4, "big")  # extend its life
    forged = pow.solve(b64u_encode(bytes(raw)), DIFFICULTY)
    foreign = pow.solve(pow.issue(pow.derive_key(b"other"), Purpose.REPORT, NOW), DIFFICULTY)
    for solution in (forged, foreign):
        with pytest.raises(PowError) as excinfo:
            pow.verify(KEY, solution, Purpose.REPORT, DIFFICULTY, NOW)
        assert code_of(excinfo) == "pow_invalid"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s.partition(".")[0],  # no nonce
        lambda s: s.partition(".")[0] + ".",  # empty nonce
        lambda s: s + "x" * 32,  # nonce too long
        lambda s: s.replace(".", ". "),  # a space in the nonce
        lambda s: s + "é",  # not ASCII
        lambda s: "!" + s,  # not b64u
        lambda s: s[2:],  # too short
        lambda s: "AAAA" + s,  # too long
        lambda s: "",
    ],
)
def test_malformed_solutions_are_refused(mangle: object) -> None:
    assert callable(mangle)
    with pytest.raises(PowError) as excinfo:
        pow.verify(KEY, mangle(solved()), Purpose.REPORT, 0, NOW)
    assert code_of(excinfo) == "pow_invalid"


def test_a_challenge_is_spent_once() -> None:
    ledger = MemoryStorage()
    solution = solved()
    pow.check(KEY, ledger, solution, Purpose.REPORT, DIFFICULTY, NOW)
    with pytest.raises(PowError) as excinfo:
        pow.check(KEY, ledger, solution, Purpose.REPORT, DIFFICULTY, NOW + 1)
    assert code_of(excinfo) == "pow_replayed"
    # Another nonce for the same challenge is the same challenge.
    challenge = solution.partition(".")[0]
    other = next(
        s
        for n in count(10**6)
        if pow.leading_zero_bits(hashlib.sha256((s := f"{challenge}.{n}").encode()).digest())
        >= DIFFICULTY
    )
    with pytest.raises(PowError) as excinfo:
        pow.check(KEY, ledger, other, Purpose.REPORT, DIFFICULTY, NOW + 2)
    assert code_of(excinfo) == "pow_replayed"
    pow.check(KEY, ledger, solved(), Purpose.REPORT, DIFFICULTY, NOW)  # a fresh one passes


def test_the_spent_mark_outlives_the_challenge() -> None:
    ledger = MemoryStorage()
    challenge_id, expiry = pow.verify(KEY, solved(), Purpose.REPORT, DIFFICULTY, NOW)
    pow.spend(ledger, challenge_id, expiry, NOW)
    key = "minhbach/pow/" + challenge_id.hex()
    assert ledger.get(key) == 1
    assert ledger.get_expiry(key) >= time.time() + pow.TTL_SECONDS


# --- over HTTP ---------------------------------------------------------------------------


def test_challenge_endpoint_gives_a_challenge_for_the_purpose(app: Flask, api: Api) -> None:
    response = api.post("/pow", {"purpose": "followup"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["difficulty"] == 4  # MINHBACH_POW_DIFFICULTY in the test settings
    assert b64u_decode(body["challenge"])[1] == 2  # followup


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ({"purpose": "lunch"}, "malformed_field"),
        ({"purpose": 3}, "malformed_field"),
        ({}, "malformed_field"),
        ({"purpose": "report", "extra": 1}, "unknown_field"),
    ],
)
def test_challenge_endpoint_refuses_bad_requests(api: Api, document: object, code: str) -> None:
    response = api.post("/pow", document)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code


def test_challenge_endpoint_needs_the_csrf_token(api: Api) -> None:
    response = api.client.post("/api/v1/pow", json={"purpose": "report"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf_failed"


def test_an_api_request_refuses_missing_replayed_and_expired_work(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def create(solution: object) -> str:
        document = {"size": 5000} if solution is None else {"size": 5000, "pow": solution}
        response = api.post("/uploads", document)
        return str(response.get_json().get("error", {}).get("code", response.status_code))

    assert create(None) == "pow_required"
    assert create(7) == "pow_invalid"
    solution = api.solution("upload")
    assert create(solution) == "201"
    assert create(solution) == "pow_replayed"
    assert create(api.solution("report")) == "pow_invalid"
    stale = api.solution("upload")
    monkeypatch.setattr(pow, "now", lambda: int(time.time()) + pow.TTL_SECONDS + 1)
    assert create(stale) == "pow_expired"


def test_exchanges_were_checked(api: Api, openapi_checked: Exchanges) -> None:
    api.post("/pow", {"purpose": "report"})
    assert openapi_checked.seen == ["POST /api/v1/pow"]

"""Forwarding a case to the competent body: re-wrapped keys, records, clocks, the same code."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy.orm import Session

import crypto
from casework import access, followup, records, transfer, workflow
from casework.access import NoAccess
from casework.profiles import Profile
from casework.records import Trust
from casework.transfer import TransferError
from crypto.places import Place
from store.models import Case, KeyWrap, RecipientKind, Track, WrapPurpose
from tests.casework.test_access import SealedCase, seal_case, unit_key_wraps
from tests.worlds import World, build_world

ARRIVED = date(2026, 12, 1)  # a Tuesday
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
IDENTITY = {"name": "Nguyễn Thị Bình", "contact": "0900 000 000"}
GROUNDS = "Không thuộc thẩm quyền của đơn vị"


@pytest.fixture
def district(session: Session) -> World:
    return build_world(session, "thanh-tra-huyen")


@pytest.fixture
def named(session: Session, world: World, fast_argon2: crypto.Argon2Params) -> SealedCase:
    sealed = seal_case(session, world, fast_argon2, identity=IDENTITY)
    assert sealed.case.track is Track.NAMED
    return sealed


def forward(
    session: Session, world: World, sealed: SealedCase, to: World, by: str = "lan", **kw: object
) -> Case:
    """Forward as the review app does: with the sender's case key and unit key, and the
    grounds sealed for the unit."""
    case = sealed.case
    keys = world.staff_keys(session, case, by, ARRIVED)
    options: dict[str, object] = {"identity_key": None, "unit_key": keys.unit, **kw}
    transfer.forward(
        session,
        case,
        to_unit=to.unit,
        inspector=world.people[by],
        case_key=keys.case,
        grounds=access.seal_note(keys, case, "grounds", GROUNDS),
        today=ARRIVED,
        now=NOW,
        **options,  # type: ignore[arg-type]
    )
    session.commit()
    return case


def escrow_wraps(case: Case, purpose: WrapPurpose) -> list[KeyWrap]:
    return [
        w
        for w in case.key_wraps
        if w.recipient_kind is RecipientKind.ESCROW and w.purpose is purpose
    ]


def identity_opens(case: Case, person_id: int, key: X25519PrivateKey) -> bool:
    for wrap in case.key_wraps:
        if wrap.purpose is WrapPurpose.IDENTITY_KEY and wrap.inspector_id == person_id:
            identity_key = crypto.unwrap(
                wrap.wrapped, key, crypto.Purpose.IDENTITY_KEY, case.public_id
            )
            place = Place(case.public_id, "identity", records.REPORTER)
            reading = records.open_record(
                identity_key, crypto.Kind.IDENTITY, case, case.identity, place
            )
            assert reading is not None
            assert reading.trust is Trust.SIGNED
            return bool(reading.document == IDENTITY)
    return False


def test_the_receiving_unit_reads_the_case_and_the_sender_no_longer_does(
    session: Session, world: World, district: World, named: SealedCase
) -> None:
    case = forward(session, world, named, district)
    assert case.unit_id == district.unit.id
    assert (
        access.open_report(
            access.open_case_key(case, district.people["lan"], district.key_of("lan")), case
        )
        is not None
    )
    with pytest.raises(NoAccess):
        access.open_case_key(case, world.people["lan"], world.key_of("lan"))
    [escrow] = escrow_wraps(case, WrapPurpose.CASE_KEY)
    opened = crypto.unwrap(escrow.wrapped, district.escrow, crypto.Purpose.CASE_KEY, case.public_id)
    assert opened == named.keys.case_key


def test_the_unit_key_goes_to_the_receiving_units_readers_and_escrow(
    session: Session, world: World, district: World, named: SealedCase
) -> None:
    unit_key = world.staff_keys(session, named.case, "lan", ARRIVED).unit
    case = forward(session, world, named, district)
    # the receiving unit's readers and escrow, and nobody of the sender's
    holders = sorted(w.inspector_id or 0 for w in unit_key_wraps(case, RecipientKind.INSPECTOR))
    assert holders == sorted(person.id for person in access.readers(case))
    assert holders == sorted(district.people[name].id for name in ("lan", "minh", "hoa"))
    for name in ("lan", "minh", "hoa"):
        assert access.open_unit_key(case, district.people[name], district.key_of(name)) == (
            unit_key
        )
        assert access.open_unit_key(case, world.people[name], world.key_of(name)) is None
    [escrow] = escrow_wraps(case, WrapPurpose.UNIT_KEY)
    opened = crypto.unwrap(escrow.wrapped, district.escrow, crypto.Purpose.UNIT_KEY, case.public_id)
    assert opened == unit_key
    with pytest.raises(crypto.CryptoError):
        crypto.unwrap(escrow.wrapped, world.escrow, crypto.Purpose.UNIT_KEY, case.public_id)
    assert unit_key_wraps(case, RecipientKind.REPORTER) == []
    # so the receiving unit reads the sender's grounds, written for the unit only
    forward_event = case.events[-2]
    keys = district.reader_keys(case, "lan")
    reading = access.open_note(keys, case, forward_event, "grounds", "grounds")
    assert reading is not None
    assert (reading.text(), reading.trust) == (GROUNDS, Trust.SIGNED)
    reporter = records.CaseKeys(case=named.keys.case_key)
    as_reporter = access.open_note(reporter, case, forward_event, "grounds", "grounds")
    assert as_reporter == records.ALTERED


def test_a_case_without_a_unit_key_is_forwarded_without_one(
    session: Session, world: World, district: World, named: SealedCase
) -> None:
    case = named.case
    lan = world.people["lan"]
    transfer.forward(
        session,
        case,
        to_unit=district.unit,
        inspector=lan,
        case_key=access.open_case_key(case, lan, world.key_of("lan")),
        unit_key=None,
        identity_key=None,
        grounds=b"sealed grounds",
        today=ARRIVED,
        now=NOW,
    )
    session.commit()
    assert unit_key_wraps(case) == []
    # the receiving unit makes it when it first writes, for its own readers
    unit_key = district.staff_keys(session, case, "lan", ARRIVED).unit
    assert access.open_unit_key(case, district.people["hoa"], district.key_of("hoa")) == unit_key
    [escrow] = escrow_wraps(case, WrapPurpose.UNIT_KEY)
    opened = crypto.unwrap(escrow.wrapped, district.escrow, crypto.Purpose.UNIT_KEY, case.public_id)
    assert opened == unit_key


def test_the_reporters_wrap_and_code_still_work_from_the_sending_units_page(
    session: Session,
    world: World,
    district: World,
    named: SealedCase,
    fast_argon2: crypto.Argon2Params,
) -> None:
    before = followup.reporter_wrap(named.case, WrapPurpose.CASE_KEY)
    case = forward(session, world, named, district)
    assert followup.reporter_wrap(case, WrapPurpose.CASE_KEY) == before
    token = named.keys.code.lookup_token()
    assert followup.find_case(session, world.unit, token, fast_argon2) is case
    assert followup.get_case(session, world.unit, case.public_id) is case
    view = followup.case_view(case, ARRIVED, world.unit)
    assert view.forwarded_to == district.unit.name
    assert followup.case_view(case, ARRIVED, district.unit).forwarded_to is None


def test_the_sender_keeps_a_record_and_the_history_says_what_happened(
    session: Session, world: World, district: World, named: SealedCase
) -> None:
    case = forward(session, world, named, district)
    [record] = transfer.sent_by(session, world.unit)
    assert (record.case, record.to_unit, record.inspector) == (
        case,
        district.unit,
        world.people["lan"],
    )
    assert (record.forwarded_on, record.sender_keeps_access) == (ARRIVED, False)
    forward_event, arrival = case.events[-2:]
    assert (forward_event.to_status, forward_event.data["to_unit"]) == (
        "forwarded",
        "thanh-tra-huyen",
    )
    assert (arrival.kind, arrival.to_status) == ("arrival", "received")


def test_the_receiving_units_clocks_start_on_arrival(
    session: Session, world: World, district: World, named: SealedCase
) -> None:
    case = forward(session, world, named, district)
    deadlines = {d.key: d.due_on for d in workflow.current_deadlines(case)}
    # Seven working days from Tuesday 1 December 2026.
    assert deadlines == {"triage": date(2026, 12, 10)}


def test_the_identity_stays_with_the_senders_custodians_unless_a_custodian_forwards_it(
    session: Session, world: World, district: World, named: SealedCase
) -> None:
    case = forward(session, world, named, district)
    assert identity_opens(case, world.people["hoa"].id, world.key_of("hoa"))
    assert not identity_opens(case, district.people["hoa"].id, district.key_of("hoa"))
    assert case.events[-2].data["identity_forwarded"] is False


def test_a_custodian_forwards_the_identity_to_the_receiving_custodians(
    session: Session,
    world: World,
    district: World,
    fast_argon2: crypto.Argon2Params,
) -> None:
    sealed = seal_case(session, world, fast_argon2, identity=IDENTITY)
    case = forward(
        session, world, sealed, district, by="hoa", identity_key=sealed.keys.identity_key
    )
    assert identity_opens(case, district.people["hoa"].id, district.key_of("hoa"))
    assert not identity_opens(case, world.people["hoa"].id, world.key_of("hoa"))


def test_a_profile_may_let_the_sender_keep_read_access(
    session: Session,
    world: World,
    district: World,
    named: SealedCase,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = workflow.profile_of

    def generous(case: Case) -> Profile:
        found = original(case)
        if case.unit_id == world.unit.id:
            return dataclasses.replace(found, forward_keeps_read_access=True)
        return found

    monkeypatch.setattr(workflow, "profile_of", generous)
    unit_key = world.staff_keys(session, named.case, "lan", ARRIVED).unit
    case = forward(session, world, named, district)
    assert access.open_case_key(case, world.people["lan"], world.key_of("lan")) == (
        named.keys.case_key
    )
    # reading the case, the sender reads the unit's notes on it too; the escrow is the
    # receiving unit's alone
    assert access.open_unit_key(case, world.people["lan"], world.key_of("lan")) == unit_key
    assert access.open_unit_key(case, district.people["lan"], district.key_of("lan")) == unit_key
    [escrow] = escrow_wraps(case, WrapPurpose.UNIT_KEY)
    opened = crypto.unwrap(escrow.wrapped, district.escrow, crypto.Purpose.UNIT_KEY, case.public_id)
    assert opened == unit_key
    assert not access.acts_on(case, world.people["lan"])
    assert transfer.sent_by(session, world.unit)[0].sender_keeps_access


def test_forwarding_needs_a_unit_with_readers_and_a_step_the_profile_allows(
    session: Session, world: World, district: World, named: SealedCase
) -> None:
    with pytest.raises(TransferError, match="own unit"):
        forward(session, world, named, world)
    for person in district.people.values():
        person.active = False
    with pytest.raises(TransferError, match="nobody who can read"):
        forward(session, world, named, district)
    assert transfer.destinations(session, named.case) == []
    assert named.case.unit_id == world.unit.id

"""Forwarding a case to the competent body: re-wrapped keys, records, clocks, the same code."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy.orm import Session

import crypto
from casework import access, followup, transfer, workflow
from casework.access import NoAccess
from casework.profiles import Profile
from casework.transfer import TransferError
from store.models import Case, RecipientKind, Track, WrapPurpose
from tests.casework.test_access import SealedCase, seal_case
from tests.worlds import World, build_world

ARRIVED = date(2026, 12, 1)  # a Tuesday
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
IDENTITY = {"name": "Nguyễn Thị Bình", "contact": "0900 000 000"}


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
    case = sealed.case
    options: dict[str, object] = {"identity_key": None, **kw}
    transfer.forward(
        session,
        case,
        to_unit=to.unit,
        inspector=world.people[by],
        case_key=access.open_case_key(case, world.people[by], world.key_of(by)),
        grounds=b"sealed grounds",
        today=ARRIVED,
        now=NOW,
        **options,  # type: ignore[arg-type]
    )
    session.commit()
    return case


def identity_opens(case: Case, person_id: int, key: X25519PrivateKey) -> bool:
    for wrap in case.key_wraps:
        if wrap.purpose is WrapPurpose.IDENTITY_KEY and wrap.inspector_id == person_id:
            identity_key = crypto.unwrap(
                wrap.wrapped, key, crypto.Purpose.IDENTITY_KEY, case.public_id
            )
            assert case.identity is not None
            opened = crypto.open_json(
                identity_key, crypto.Kind.IDENTITY, case.public_id, case.identity
            )
            return bool(opened == IDENTITY)
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
    [escrow] = [
        w
        for w in case.key_wraps
        if w.recipient_kind is RecipientKind.ESCROW and w.purpose is WrapPurpose.CASE_KEY
    ]
    opened = crypto.unwrap(escrow.wrapped, district.escrow, crypto.Purpose.CASE_KEY, case.public_id)
    assert opened == named.keys.case_key


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
    case = forward(session, world, named, district)
    assert access.open_case_key(case, world.people["lan"], world.key_of("lan")) == (
        named.keys.case_key
    )
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

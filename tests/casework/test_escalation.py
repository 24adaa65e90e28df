"""Escalation (LTC Art. 38) and re-denunciation (Art. 37) to the head of the directly
superior unit, on real dates: who answers, the two 5-working-day steps, the 20-day review,
and records sealed only to the people each step is for."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

import crypto
from casework import escalation, followup, workflow
from casework.escalation import EscalationError
from casework.hierarchy import set_superior
from casework.records import Trust
from casework.sealing import NewCaseKeys
from store.models import ActorKind, Case, CaseEvent, CaseExclusion, RecipientKind
from tests.casework.test_followup import new_case
from tests.worlds import World, build_world, reporter_entry

RECEIVED = date(2027, 1, 4)  # a Monday; triage (7 working days) falls due on 13 January
OVERDUE = date(2027, 2, 3)  # a Wednesday; Tết (6 February) closes offices 4-10 February
NOW = datetime(2027, 2, 3, 2, 0, tzinfo=UTC)
REPORT = "Đơn vị chậm thụ lý do thiếu cán bộ; sẽ thụ lý trong tuần."
ANSWER = "Đã yêu cầu Thanh tra tỉnh thụ lý ngay và báo cáo kết quả."


@pytest.fixture
def province(session: Session) -> World:
    return build_world(session, "uy-ban-tinh")


@pytest.fixture
def overdue(
    session: Session, world: World, province: World, fast_argon2: crypto.Argon2Params
) -> tuple[NewCaseKeys, Case]:
    """A named case of ``world`` whose triage is overdue; ``province`` is its superior."""
    set_superior(world.unit, province.unit)
    keys, case = new_case(session, world, fast_argon2, identity=True, received=RECEIVED)
    return keys, case


def escalate(session: Session, keys: NewCaseKeys, case: Case, on: date = OVERDUE) -> CaseEvent:
    entry = reporter_entry(session, case, keys, "escalation", on, "Quá hạn thụ lý")
    return followup.escalate(session, case, entry, on)


def due(case: Case) -> dict[str, date | None]:
    return {d.key: d.due_on for d in workflow.current_deadlines(case)}


def steps_taken(case: Case) -> list[str]:
    """The case's events since it arrived (its identity was verified on arrival)."""
    return [e.kind for e in case.events if e.kind != workflow.IDENTITY_VERIFICATION]


def test_the_escalation_goes_to_the_superior_unit_and_runs_two_steps_across_tet(
    session: Session, world: World, province: World, overdue: tuple[NewCaseKeys, Case]
) -> None:
    keys, case = overdue
    assert not escalation.may_escalate(case, date(2027, 1, 13))  # due that day, not late
    assert escalation.may_escalate(case, OVERDUE)
    event = escalate(session, keys, case)
    assert (event.actor_kind, event.data, case.urgent) == (
        ActorKind.REPORTER,
        {"to_unit": "uy-ban-tinh"},
        True,
    )
    assert escalation.answering_unit_of(case) is province.unit
    view = followup.case_view(case, OVERDUE)
    assert (view.answered_by, view.answered_by_superior) == (province.unit.name, True)
    # Five working days from Wednesday 3 February, the Tết holidays skipped: 17 February.
    assert due(case)["escalation"] == date(2027, 2, 17)
    assert not escalation.may_escalate(case, OVERDUE)  # once, until answered

    with pytest.raises(EscalationError, match="another unit's head"):
        escalation.demand(
            session, case, inspector=world.people["hoa"], today=OVERDUE, now=NOW
        )  # the case's own head, when a superior unit is named
    escalation.demand(session, case, inspector=province.people["son"], today=OVERDUE, now=NOW)
    assert "escalation" not in due(case)
    assert due(case)["escalation_report"] == date(2027, 2, 17)
    assert [r.case for r in escalation.owed_by(session, world.unit)] == [case]
    assert [r.case for r in escalation.waiting_for(session, province.unit)] == [case]
    assert escalation.waiting_for(session, world.unit) == []


def test_the_report_reaches_the_superior_head_and_the_answer_the_reporter_only(
    session: Session, world: World, province: World, overdue: tuple[NewCaseKeys, Case]
) -> None:
    keys, case = overdue
    escalate(session, keys, case)
    escalation.demand(session, case, inspector=province.people["hoa"], today=OVERDUE, now=NOW)
    with pytest.raises(EscalationError, match="resolving unit"):
        escalation.report(
            session,
            case,
            inspector=province.people["lan"],
            private_key=province.key_of("lan"),
            document={"schema": 1, "text": REPORT},
            today=OVERDUE,
            now=NOW,
        )
    report = escalation.report(
        session,
        case,
        inspector=world.people["lan"],
        private_key=world.key_of("lan"),
        document={"schema": 1, "text": REPORT},
        today=OVERDUE,
        now=NOW,
    )
    session.commit()
    assert report.grounds is not None
    assert REPORT.encode() not in report.grounds
    assert "escalation_report" not in due(case)
    head = province.people["hoa"]
    reading = escalation.read_as_inspector(case, report, head, province.key_of("hoa"))
    assert reading is not None
    assert (reading.text(), reading.trust) == (REPORT, Trust.SIGNED)
    # The superior's inspectors and supervisor, and the reporter, get no key to the report.
    for name in ("lan", "son"):
        person = province.people[name]
        assert escalation.read_as_inspector(case, report, person, province.key_of(name)) is None
    assert escalation.read_as_reporter(case, report, keys.code.reporter_private_key()) is None
    escrow = [w for w in report.wraps if w.recipient_kind is RecipientKind.ESCROW]
    assert len(escrow) == 1
    assert crypto.unwrap(
        escrow[0].wrapped, province.escrow, crypto.Purpose.RECORD_KEY, case.public_id
    )

    with pytest.raises(EscalationError, match="another unit's head"):
        escalation.answer(
            session,
            case,
            inspector=province.people["son"],  # a supervisor holds no key to write with
            private_key=province.key_of("son"),
            text=ANSWER,
            today=OVERDUE,
            now=NOW,
        )
    answer = escalation.answer(
        session,
        case,
        inspector=head,
        private_key=province.key_of("hoa"),
        text=ANSWER,
        today=OVERDUE,
        now=NOW,
    )
    session.commit()
    assert answer.kind == workflow.ESCALATION_RESPONSE
    assert not workflow.escalation_pending(case)
    reporter = escalation.read_as_reporter(case, answer, keys.code.reporter_private_key())
    assert reporter is not None
    assert reporter.text() == ANSWER
    lan = escalation.read_as_inspector(case, answer, world.people["lan"], world.key_of("lan"))
    assert lan is not None
    assert lan.text() == ANSWER
    [shown] = followup.case_view(case, OVERDUE).answers
    assert (shown.kind, shown.answered_on, shown.inspector_id) == (
        "escalation_response",
        OVERDUE,
        head.id,
    )


def test_a_moved_answer_reads_as_altered(
    session: Session, world: World, province: World, overdue: tuple[NewCaseKeys, Case]
) -> None:
    keys, case = overdue
    escalate(session, keys, case)
    first = escalation.answer(
        session,
        case,
        inspector=province.people["hoa"],
        private_key=province.key_of("hoa"),
        text=ANSWER,
        today=OVERDUE,
        now=NOW,
    )
    session.commit()
    copy = CaseEvent(
        kind=first.kind,
        actor_kind=ActorKind.INSPECTOR,
        inspector=first.inspector,
        occurred_on=OVERDUE,
        occurred_at=NOW,
        grounds=first.grounds,
    )
    case.events.append(copy)
    session.flush()
    copy.wraps.extend(
        type(wrap)(
            recipient_kind=wrap.recipient_kind, inspector_id=wrap.inspector_id, wrapped=wrap.wrapped
        )
        for wrap in first.wraps
    )
    session.flush()
    reading = escalation.read_as_reporter(case, copy, keys.code.reporter_private_key())
    assert reading is not None
    assert reading.altered  # its place names the first row


def test_without_a_superior_the_units_own_custodian_answers(
    session: Session, world: World, fast_argon2: crypto.Argon2Params
) -> None:
    keys, case = new_case(session, world, fast_argon2, identity=True, received=RECEIVED)
    event = escalate(session, keys, case)
    assert event.data == {"to_unit": world.unit.slug}
    view = followup.case_view(case, OVERDUE)
    assert (view.answered_by, view.answered_by_superior) == (world.unit.name, False)
    assert [r.case for r in escalation.waiting_for(session, world.unit)] == [case]
    answer = escalation.answer(
        session,
        case,
        inspector=world.people["hoa"],
        private_key=world.key_of("hoa"),
        text=ANSWER,
        today=OVERDUE,
        now=NOW,
    )
    assert escalation.read_as_reporter(case, answer, keys.code.reporter_private_key())


def test_an_excluded_custodian_neither_answers_nor_receives(
    session: Session, world: World, fast_argon2: crypto.Argon2Params
) -> None:
    keys, case = new_case(session, world, fast_argon2, identity=True, received=RECEIVED)
    hoa = world.people["hoa"]
    case.exclusions.append(CaseExclusion(inspector=hoa))
    session.flush()
    escalate(session, keys, case)
    with pytest.raises(EscalationError, match="excluded"):
        escalation.answer(
            session,
            case,
            inspector=hoa,
            private_key=world.key_of("hoa"),
            text=ANSWER,
            today=OVERDUE,
            now=NOW,
        )
    assert steps_taken(case) == ["escalation"]
    assert workflow.escalation_pending(case)


def test_a_re_denunciation_after_the_conclusion_is_reviewed_within_20_days(
    session: Session, world: World, province: World, overdue: tuple[NewCaseKeys, Case]
) -> None:
    keys, case = overdue
    lan = world.people["lan"]
    accepted = date(2027, 1, 5)
    assert not escalation.may_re_denounce(case, accepted)
    for status, on in (("accepted", accepted), ("verifying", accepted), ("concluded", OVERDUE)):
        workflow.transition(
            case, status, today=on, inspector=lan, now=NOW, grounds=b"\x02sealed grounds"
        )
    assert escalation.may_re_denounce(case, OVERDUE)
    entry = reporter_entry(session, case, keys, "re-denunciation", OVERDUE, "Kết luận sai")
    event = followup.escalate(session, case, entry, OVERDUE, kind=escalation.RE_DENUNCIATION)
    assert event.data == {"to_unit": "uy-ban-tinh"}
    # Twenty calendar days from 3 February, Tết included: 23 February, a Tuesday.
    assert due(case)["re_denunciation"] == date(2027, 2, 23)
    assert not escalation.may_re_denounce(case, OVERDUE)
    decision = escalation.answer(
        session,
        case,
        inspector=province.people["hoa"],
        private_key=province.key_of("hoa"),
        text="Giữ nguyên kết luận.",
        today=OVERDUE,
        now=NOW,
    )
    assert decision.kind == workflow.RE_DENUNCIATION_DECISION
    assert "re_denunciation" not in due(case)


def test_a_re_denunciation_is_refused_before_any_conclusion_or_lapse(
    session: Session, world: World, overdue: tuple[NewCaseKeys, Case]
) -> None:
    keys, case = overdue
    entry = reporter_entry(session, case, keys, "re-denunciation", OVERDUE)
    with pytest.raises(followup.FollowUpError, match="re_denunciation"):
        followup.escalate(session, case, entry, OVERDUE, kind=escalation.RE_DENUNCIATION)
    assert steps_taken(case) == []


def test_a_report_nobody_above_could_read_is_refused_and_nothing_is_kept(
    session: Session, world: World, province: World, overdue: tuple[NewCaseKeys, Case]
) -> None:
    keys, case = overdue
    escalate(session, keys, case)
    escalation.demand(session, case, inspector=province.people["son"], today=OVERDUE, now=NOW)
    province.people["hoa"].active = False  # the superior unit's only custodian leaves
    with pytest.raises(EscalationError, match="no custodian who could read the report"):
        escalation.report(
            session,
            case,
            inspector=world.people["lan"],
            private_key=world.key_of("lan"),
            document={"schema": 1, "text": REPORT},
            today=OVERDUE,
            now=NOW,
        )
    assert steps_taken(case) == ["escalation", "escalation_demand"]

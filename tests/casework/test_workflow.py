"""The legal workflow on real dates: transitions, clocks, suspensions, extensions (escalation:
tests/casework/test_escalation.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from casework import protection, workflow
from casework.workflow import WorkflowError
from store.models import (
    ActorKind,
    Case,
    CaseEvent,
    Inspector,
    InspectorRole,
    Message,
    Party,
    Track,
)
from tests.store.factories import add_case, add_inspector, add_unit, ciphertext

NOW = datetime(2027, 1, 4, 3, 0, tzinfo=UTC)
GROUNDS = b"sealed grounds"


@pytest.fixture
def people(session: Session) -> tuple[Inspector, Inspector]:
    unit = add_unit(session)
    inspector = add_inspector(session, unit, "lan", InspectorRole.INSPECTOR)
    head = add_inspector(session, unit, "head", InspectorRole.SUPERVISOR)
    head.public_key = ciphertext(32)
    return inspector, head


def new_case(session: Session, people: tuple[Inspector, Inspector], track: Track, on: date) -> Case:
    """A report received on ``on``; a named one is verified that day (the reporter came in
    person), so that it is a formal denunciation from its receipt (LTC Art. 22-23)."""
    case = add_case(session, people[0].unit, track=track, received_on=on, status_changed_on=on)
    workflow.refresh(case, on)
    if track is Track.NAMED:
        workflow.verify_identity(case, "in_person", today=on, inspector=people[0], now=NOW)
    return case


def unverified(session: Session, people: tuple[Inspector, Inspector], on: date) -> Case:
    """A named report from the web form whose reporter the unit has not met yet."""
    case = add_case(
        session, people[0].unit, track=Track.NAMED, received_on=on, status_changed_on=on
    )
    workflow.refresh(case, on)
    return case


def due(case: Case) -> dict[str, date | None]:
    return {d.key: d.due_on for d in workflow.current_deadlines(case)}


def reporter_entry(session: Session, case: Case, purpose: str, on: date) -> Message:
    """A reporter's transcript entry as a row (the words are opaque to the workflow)."""
    entry = Message(
        author=Party.REPORTER,
        body=ciphertext(1200),
        created_on=on,
        seq=len(case.messages) + 1,
        purpose=purpose,
    )
    case.messages.append(entry)
    session.flush()
    return entry


def step(case: Case, by: Inspector, target: str, on: date, *legal_grounds: str) -> None:
    workflow.transition(
        case,
        target,
        today=on,
        inspector=by,
        now=NOW,
        grounds=GROUNDS,
        legal_grounds=legal_grounds,
    )


def extend(case: Case, by: Inspector, key: str, on: date, *legal_grounds: str) -> None:
    workflow.extend(
        case, key, inspector=by, today=on, now=NOW, grounds=GROUNDS, legal_grounds=legal_grounds
    )


@pytest.fixture
def named(session: Session, people: tuple[Inspector, Inspector]) -> Case:
    return new_case(session, people, Track.NAMED, date(2027, 2, 1))


def test_a_named_report_gets_seven_working_days_for_triage_across_tet(named: Case) -> None:
    assert due(named) == {"triage": date(2027, 2, 17)}
    assert named.next_due == date(2027, 2, 17)


def test_the_triage_extension_gives_ten_working_days_and_only_once(
    named: Case, people: tuple[Inspector, Inspector]
) -> None:
    on = date(2027, 2, 3)
    workflow.extend(named, "triage", inspector=people[0], today=on, now=NOW, grounds=GROUNDS)
    assert due(named) == {"triage": date(2027, 2, 22)}
    with pytest.raises(WorkflowError, match="allows 1 extension") as refused:
        workflow.extend(named, "triage", inspector=people[0], today=on, now=NOW, grounds=GROUNDS)
    assert refused.value.code == "no_extension_left"


def test_acceptance_starts_resolution_and_notice_and_stops_triage(
    named: Case, people: tuple[Inspector, Inspector]
) -> None:
    step(named, people[0], "accepted", date(2027, 3, 1))
    assert due(named) == {
        "notification": date(2027, 3, 8),
        "accused_notice": date(2027, 3, 8),
        "resolution": date(2027, 3, 31),
    }
    workflow.record(named, "notification", inspector=people[0], today=date(2027, 3, 2), now=NOW)
    assert due(named) == {"accused_notice": date(2027, 3, 8), "resolution": date(2027, 3, 31)}


def test_a_suspension_stops_the_clock_and_two_extensions_push_it_further(
    named: Case, people: tuple[Inspector, Inspector]
) -> None:
    inspector = people[0]
    step(named, inspector, "accepted", date(2027, 3, 1))
    step(named, inspector, "verifying", date(2027, 3, 2))
    step(named, inspector, "suspended", date(2027, 3, 10), "awaiting_expert_result")
    [paused] = [d for d in workflow.current_deadlines(named) if d.key == "resolution"]
    assert paused.paused
    assert paused.used == 9
    assert paused.allowance == 30
    # While suspended nothing is due, so nothing can be overdue.
    assert named.next_due == date(2027, 3, 8)  # the notice to the parties still runs
    step(named, inspector, "verifying", date(2027, 3, 20))
    # 31 March + 10 paused days = Saturday 10 April: Monday 12 April.
    assert due(named)["resolution"] == date(2027, 4, 12)
    extend(named, inspector, "resolution", date(2027, 4, 1), "several_places")
    extend(named, inspector, "resolution", date(2027, 4, 1), "several_places", "foreign_element")
    # 90 days from 1 March is 30 May, plus 10 paused: 9 June (Wednesday).
    assert due(named)["resolution"] == date(2027, 6, 9)
    with pytest.raises(WorkflowError, match="allows 2 extension"):
        extend(named, inspector, "resolution", date(2027, 4, 2), "several_places", "many_people")


def test_an_invalid_transition_is_refused_naming_what_is_allowed(
    named: Case, people: tuple[Inspector, Inspector]
) -> None:
    with pytest.raises(WorkflowError) as refused:
        step(named, people[0], "concluded", date(2027, 2, 2))
    assert refused.value.code == "transition_not_allowed"
    assert "allowed: triage, accepted, not_accepted, forwarded" in str(refused.value)
    assert named.status == "received"
    assert [e.kind for e in named.events] == ["identity_verification"]  # nothing more


def test_a_decision_without_grounds_is_refused(
    named: Case, people: tuple[Inspector, Inspector]
) -> None:
    with pytest.raises(WorkflowError, match="grounds") as refused:
        workflow.transition(
            named, "not_accepted", today=date(2027, 2, 2), inspector=people[0], now=NOW
        )
    assert refused.value.code == "grounds_required"


def test_every_step_records_who_when_and_the_sealed_grounds(
    named: Case, people: tuple[Inspector, Inspector]
) -> None:
    step(named, people[0], "triage", date(2027, 2, 2))
    [verification, event] = named.events
    assert verification.kind == "identity_verification"
    assert (event.kind, event.from_status, event.to_status) == (
        "status_change",
        "received",
        "triage",
    )
    assert (event.actor_kind, event.inspector, event.occurred_at) == (
        ActorKind.INSPECTOR,
        people[0],
        NOW,
    )
    assert event.occurred_on == date(2027, 2, 2)
    assert event.grounds == GROUNDS


def test_an_anonymous_report_follows_article_25(
    session: Session, people: tuple[Inspector, Inspector]
) -> None:
    case = new_case(session, people, Track.ANONYMOUS, date(2027, 3, 1))
    assert due(case) == {"decision": date(2027, 3, 15)}
    assert [d.statutory for d in workflow.current_deadlines(case)] == [False]
    profile = workflow.profile_of(case)
    assert profile.next_statuses("received", Track.ANONYMOUS) == [
        "triage",
        "verifying",
        "archived",
        "forwarded",
        "not_handled",
    ]
    with pytest.raises(WorkflowError):  # no formal acceptance for an anonymous report
        step(case, people[0], "accepted", date(2027, 3, 2))
    step(case, people[0], "verifying", date(2027, 3, 2))
    assert due(case) == {"inspection": date(2027, 4, 1)}


def test_closing_ends_every_clock_and_starts_retention(
    named: Case, people: tuple[Inspector, Inspector]
) -> None:
    step(named, people[0], "not_accepted", date(2027, 2, 3))
    assert due(named) == {"non_acceptance_notice": date(2027, 2, 3)}  # at once
    step(named, people[0], "closed", date(2027, 2, 4))
    assert (named.deadlines, named.next_due, named.closed_on) == ([], None, date(2027, 2, 4))


def test_overdue_is_computed_never_stored(named: Case) -> None:
    [stored] = named.deadlines
    assert "overdue" not in stored
    [deadline] = workflow.current_deadlines(named)
    assert not deadline.overdue(date(2027, 2, 17))
    assert deadline.overdue(date(2027, 2, 18))


def test_the_reporter_may_withdraw_until_a_decision(
    session: Session, named: Case, people: tuple[Inspector, Inspector]
) -> None:
    step(named, people[0], "accepted", date(2027, 3, 1))
    step(named, people[0], "verifying", date(2027, 3, 2))
    entry = reporter_entry(session, named, "withdrawal", date(2027, 3, 3))
    event = workflow.transition(named, "withdrawn", today=date(2027, 3, 3), entry=entry)
    assert (event.actor_kind, event.inspector, event.occurred_at) == (
        ActorKind.REPORTER,
        None,
        None,
    )
    # the entry stands for the written grounds the step needs
    assert (event.grounds, event.message_id) == (None, entry.id)
    # The acceptance happened: its notices are still owed; the resolution clock runs on
    # while the unit decides what becomes of the withdrawn report (Art. 33).
    assert set(due(named)) == {
        "notification",
        "accused_notice",
        "resolution",
        "withdrawal_decision",
    }
    with pytest.raises(WorkflowError):
        workflow.transition(named, "withdrawn", today=date(2027, 3, 3))
    # Art. 33(3): the unit may go on when the report shows signs of a violation.
    step(named, people[0], "verifying", date(2027, 3, 4), "signs_of_violation")


def test_an_inspector_cannot_take_the_reporters_step(
    named: Case, people: tuple[Inspector, Inspector]
) -> None:
    with pytest.raises(WorkflowError):
        step(named, people[0], "withdrawn", date(2027, 2, 2))


def test_arrival_at_a_new_unit_restarts_the_clocks(
    named: Case, people: tuple[Inspector, Inspector]
) -> None:
    step(named, people[0], "forwarded", date(2027, 3, 1))
    workflow.arrive(named, today=date(2027, 3, 2))
    assert named.status == "received"
    assert due(named) == {"triage": date(2027, 3, 11)}


def test_the_eu_profile_acknowledges_in_seven_days_and_answers_in_three_months(
    session: Session, people: tuple[Inspector, Inspector]
) -> None:
    people[0].unit.profile = "eu-2019-1937"
    case = new_case(session, people, Track.ANONYMOUS, date(2027, 1, 8))
    assert due(case) == {"acknowledgement": date(2027, 1, 15)}
    workflow.transition(case, "acknowledged", today=date(2027, 1, 15), inspector=people[0], now=NOW)
    assert due(case) == {"feedback": date(2027, 4, 15)}
    step(case, people[0], "investigating", date(2027, 1, 20))  # does not restart the clock
    assert due(case) == {"feedback": date(2027, 4, 15)}
    workflow.record(case, "feedback", inspector=people[0], today=date(2027, 4, 1), now=NOW)
    assert due(case) == {}


def test_an_acceptance_is_notified_to_the_reporter_and_to_the_accused_each_on_its_own(
    named: Case, people: tuple[Inspector, Inspector]
) -> None:
    """LTC Art. 29(3), NĐ31 Art. 9(2): accepted on Wednesday 3 February 2027, both
    notices are due five working days later across Tết, Wednesday 17 February."""
    step(named, people[0], "accepted", date(2027, 2, 3))
    notices = {"notification": date(2027, 2, 17), "accused_notice": date(2027, 2, 17)}
    assert {k: v for k, v in due(named).items() if k in notices} == notices
    assert set(workflow.recordable(named, people[0])) >= {"notification", "accused_notification"}
    workflow.record(named, "notification", inspector=people[0], today=date(2027, 2, 5), now=NOW)
    assert "accused_notice" in due(named)
    assert "notification" not in due(named)
    workflow.record(
        named, "accused_notification", inspector=people[0], today=date(2027, 2, 8), now=NOW
    )
    assert set(due(named)) == {"resolution"}


def test_a_forward_and_its_notice_are_due_five_working_days_from_receipt_across_tet(
    session: Session, people: tuple[Inspector, Inspector]
) -> None:
    """LTC Art. 24(2). Received Tuesday 2 February 2027; Tết closes 6-14 February, so the
    five working days are 3, 4, 5, 15 and 16 February."""
    case = new_case(session, people, Track.NAMED, date(2027, 2, 2))
    assert "forwarding" not in due(case)  # only a forwarded case has this clock
    step(case, people[0], "forwarded", date(2027, 2, 15))
    assert due(case) == {"forwarding": date(2027, 2, 16)}
    [forwarding] = workflow.current_deadlines(case)
    assert forwarding.started_on == date(2027, 2, 2)
    assert not forwarding.overdue(date(2027, 2, 16))
    assert forwarding.overdue(date(2027, 2, 17))
    workflow.record(case, "notification", inspector=people[0], today=date(2027, 2, 16), now=NOW)
    assert due(case) == {}


def test_a_late_forward_is_overdue_the_day_it_is_made(
    session: Session, people: tuple[Inspector, Inspector]
) -> None:
    case = new_case(session, people, Track.NAMED, date(2027, 2, 2))
    step(case, people[0], "forwarded", date(2027, 2, 17))
    [forwarding] = workflow.current_deadlines(case)
    assert (forwarding.due_on, forwarding.overdue(date(2027, 2, 17))) == (date(2027, 2, 16), True)


def test_a_refusal_is_notified_at_once_even_before_a_weekend(
    session: Session, people: tuple[Inspector, Inspector]
) -> None:
    """LTC Art. 24(1): not accepted on Friday 5 February 2027, the notice is due that day,
    not after the weekend and Tết."""
    case = new_case(session, people, Track.NAMED, date(2027, 2, 2))
    step(case, people[0], "not_accepted", date(2027, 2, 5))
    [notice] = workflow.current_deadlines(case)
    assert (notice.key, notice.due_on, notice.allowance) == (
        "non_acceptance_notice",
        date(2027, 2, 5),
        0,
    )
    assert notice.overdue(date(2027, 2, 15))
    workflow.record(case, "notification", inspector=people[0], today=date(2027, 2, 5), now=NOW)
    assert due(case) == {}


def test_acting_on_a_conclusion_is_due_seven_working_days_from_it_across_tet(
    named: Case, people: tuple[Inspector, Inspector]
) -> None:
    """LTC Art. 36(1): concluded on Wednesday 3 February 2027; 4, 5, then 15 to 19
    February are the seven working days."""
    for status, day in (("accepted", 2), ("verifying", 2), ("concluded", 3)):
        step(named, people[0], status, date(2027, 2, day))
    assert due(named)["handling"] == date(2027, 2, 19)
    step(named, people[0], "handling", date(2027, 2, 18))
    assert "handling" not in due(named)


def test_a_conclusion_is_published_within_seven_working_days_of_it(
    named: Case, people: tuple[Inspector, Inspector]
) -> None:
    """LTC Art. 40, NĐ31 Art. 6: concluded on Wednesday 3 February 2027, published by
    Friday 19 February (Tết closes 6-14 February); recorded once it is posted."""
    for status, day in (("accepted", 2), ("verifying", 2), ("concluded", 3)):
        step(named, people[0], status, date(2027, 2, day))
    assert due(named)["publication"] == date(2027, 2, 19)
    assert "publication" in workflow.recordable(named, people[0])
    workflow.record(named, "publication", inspector=people[0], today=date(2027, 2, 10), now=NOW)
    assert "publication" not in due(named)


def test_an_anonymous_report_has_no_conclusion_and_nothing_to_act_on(
    session: Session, people: tuple[Inspector, Inspector]
) -> None:
    """LTC Art. 25, NĐ31 Art. 20: checking it ends with the unit filing what it found."""
    case = new_case(session, people, Track.ANONYMOUS, date(2027, 2, 1))
    step(case, people[0], "verifying", date(2027, 2, 2))
    assert "concluded" not in workflow.profile_of(case).next_statuses("verifying", case.track)
    with pytest.raises(workflow.WorkflowError):
        step(case, people[0], "concluded", date(2027, 2, 3))
    step(case, people[0], "archived", date(2027, 2, 3))
    assert "handling" not in due(case)


@pytest.fixture
def eu_case(session: Session, people: tuple[Inspector, Inspector]) -> Case:
    people[0].unit.profile = "eu-2019-1937"
    return new_case(session, people, Track.ANONYMOUS, date(2027, 1, 8))


def test_without_an_acknowledgement_eu_feedback_counts_from_the_seventh_day(
    eu_case: Case, people: tuple[Inspector, Inspector]
) -> None:
    """Art. 9(1)(f): three months from the end of the seven days when no acknowledgement
    was sent; a late acknowledgement does not start the period again."""
    workflow.refresh(eu_case, date(2027, 1, 14))  # the seven days still running
    assert due(eu_case) == {"acknowledgement": date(2027, 1, 15)}
    workflow.refresh(eu_case, date(2027, 1, 15))  # the last of them: nothing was sent
    assert due(eu_case) == {"acknowledgement": date(2027, 1, 15), "feedback": date(2027, 4, 15)}
    step(eu_case, people[0], "acknowledged", date(2027, 1, 27))
    assert due(eu_case) == {"feedback": date(2027, 4, 15)}


def test_eu_feedback_has_no_extension(eu_case: Case, people: tuple[Inspector, Inspector]) -> None:
    step(eu_case, people[0], "acknowledged", date(2027, 1, 11))
    [feedback] = workflow.current_deadlines(eu_case)
    assert (feedback.key, feedback.max_extensions, feedback.extendable) == ("feedback", 0, False)
    with pytest.raises(workflow.WorkflowError, match="allows 0 extension"):
        workflow.extend(
            eu_case, "feedback", inspector=people[0], today=date(2027, 2, 1), now=NOW,
            grounds=GROUNDS,
        )  # fmt: skip


def test_a_report_set_aside_within_the_seven_days_starts_no_feedback_clock(
    eu_case: Case, people: tuple[Inspector, Inspector]
) -> None:
    step(eu_case, people[0], "archived", date(2027, 1, 10))
    workflow.refresh(eu_case, date(2027, 3, 1))
    assert due(eu_case) == {}


def test_an_urgent_protection_request_is_confirmed_in_writing_within_the_profiles_period(
    named: Case,
) -> None:
    # Three working days from Wednesday 3 February 2027, across Tết: Monday 15 February.
    assert protection.confirmation_due(named, date(2027, 2, 3)) == date(2027, 2, 15)


# --- NĐ31 Art. 3: extensions tied to the criteria of a complex case ---------------------


@pytest.fixture
def verifying(named: Case, people: tuple[Inspector, Inspector]) -> Case:
    step(named, people[0], "accepted", date(2027, 1, 4))
    step(named, people[0], "verifying", date(2027, 1, 5))
    return named


def test_a_first_extension_needs_one_criterion_of_a_complex_case(
    verifying: Case, people: tuple[Inspector, Inspector]
) -> None:
    with pytest.raises(WorkflowError, match="at least 1 of the grounds of NĐ31") as refused:
        extend(verifying, people[0], "resolution", date(2027, 1, 20))
    assert refused.value.code == "too_few_grounds"
    with pytest.raises(WorkflowError, match="not_a_criterion is not a ground") as unknown:
        extend(verifying, people[0], "resolution", date(2027, 1, 20), "not_a_criterion")
    assert unknown.value.code == "unknown_ground"
    assert all(e.kind != "extension" for e in verifying.events)  # nothing recorded
    extend(verifying, people[0], "resolution", date(2027, 1, 20), "several_contents")
    [extension] = [e for e in verifying.events if e.kind == "extension"]
    assert extension.data == {"deadline": "resolution", "legal_grounds": ["several_contents"]}
    # 30 days from 4 January, then 30 more: 5 March 2027, across Tết.
    assert due(verifying)["resolution"] == date(2027, 3, 5)


def test_a_second_extension_needs_two_criteria_an_especially_complex_case(
    verifying: Case, people: tuple[Inspector, Inspector]
) -> None:
    extend(verifying, people[0], "resolution", date(2027, 1, 20), "bodies_disagree")
    with pytest.raises(WorkflowError, match="at least 2") as refused:
        extend(verifying, people[0], "resolution", date(2027, 2, 22), "bodies_disagree")
    assert refused.value.code == "too_few_grounds"
    # The same criterion twice is one criterion.
    with pytest.raises(WorkflowError, match="at least 2"):
        extend(
            verifying,
            people[0],
            "resolution",
            date(2027, 2, 22),
            "several_bodies",
            "several_bodies",
        )
    extend(
        verifying,
        people[0],
        "resolution",
        date(2027, 2, 22),
        "conflicting_evidence",
        "several_bodies",
    )
    last = verifying.events[-1]
    # Recorded in the law's order, not the order chosen.
    assert last.data["legal_grounds"] == ["several_bodies", "conflicting_evidence"]
    assert due(verifying)["resolution"] == date(2027, 4, 5)  # 4 April is a Sunday


def test_an_extension_is_notified_to_the_parties_within_five_working_days_across_tet(
    verifying: Case, people: tuple[Inspector, Inspector]
) -> None:
    workflow.record(verifying, "notification", inspector=people[0], today=date(2027, 1, 6), now=NOW)
    workflow.record(
        verifying, "accused_notification", inspector=people[0], today=date(2027, 1, 6), now=NOW
    )
    # Decided on Wednesday 3 February 2027, the last working day before the Tết holiday
    # (4-10 February).
    extend(verifying, people[0], "resolution", date(2027, 2, 3), "several_places")
    [notice] = [d for d in workflow.current_deadlines(verifying) if d.key == "extension_notice"]
    assert notice.due_on == date(2027, 2, 17)
    assert not notice.statutory  # the law asks for the notice, not within a period
    assert "extension_notification" in workflow.recordable(verifying, people[0])
    # A general notice does not stand for this one.
    assert "notification" not in workflow.recordable(verifying, people[0])
    workflow.record(
        verifying, "extension_notification", inspector=people[0], today=date(2027, 2, 16), now=NOW
    )
    assert "extension_notice" not in due(verifying)


def test_the_triage_extension_needs_no_criteria_and_no_notice(
    named: Case, people: tuple[Inspector, Inspector]
) -> None:
    extend(named, people[0], "triage", date(2027, 2, 3))
    assert set(due(named)) == {"triage"}
    with pytest.raises(WorkflowError) as refused:
        extend(named, people[0], "triage", date(2027, 2, 3), "several_places")
    assert refused.value.code in ("unknown_ground", "no_extension_left")


# --- LTC Art. 34: suspension and resumption, each notified ------------------------------


def test_a_suspension_needs_one_of_the_two_grounds_of_article_34(
    verifying: Case, people: tuple[Inspector, Inspector]
) -> None:
    with pytest.raises(WorkflowError, match=r"LTC Art\. 34") as refused:
        step(verifying, people[0], "suspended", date(2027, 2, 10))
    assert refused.value.code == "too_few_grounds"
    with pytest.raises(WorkflowError) as unknown:
        step(verifying, people[0], "suspended", date(2027, 2, 10), "several_places")
    assert unknown.value.code == "unknown_ground"
    assert verifying.status == "verifying"
    step(verifying, people[0], "suspended", date(2027, 2, 10), "awaiting_other_result")
    assert verifying.events[-1].data == {"legal_grounds": ["awaiting_other_result"]}


def test_suspension_and_resumption_are_each_notified_within_five_working_days_across_tet(
    verifying: Case, people: tuple[Inspector, Inspector]
) -> None:
    me = people[0]
    # Wednesday 3 February, the eve of the Tết holiday (4-10 February).
    step(verifying, me, "suspended", date(2027, 2, 3), "awaiting_expert_result")
    assert due(verifying)["suspension_notice"] == date(2027, 2, 17)
    assert "resumption_notice" not in due(verifying)
    on = date(2027, 2, 11)
    workflow.record(verifying, "suspension_notification", inspector=me, today=on, now=NOW)
    assert "suspension_notice" not in due(verifying)
    step(verifying, me, "verifying", date(2027, 3, 5))  # Friday
    assert due(verifying)["resumption_notice"] == date(2027, 3, 12)
    # Accepted on 4 January, its 30 days ended on 3 February, the day of the suspension:
    # a suspension adds no days already used, so the resolution stays due that day.
    assert due(verifying)["resolution"] == date(2027, 2, 3)
    on = date(2027, 3, 8)
    workflow.record(verifying, "resumption_notification", inspector=me, today=on, now=NOW)
    assert "resumption_notice" not in due(verifying)


def test_entering_verifying_from_acceptance_is_no_resumption(
    named: Case, people: tuple[Inspector, Inspector]
) -> None:
    step(named, people[0], "accepted", date(2027, 1, 4))
    step(named, people[0], "verifying", date(2027, 1, 5))
    assert "resumption_notice" not in due(named)


def test_ending_a_suspended_case_starts_no_resumption_notice(
    verifying: Case, people: tuple[Inspector, Inspector]
) -> None:
    step(verifying, people[0], "suspended", date(2027, 2, 10), "awaiting_other_result")
    step(verifying, people[0], "terminated", date(2027, 3, 1))
    assert "resumption_notice" not in due(verifying)


# --- LTC Art. 33: withdrawal in part and in full -----------------------------------------


def withdraw(session: Session, case: Case, on: date) -> None:
    entry = reporter_entry(session, case, "withdrawal", on)
    workflow.transition(case, "withdrawn", today=on, entry=entry)


def notified(case: Case, by: Inspector, on: date) -> None:
    for kind in ("notification", "accused_notification"):
        workflow.record(case, kind, inspector=by, today=on, now=NOW)


def test_a_full_withdrawal_waits_for_the_units_decision_across_tet(
    session: Session, verifying: Case, people: tuple[Inspector, Inspector]
) -> None:
    notified(verifying, people[0], date(2027, 1, 6))
    withdraw(session, verifying, date(2027, 2, 3))  # the eve of Tết (4-10 February)
    assert verifying.status == "withdrawn"
    assert verifying.closed_on is None
    assert not workflow.profile_of(verifying).is_ended("withdrawn")
    [decision] = [
        d for d in workflow.current_deadlines(verifying) if d.key == "withdrawal_decision"
    ]
    assert (decision.due_on, decision.statutory) == (date(2027, 2, 17), False)
    assert due(verifying)["resolution"] == date(2027, 2, 3)  # not stopped by the withdrawal
    assert workflow.profile_of(verifying).next_statuses("withdrawn", Track.NAMED) == [
        "terminated",
        "verifying",
    ]
    with pytest.raises(WorkflowError) as refused:
        step(verifying, people[0], "closed", date(2027, 2, 11))
    assert refused.value.code == "transition_not_allowed"


def test_a_withdrawn_report_is_terminated_by_a_decision_that_is_notified(
    session: Session, verifying: Case, people: tuple[Inspector, Inspector]
) -> None:
    notified(verifying, people[0], date(2027, 1, 6))
    withdraw(session, verifying, date(2027, 1, 20))
    step(verifying, people[0], "terminated", date(2027, 1, 22))  # Friday
    assert due(verifying) == {"notification": date(2027, 1, 29)}
    assert verifying.events[-1].to_status == "terminated"


def test_going_on_after_a_full_withdrawal_needs_a_ground_of_article_33(
    session: Session, verifying: Case, people: tuple[Inspector, Inspector]
) -> None:
    withdraw(session, verifying, date(2027, 1, 20))
    with pytest.raises(WorkflowError) as refused:
        step(verifying, people[0], "verifying", date(2027, 1, 21))
    assert refused.value.code == "too_few_grounds"
    with pytest.raises(WorkflowError) as unknown:
        step(verifying, people[0], "verifying", date(2027, 1, 21), "several_places")
    assert unknown.value.code == "unknown_ground"
    assert verifying.status == "withdrawn"
    step(verifying, people[0], "verifying", date(2027, 1, 21), "withdrawn_under_pressure")
    assert verifying.events[-1].data == {"legal_grounds": ["withdrawn_under_pressure"]}
    assert "withdrawal_decision" not in due(verifying)
    assert due(verifying)["resolution"] == date(2027, 2, 3)  # the same clock, still running


def test_a_partial_withdrawal_leaves_the_case_and_its_clocks_running(
    session: Session, verifying: Case, people: tuple[Inspector, Inspector]
) -> None:
    before = due(verifying)
    entry = reporter_entry(session, verifying, "partial-withdrawal", date(2027, 1, 20))
    by_reporter = workflow.withdraw_in_part(verifying, today=date(2027, 1, 20), entry=entry)
    assert (by_reporter.kind, by_reporter.actor_kind, by_reporter.message_id) == (
        "partial_withdrawal",
        ActorKind.REPORTER,
        entry.id,
    )
    # A written withdrawal of another part, received by post: recorded by the unit, with
    # what was withdrawn in its sealed grounds.
    by_unit = workflow.withdraw_in_part(
        verifying, today=date(2027, 1, 21), inspector=people[0], now=NOW, grounds=GROUNDS
    )
    assert (by_unit.actor_kind, by_unit.grounds is not None, by_unit.to_status) == (
        ActorKind.INSPECTOR,
        True,
        None,
    )
    assert verifying.status == "verifying"
    assert due(verifying) == before


def test_a_partial_withdrawal_says_what_and_comes_before_the_conclusion(
    verifying: Case, people: tuple[Inspector, Inspector]
) -> None:
    with pytest.raises(WorkflowError) as empty:
        workflow.withdraw_in_part(verifying, today=date(2027, 1, 20), inspector=people[0], now=NOW)
    assert empty.value.code == "grounds_required"
    step(verifying, people[0], "concluded", date(2027, 1, 25))
    with pytest.raises(WorkflowError) as late:
        workflow.withdraw_in_part(
            verifying, today=date(2027, 1, 26), inspector=people[0], now=NOW, grounds=GROUNDS
        )
    assert late.value.code == "withdrawal_closed"
    assert [e.kind for e in verifying.events].count("partial_withdrawal") == 0


# --- LTC Art. 22-23, 29(1)(a): a named web report is formal once its identity is verified --


def test_a_named_web_report_follows_the_anonymous_track_until_verified(
    session: Session, people: tuple[Inspector, Inspector]
) -> None:
    case = unverified(session, people, date(2027, 1, 25))
    assert workflow.awaits_verification(case)
    assert workflow.track_of(case) is Track.ANONYMOUS
    assert set(due(case)) == {"decision"}  # the unit's own target, no statutory clock
    with pytest.raises(WorkflowError, match="a case on the anonymous track cannot go") as refused:
        step(case, people[0], "accepted", date(2027, 1, 26))
    assert refused.value.code == "transition_not_allowed"
    assert not any(d.statutory for d in workflow.current_deadlines(case))


def test_once_verified_the_named_tracks_clocks_count_from_the_verification_across_tet(
    session: Session, people: tuple[Inspector, Inspector]
) -> None:
    case = unverified(session, people, date(2027, 1, 25))
    step(case, people[0], "triage", date(2027, 1, 27))
    # The reporter brings a signed letter on Wednesday 3 February, the eve of Tết.
    event = workflow.verify_identity(
        case, "signed_letter", today=date(2027, 2, 3), inspector=people[0], now=NOW,
        grounds=GROUNDS,
    )  # fmt: skip
    assert (event.kind, event.data, event.to_status) == (
        "identity_verification",
        {"means": "signed_letter"},
        None,
    )
    assert workflow.track_of(case) is Track.NAMED
    # Seven working days from 3 February, Tết (4-10 February) skipped: 19 February.
    assert due(case) == {"triage": date(2027, 2, 19)}
    step(case, people[0], "accepted", date(2027, 2, 11))
    assert due(case)["resolution"] == date(2027, 3, 13 + 2)  # 13 March is a Saturday


def test_verification_is_recorded_once_for_a_named_report_before_a_decision(
    session: Session, people: tuple[Inspector, Inspector]
) -> None:
    case = unverified(session, people, date(2027, 1, 25))
    with pytest.raises(WorkflowError) as means:
        workflow.verify_identity(
            case, "telepathy", today=date(2027, 1, 26), inspector=people[0], now=NOW
        )
    assert means.value.code == "unknown_means"
    workflow.verify_identity(case, "other", today=date(2027, 1, 26), inspector=people[0], now=NOW)
    assert not workflow.may_verify_identity(case)
    with pytest.raises(WorkflowError) as twice:
        workflow.verify_identity(
            case, "in_person", today=date(2027, 1, 27), inspector=people[0], now=NOW
        )
    assert twice.value.code == "verification_not_allowed"
    anonymous = new_case(session, people, Track.ANONYMOUS, date(2027, 1, 25))
    assert not workflow.may_verify_identity(anonymous)
    late = unverified(session, people, date(2027, 1, 25))
    step(late, people[0], "verifying", date(2027, 1, 26))  # checked as an unsigned report
    assert not workflow.may_verify_identity(late)
    with pytest.raises(WorkflowError):
        workflow.verify_identity(
            late, "in_person", today=date(2027, 1, 27), inspector=people[0], now=NOW
        )


def test_a_profile_without_verification_makes_a_named_report_formal_at_once(
    session: Session, people: tuple[Inspector, Inspector]
) -> None:
    people[0].unit.profile = "eu-2019-1937"
    case = unverified(session, people, date(2027, 1, 8))
    assert not workflow.awaits_verification(case)
    assert workflow.track_of(case) is Track.NAMED
    assert not workflow.may_verify_identity(case)


def test_a_named_report_accepted_before_verification_was_asked_for_keeps_its_track(
    session: Session, people: tuple[Inspector, Inspector]
) -> None:
    """Cases stored before this rule: one the unit already accepted was handled as a
    formal denunciation, and stays one; one still in triage now awaits verification."""
    accepted = unverified(session, people, date(2026, 11, 2))
    accepted.events.append(
        CaseEvent(
            kind="status_change", from_status="received", to_status="accepted",
            actor_kind=ActorKind.INSPECTOR, inspector=people[0], occurred_on=date(2026, 11, 4),
            occurred_at=NOW, data={},
        )
    )  # fmt: skip
    accepted.status = "accepted"
    workflow.refresh(accepted, date(2026, 11, 4))
    assert workflow.track_of(accepted) is Track.NAMED
    assert "resolution" in due(accepted)
    waiting = unverified(session, people, date(2026, 11, 2))
    assert workflow.track_of(waiting) is Track.ANONYMOUS


# --- the law in force on the day of receipt ---------------------------------------------


@pytest.mark.parametrize(
    ("received", "followed", "going_on"),
    [
        (date(2026, 6, 30), "vn-denunciation-2018", "ltc-art33-3"),
        (date(2026, 7, 1), "vn-denunciation-2026", "nd31-art4-2026"),
    ],
)
def test_a_case_follows_the_profile_in_force_the_day_it_was_received(
    session: Session,
    people: tuple[Inspector, Inspector],
    received: date,
    followed: str,
    going_on: str,
) -> None:
    people[0].unit.profile = "vn-denunciation-2026"
    case = new_case(session, people, Track.NAMED, received)
    assert workflow.profile_of(case).name == followed
    # Received on Tuesday 30 June or Wednesday 1 July 2026: triage is due 7 working days
    # later either way (the periods did not change), 9 or 10 July.
    assert due(case)["triage"] == received + timedelta(days=9)
    step(case, people[0], "accepted", received + timedelta(days=1))
    entry = reporter_entry(session, case, "withdrawal", received + timedelta(days=2))
    workflow.transition(case, "withdrawn", today=received + timedelta(days=2), entry=entry)
    step_out = workflow.profile_of(case).transition("withdrawn", "verifying", Track.NAMED, "unit")
    assert step_out is not None
    assert step_out.legal_grounds is not None
    assert step_out.legal_grounds.name == going_on
    step(case, people[0], "verifying", received + timedelta(days=3), "signs_of_violation")
    assert case.status == "verifying"


# --- LTC Art. 24(3): not handled at all ----------------------------------------------------


@pytest.mark.parametrize("profile", ["vn-denunciation-2018", "vn-denunciation-2026"])
@pytest.mark.parametrize("track", [Track.NAMED, Track.ANONYMOUS])
def test_a_report_the_competent_body_already_has_is_not_handled_and_owes_no_clock(
    session: Session, people: tuple[Inspector, Inspector], profile: str, track: Track
) -> None:
    people[0].unit.profile = profile
    # Received on Tuesday 2 February 2027, two days before the Tết holiday.
    case = new_case(session, people, track, date(2027, 2, 2))
    assert due(case)  # the first decision's clock runs
    with pytest.raises(WorkflowError) as refused:
        step(case, people[0], "not_handled", date(2027, 2, 3))
    assert refused.value.code == "too_few_grounds"
    step(case, people[0], "not_handled", date(2027, 2, 3), "sent_to_competent_body_too")
    assert case.status == "not_handled"
    assert case.events[-1].data == {"legal_grounds": ["sent_to_competent_body_too"]}
    # Not forwarded, no notice owed (LTC Art. 24(3)): no clock runs, none is overdue later.
    assert due(case) == {}
    workflow.refresh(case, date(2027, 3, 31))
    assert due(case) == {}
    step(case, people[0], "closed", date(2027, 3, 31))
    assert case.status == "closed"


def test_only_a_report_not_yet_decided_on_can_be_left_unhandled(
    verifying: Case, people: tuple[Inspector, Inspector]
) -> None:
    with pytest.raises(WorkflowError) as refused:
        step(verifying, people[0], "not_handled", date(2027, 2, 11), "sent_again_after_guidance")
    assert refused.value.code == "transition_not_allowed"
    assert verifying.status == "verifying"

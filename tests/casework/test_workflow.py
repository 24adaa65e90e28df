"""The legal workflow on real dates: transitions, clocks, suspensions, extensions (escalation:
tests/casework/test_escalation.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from casework import protection, workflow
from casework.workflow import WorkflowError
from store.models import ActorKind, Case, Inspector, InspectorRole, Message, Party, Track
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
    case = add_case(session, people[0].unit, track=track, received_on=on, status_changed_on=on)
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


def step(case: Case, by: Inspector, target: str, on: date) -> None:
    workflow.transition(case, target, today=on, inspector=by, now=NOW, grounds=GROUNDS)


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
    step(named, inspector, "suspended", date(2027, 3, 10))
    [paused] = [d for d in workflow.current_deadlines(named) if d.key == "resolution"]
    assert paused.paused
    assert paused.used == 9
    assert paused.allowance == 30
    # While suspended nothing is due, so nothing can be overdue.
    assert named.next_due == date(2027, 3, 8)  # the notice to the parties still runs
    step(named, inspector, "verifying", date(2027, 3, 20))
    # 31 March + 10 paused days = Saturday 10 April: Monday 12 April.
    assert due(named)["resolution"] == date(2027, 4, 12)
    for _ in range(2):
        workflow.extend(
            named,
            "resolution",
            inspector=inspector,
            today=date(2027, 4, 1),
            now=NOW,
            grounds=GROUNDS,
        )
    # 90 days from 1 March is 30 May, plus 10 paused: 9 June (Wednesday).
    assert due(named)["resolution"] == date(2027, 6, 9)
    with pytest.raises(WorkflowError, match="allows 2 extension"):
        workflow.extend(
            named,
            "resolution",
            inspector=inspector,
            today=date(2027, 4, 2),
            now=NOW,
            grounds=GROUNDS,
        )


def test_an_invalid_transition_is_refused_naming_what_is_allowed(
    named: Case, people: tuple[Inspector, Inspector]
) -> None:
    with pytest.raises(WorkflowError) as refused:
        step(named, people[0], "concluded", date(2027, 2, 2))
    assert refused.value.code == "transition_not_allowed"
    assert "allowed: triage, accepted, not_accepted, forwarded" in str(refused.value)
    assert named.status == "received"
    assert named.events == []


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
    [event] = named.events
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
    # The acceptance happened: the person accused is still owed its notice.
    assert set(due(named)) == {"notification", "accused_notice"}
    with pytest.raises(WorkflowError):
        workflow.transition(named, "withdrawn", today=date(2027, 3, 3))
    # Art. 33: the unit may go on when the report shows signs of a violation.
    step(named, people[0], "verifying", date(2027, 3, 4))


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

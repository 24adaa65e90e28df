"""Registering a report that arrived on paper or in person (docs/workflow.md, "Reports on
paper or in person").

Most denunciations still come as letters, at the unit's monthly citizen reception, or sent
in by the press or an authority. An inspector types such a report into the review app,
which seals it in the request's memory exactly as the public app seals a report sent
without JavaScript (``casework.sealing``) and stores it through the one intake path
(``casework.intake``): the case cannot be told from a web case by its format, and the
reporter follows it with the follow-up code printed on the receipt.

What the paper says about its own arrival is recorded as events, on the day the report was
received (its clocks count from that day, which may be before the day it is typed in):

- ``registration`` (a letter, or in person at the reception) or ``sent_in`` (sent in by
  the press or an authority), with ``{"channel": ...}``; a sending body's name is sealed
  as the event's grounds, for the unit only. ``sent_in`` starts the profile's clock for
  sending that body the result (LTC Art. 26(2)); recording ``result_to_sender`` stops it.
- ``identity_verification`` with ``{"means": "in_person" | "signed_letter"}`` when a named
  report was handed over in person or by a letter the reporter signed (LTC Art. 22-23,
  29(1)(a)).

Pure Python: no Flask. The caller owns the transaction.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy.orm import Session

from casework import access, intake, workflow
from casework.errors import CaseworkError
from store.models import Case, Inspector, InspectorRole

REGISTRATION = "registration"  # a letter, or a report made in person
SENT_IN = "sent_in"  # sent in by the press or an authority: LTC Art. 26
IDENTITY_VERIFICATION = "identity_verification"
RESULT_TO_SENDER = workflow.RESULT_TO_SENDER  # recorded from the workflow page
MAX_SENDER_CHARS = 300
# Who may register a report: the people who read cases, since the registering inspector
# seals the sending body's name with the case's unit key, opened through their own wrap.
REGISTRARS = frozenset({InspectorRole.INSPECTOR, InspectorRole.CUSTODIAN})


class Channel(enum.StrEnum):
    LETTER = "letter"
    IN_PERSON = "in_person"  # at the citizen reception
    PRESS = "press"
    AUTHORITY = "authority"


SENDING_BODIES = frozenset({Channel.PRESS, Channel.AUTHORITY})


class Means(enum.StrEnum):
    """How a named reporter's identity was seen (``identity_verification``)."""

    IN_PERSON = "in_person"
    SIGNED_LETTER = "signed_letter"


class RegistrationError(CaseworkError):
    """The arrival as typed cannot be registered; ``code`` names the field's problem."""


@dataclass(frozen=True)
class Arrival:
    """How and when the report reached the unit."""

    channel: Channel
    received_on: date
    sender: str = ""  # the sending body's name, for the press or an authority
    signed: bool = False  # a letter signed or fingerprinted by the reporter

    def verified_by(self, *, named: bool) -> Means | None:
        """How the reporter's identity was seen, if it was: a named report handed over in
        person, or a named letter the reporter signed."""
        if not named:
            return None
        if self.channel is Channel.IN_PERSON:
            return Means.IN_PERSON
        if self.channel is Channel.LETTER and self.signed:
            return Means.SIGNED_LETTER
        return None


def check_arrival(arrival: Arrival, today: date) -> None:
    """Refuse an arrival that cannot be true (raises RegistrationError)."""
    if arrival.received_on > today:
        raise RegistrationError("received_in_future", "the report cannot arrive after today")
    if arrival.channel in SENDING_BODIES:
        if not arrival.sender.strip():
            raise RegistrationError("sender_missing", "name the body that sent the report in")
        if len(arrival.sender) > MAX_SENDER_CHARS:
            raise RegistrationError("sender_too_long", "the sending body's name is too long")
    elif arrival.sender.strip():
        raise RegistrationError("sender_unexpected", "only a report sent in has a sender")
    if arrival.signed and arrival.channel is not Channel.LETTER:
        raise RegistrationError("signed_not_letter", "only a letter is signed")


def register(
    session: Session,
    submission: intake.Submission,
    arrival: Arrival,
    lookup_hash: bytes,
    *,
    inspector: Inspector,
    private_key: X25519PrivateKey,
    today: date,
    now: datetime,
) -> Case:
    """Store the sealed report as a case received on ``arrival.received_on``, with the
    events of its arrival; the caller has run ``intake.validate`` and commits."""
    if inspector.role not in REGISTRARS:
        raise RegistrationError("not_a_reader", "only people who read cases register reports")
    check_arrival(arrival, today)
    case = intake.accept(session, submission, inspector.unit, lookup_hash, arrival.received_on)
    _record_arrival(session, case, arrival, inspector, private_key, today, now)
    means = arrival.verified_by(named=submission.identity is not None)
    if means is not None:
        workflow.note(
            case,
            IDENTITY_VERIFICATION,
            on=arrival.received_on,
            inspector=inspector,
            now=now,
            data={"means": means.value},
        )
    workflow.refresh(case, today)
    return case


def _record_arrival(
    session: Session,
    case: Case,
    arrival: Arrival,
    inspector: Inspector,
    private_key: X25519PrivateKey,
    today: date,
    now: datetime,
) -> None:
    sender = None
    if arrival.channel in SENDING_BODIES:
        # The unit's note, out of the reporter's reach like every decision's grounds.
        keys = access.writer_keys(session, case, inspector, private_key, today)
        sender = access.seal_note(keys, case, "grounds", arrival.sender.strip())
    workflow.note(
        case,
        SENT_IN if sender is not None else REGISTRATION,
        on=arrival.received_on,
        inspector=inspector,
        now=now,
        data={"channel": arrival.channel.value},
        grounds=sender,
    )

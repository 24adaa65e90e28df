"""The daily digest: one e-mail to each member of staff who chose it, with counts only.

Staff otherwise learn of new reports, urgent protection requests, retaliation reports and
deadlines due only by signing in. ``send_digests`` (run by ``minhbach notify digest`` from
a systemd timer) sends each active account with ``notify_digest`` set and an address
ONE message with five counts of its own unit, and a link to the review app:

- new reports received since the day of the person's last digest (or since yesterday);
- urgent protection requests still waiting for a decision;
- retaliation reports waiting for the unit's response (``protection.incident_pending``);
- cases with a deadline due within ``due_soon_days`` days, and cases overdue.

Whose numbers: a supervisor's count every case of the unit, as their dashboard does; an
inspector's or custodian's only the cases they may open, by the inbox's rule
(``inbox.readable_by``: their own key, no exclusion), so a person the reporter excluded
never learns from an e-mail that a report came in. Administrators read no cases and get
no digest. The counts are aggregates in SQL (``count`` over ``CASE``, as the dashboard's),
three statements a person; only pending retaliation reports are judged in Python, by the
rule that flags a case urgent.
E-mail leaves the instance in clear, through servers it does not control: a digest says
nothing but numbers, never a reference, category, name, date of a case or anything a
reporter wrote. No message is sent when every count is zero. Each message goes over its
own SMTP connection, so one refused recipient or a dropped connection costs only that
message; the failure is returned (and audited) and the others are still sent. A sent
digest is recorded on the account (``digest_sent_at``) and in the audit log, committed
before the next one, so a rerun after a crash sends nobody a second message that day.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import ColumnElement, Integer, and_, bindparam, case, func, select
from sqlalchemy.orm import Session, selectinload

from casework import audit as audit_log
from casework import dashboard, inbox, protection
from casework.dates import UNIT_TIME_ZONE, unit_today
from casework.settings import SMTP_STARTTLS, SMTP_TLS, MailSettings
from store.models import Case, Inspector, InspectorRole, ProtectionRecord, RetaliationIncident

DEFAULT_DUE_SOON_DAYS = 7
SMTP_TIMEOUT_SECONDS = 30
SENT = "digest_sent"
FAILED = "digest_failed"

Gettext = Callable[[str], str]
Ngettext = Callable[[str, str, int], str]


@dataclass(frozen=True)
class Counts:
    """What one digest says: numbers of the cases the person may know of, nothing else."""

    new_reports: int
    urgent_protection: int
    retaliation_waiting: int
    due_soon: int
    overdue: int

    def __bool__(self) -> bool:
        return any(vars(self).values())


@dataclass(frozen=True)
class Outcome:
    sent: tuple[str, ...]  # user names
    skipped: tuple[str, ...]  # nothing to say
    failed: tuple[tuple[str, str], ...]  # (user name, reason)


def recipients(session: Session) -> list[Inspector]:
    """Active accounts that chose the digest and gave an address, by unit and name."""
    query = (
        select(Inspector)
        .where(
            Inspector.active.is_(True),
            Inspector.notify_digest.is_(True),
            Inspector.notify_email.is_not(None),
            Inspector.role != InspectorRole.ADMIN,  # reads no cases: nothing to count
        )
        .order_by(Inspector.unit_id, Inspector.username)
    )
    return list(session.scalars(query))


def since(inspector: Inspector, today: date) -> date:
    """The first day whose new reports the digest counts: the day of the last digest (a
    case of that day may have come after it; counting it twice beats missing it), else
    yesterday."""
    if inspector.digest_sent_at is None:
        return today - timedelta(days=1)
    return min(today, inspector.digest_sent_at.astimezone(UNIT_TIME_ZONE).date())


def scope(inspector: Inspector) -> ColumnElement[bool]:
    """The cases whose numbers this person may learn: for a supervisor, every case of the
    unit (what the dashboard shows them); for an inspector or custodian, the cases of the
    unit they may open (``inbox.readable_by``), so that nobody the reporter excluded for
    a conflict of interest learns from an e-mail that a report came in."""
    of_unit = Case.unit_id == inspector.unit_id
    if inspector.role is InspectorRole.SUPERVISOR:
        return of_unit
    return and_(of_unit, inbox.readable_by(bindparam("reader", inspector.id, type_=Integer)))


def counts_for(session: Session, inspector: Inspector, today: date, due_soon_days: int) -> Counts:
    where = scope(inspector)
    horizon = today + timedelta(days=due_soon_days)
    cases = select(
        func.count(case((Case.received_on >= since(inspector, today), 1))),
        func.count(case((Case.next_due < today, 1))),
        func.count(case((Case.next_due.between(today, horizon), 1))),
    ).where(where)
    new, overdue, due_soon = session.execute(cases).one()
    urgent = (
        select(func.count())
        .select_from(ProtectionRecord)
        .join(Case, Case.id == ProtectionRecord.case_id)
        .where(
            where,
            ProtectionRecord.urgent.is_(True),
            ProtectionRecord.state.in_(dashboard.PENDING_STATES),
        )
    )
    return Counts(
        new_reports=int(new),
        urgent_protection=int(session.execute(urgent).scalar_one()),
        retaliation_waiting=retaliation_waiting(session, where),
        due_soon=int(due_soon),
        overdue=int(overdue),
    )


def retaliation_waiting(session: Session, where: ColumnElement[bool]) -> int:
    """Incidents of open cases waiting for the unit, by the rule that flags a case urgent
    (``protection.incident_pending``); a unit has few, read with their notes."""
    query = (
        select(RetaliationIncident)
        .join(Case, Case.id == RetaliationIncident.case_id)
        .where(where, Case.closed_on.is_(None))
        .options(selectinload(RetaliationIncident.notes))
    )
    return sum(protection.incident_pending(incident) for incident in session.scalars(query))


def compose(
    counts: Counts,
    address: str,
    mail: MailSettings,
    due_soon_days: int,
    gettext: Gettext,
    ngettext: Ngettext,
) -> EmailMessage:
    """The message: a fixed subject, the counts, the link; plain text only."""
    message = EmailMessage()
    message["Subject"] = gettext("minhbach: your daily summary")
    message["From"] = mail.from_address
    message["To"] = address
    message["Date"] = format_datetime(datetime.now(UNIT_TIME_ZONE))
    message["Message-ID"] = make_msgid(domain=mail.from_address.partition("@")[2])
    message.set_content("\n".join(_body(counts, mail.review_url, due_soon_days, gettext, ngettext)))
    return message


def _body(
    counts: Counts, review_url: str, due_soon_days: int, gettext: Gettext, ngettext: Ngettext
) -> Iterator[str]:
    yield gettext("Your unit in the review app today:")
    yield ""
    lines = (
        (counts.new_reports, gettext("New reports since the last summary: %(num)d")),
        (counts.urgent_protection, gettext("Urgent protection requests waiting: %(num)d")),
        (counts.retaliation_waiting, gettext("Retaliation reports waiting: %(num)d")),
        (
            counts.due_soon,
            ngettext(
                "Deadlines due within %(days)d day: %(num)d",
                "Deadlines due within %(days)d days: %(num)d",
                due_soon_days,
            ),
        ),
        (counts.overdue, gettext("Overdue deadlines: %(num)d")),
    )
    for number, line in lines:
        yield "- " + line % {"num": number, "days": due_soon_days}
    yield ""
    yield gettext("Sign in to see them: %(url)s") % {"url": review_url}
    yield ""
    yield gettext(
        "This e-mail never says more than these numbers. To stop it, untick the daily "
        "summary on your account page in the review app."
    )


def deliver(message: EmailMessage, mail: MailSettings) -> None:
    """Send one message over its own connection; raises OSError or SMTPException."""
    with _connect(mail) as smtp:
        if mail.user is not None and mail.password is not None:
            smtp.login(mail.user, mail.password)
        smtp.send_message(message)


def _connect(mail: MailSettings) -> smtplib.SMTP:
    """A connection, encrypted before the first command that matters when so configured;
    certificates are checked against the system's authorities."""
    context = ssl.create_default_context()
    if mail.security == SMTP_TLS:
        return smtplib.SMTP_SSL(mail.host, mail.port, timeout=SMTP_TIMEOUT_SECONDS, context=context)
    smtp = smtplib.SMTP(mail.host, mail.port, timeout=SMTP_TIMEOUT_SECONDS)
    if mail.security == SMTP_STARTTLS:
        try:
            smtp.starttls(context=context)
        except BaseException:
            smtp.close()
            raise
    return smtp


def send_digests(
    session: Session,
    mail: MailSettings,
    now: datetime,
    gettext: Gettext,
    ngettext: Ngettext,
    due_soon_days: int = DEFAULT_DUE_SOON_DAYS,
) -> Outcome:
    """Send every digest due at ``now`` (aware); commits after each message sent or
    failed."""
    today = unit_today(now)
    sent: list[str] = []
    skipped: list[str] = []
    failed: list[tuple[str, str]] = []
    for inspector in recipients(session):
        counts = counts_for(session, inspector, today, due_soon_days)
        if not counts:
            skipped.append(inspector.username)
            continue
        address = inspector.notify_email
        assert address is not None, "recipients() selects accounts with an address"
        message = compose(counts, address, mail, due_soon_days, gettext, ngettext)
        try:
            deliver(message, mail)
        except (OSError, smtplib.SMTPException) as error:
            reason = _reason(error)
            failed.append((inspector.username, reason))
            _audit(session, FAILED, inspector, {"reason": reason})
            continue
        inspector.digest_sent_at = now
        sent.append(inspector.username)
        _audit(session, SENT, inspector, vars(counts))
    return Outcome(tuple(sent), tuple(skipped), tuple(failed))


def _audit(session: Session, action: str, inspector: Inspector, details: dict[str, object]) -> None:
    audit_log.append(
        session, actor=audit_log.SYSTEM, action=action, target=inspector.username, details=details
    )
    session.commit()


def _reason(error: BaseException) -> str:
    """What went wrong, for the operator and the audit log: the error's kind and the SMTP
    code, never the server's words, which may quote the address (the audit log is kept
    forever and holds no address) or the message."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in error.recipients.values()})
        return f"the server refused the recipient (SMTP {', '.join(map(str, codes))})"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{type(error).__name__}: SMTP {error.smtp_code}"
    return f"{type(error).__name__}: {error}"[:200]

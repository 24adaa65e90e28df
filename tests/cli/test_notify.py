"""``minhbach notify digest`` against a real SMTP server (aiosmtpd) started by the tests."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from datetime import date, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from casework.settings import ConfigError, MailSettings
from store.models import (
    AuditEntry,
    CaseExclusion,
    Inspector,
    InspectorRole,
    Party,
    ProtectedPerson,
    ProtectionCategory,
    ProtectionRecord,
    ProtectionState,
    RecipientKind,
    RetaliationIncident,
    RetaliationKind,
    Unit,
)
from tests.cli.helpers import Invoke, assert_ok, assert_refused
from tests.deploy.test_nginx import self_signed
from tests.store.factories import add_case, add_inspector, add_unit, add_wrap

TODAY = date(2027, 2, 15)  # a Monday, two days before Tết 2027
REVIEW_URL = "https://review.example.vn/"
CATEGORY_CANARY = "canary-category-land-grab"


class Inbox:
    """An aiosmtpd handler that keeps what it receives and refuses the addresses given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: set[str] = set()
        self.refuse_data = False

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refuse_data:
            return f"554 5.7.1 message from {envelope.mail_from} to {envelope.rcpt_tos} refused"
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def inbox(initialised: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    for name, value in {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_SECURITY": "none",  # a relay on this host, as docs/operations.md allows
        "MAIL_FROM": "minhbach@example.vn",
        "REVIEW_URL": REVIEW_URL,
        "DEFAULT_LANGUAGE": "en",
    }.items():
        monkeypatch.setenv("MINHBACH_" + name, value)
    yield handler
    controller.stop()


def staff(
    session: Session,
    unit: Unit,
    username: str,
    email: str | None,
    opted_in: bool,
    role: InspectorRole = InspectorRole.SUPERVISOR,
) -> Inspector:
    inspector = add_inspector(session, unit, username, role)
    inspector.notify_email = email
    inspector.notify_digest = opted_in
    return inspector


def busy_unit(database: sessionmaker[Session]) -> list[str]:
    """A unit with something of each kind; returns the cases' references (canaries)."""
    with database() as session:
        unit = add_unit(session)
        quiet = add_unit(session, "so-tu-phap")
        cases = [
            add_case(session, unit, received_on=TODAY, category=CATEGORY_CANARY),
            add_case(session, unit, received_on=TODAY - timedelta(days=1)),
            add_case(session, unit, received_on=date(2026, 12, 1), next_due=date(2027, 1, 5)),
            add_case(session, unit, received_on=date(2027, 1, 4), next_due=date(2027, 2, 19)),
            add_case(session, unit, received_on=date(2027, 1, 4), next_due=date(2027, 3, 30)),
        ]
        urgent = ProtectionRecord(
            case=cases[2], person=ProtectedPerson.REPORTER, category=ProtectionCategory.JOB,
            state=ProtectionState.REQUESTED, urgent=True, requested_by=Party.REPORTER,
            requested_on=TODAY - timedelta(days=2),
        )  # fmt: skip
        incident = RetaliationIncident(
            case=cases[3], kind=RetaliationKind.DISMISSAL, reported_on=TODAY,
            source=Party.REPORTER,
        )  # fmt: skip
        session.add_all([urgent, incident])
        staff(session, unit, "lan.tran", "lan@example.vn", opted_in=True)
        staff(session, unit, "binh.le", "binh@example.vn", opted_in=False)
        staff(session, unit, "chi.pham", None, opted_in=True)
        staff(session, unit, "em.ha", "em@example.vn", opted_in=True, role=InspectorRole.ADMIN)
        staff(session, quiet, "dung.vo", "dung@example.vn", opted_in=True)
        # An inspector who reads today's report and the one with the urgent request, and
        # whom the reporter of yesterday's report excluded.
        reader = staff(
            session, unit, "giang.mai", "giang@example.vn", True, InspectorRole.INSPECTOR
        )
        for readable in (cases[0], cases[2]):
            add_wrap(session, readable, RecipientKind.INSPECTOR, reader)
        add_wrap(session, cases[1], RecipientKind.INSPECTOR, reader)  # granted by mistake
        session.add(CaseExclusion(case=cases[1], inspector=reader))
        session.commit()
        return [case.public_id for case in cases]


def digest(invoke: Invoke, *extra: str) -> Any:
    return invoke("notify", "digest", "--today", TODAY.isoformat(), *extra)


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_one_message_of_counts_to_each_who_chose_it(
    invoke: Invoke, database: sessionmaker[Session], inbox: Inbox
) -> None:
    references = busy_unit(database)
    output = assert_ok(digest(invoke))
    assert "digests sent: 2; nothing to say: 1; failed: 0" in output
    # binh opted out, chi gave no address, em administers (reads no cases), dung's unit
    # has nothing to say.
    assert sorted(message["To"] for message in inbox.messages) == [
        "giang@example.vn",
        "lan@example.vn",
    ]
    message = to(inbox, "lan@example.vn")
    assert message["From"] == "minhbach@example.vn"
    assert message["Subject"] == "minhbach: your daily summary"
    text = body(message)
    assert "New reports since the last summary: 2" in text  # today's and yesterday's
    assert "Urgent protection requests waiting: 1" in text
    assert "Retaliation reports waiting: 1" in text
    assert "Deadlines due within 7 days: 1" in text  # 19 Feb, not 30 Mar
    assert "Overdue deadlines: 1" in text
    assert REVIEW_URL in text
    everything = message.as_string()
    for secret in (*references, CATEGORY_CANARY, "land", "Nguyễn", "dismissal", "job"):
        assert secret not in everything
    with database() as session:
        lan = session.scalar(select(Inspector).where(Inspector.username == "lan.tran"))
        assert lan is not None
        assert lan.digest_sent_at is not None
        query = select(AuditEntry).where(
            AuditEntry.action == "digest_sent", AuditEntry.target == "lan.tran"
        )
        entry = session.scalar(query)
        assert entry is not None
        assert entry.details["new_reports"] == 2


def to(inbox: Inbox, address: str) -> EmailMessage:
    [message] = [message for message in inbox.messages if message["To"] == address]
    return message


def test_an_inspector_hears_only_of_the_cases_they_may_open(
    invoke: Invoke, database: sessionmaker[Session], inbox: Inbox
) -> None:
    busy_unit(database)
    assert_ok(digest(invoke))
    text = body(to(inbox, "giang@example.vn"))
    # Today's report, not yesterday's (excluded, though a key was granted by mistake).
    assert "New reports since the last summary: 1" in text
    assert "Urgent protection requests waiting: 1" in text
    assert "Retaliation reports waiting: 0" in text  # on a case they do not read
    assert "Deadlines due within 7 days: 0" in text
    assert "Overdue deadlines: 1" in text


def test_the_next_digest_counts_new_reports_from_the_last_one(
    invoke: Invoke, database: sessionmaker[Session], inbox: Inbox
) -> None:
    busy_unit(database)
    assert_ok(digest(invoke))
    assert_ok(digest(invoke))
    # Yesterday's case was in the first digest; today's may have come after it.
    second = [m for m in inbox.messages if m["To"] == "lan@example.vn"][1]
    assert "New reports since the last summary: 1" in body(second)


def test_a_wider_window_counts_more_deadlines(
    invoke: Invoke, database: sessionmaker[Session], inbox: Inbox
) -> None:
    busy_unit(database)
    assert_ok(digest(invoke, "--due-soon-days", "60"))
    assert "Deadlines due within 60 days: 2" in body(to(inbox, "lan@example.vn"))


def test_nothing_is_sent_when_there_is_nothing_to_say(
    invoke: Invoke, database: sessionmaker[Session], inbox: Inbox
) -> None:
    with database() as session:
        staff(session, add_unit(session), "lan.tran", "lan@example.vn", opted_in=True)
        session.commit()
    assert "digests sent: 0; nothing to say: 1" in assert_ok(digest(invoke))
    assert inbox.messages == []


def test_a_refused_recipient_is_reported_and_the_others_still_get_theirs(
    invoke: Invoke, database: sessionmaker[Session], inbox: Inbox
) -> None:
    busy_unit(database)
    with database() as session:
        unit = session.scalar(select(Unit).where(Unit.slug == "thanh-tra-tinh"))
        assert unit is not None
        staff(session, unit, "an.do", "an@example.vn", opted_in=True)
        session.commit()
    inbox.refuse.add("an@example.vn")
    output = assert_refused(digest(invoke), "1 digest(s) could not be sent")
    assert "not sent to an.do: the server refused the recipient (SMTP 550)" in output
    assert sorted(message["To"] for message in inbox.messages) == [
        "giang@example.vn",
        "lan@example.vn",
    ]
    with database() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "digest_failed"))
        assert entry is not None
        assert entry.target == "an.do"
        an = session.scalar(select(Inspector).where(Inspector.username == "an.do"))
        assert an is not None
        assert an.digest_sent_at is None  # tried again with the next digest


def test_a_refused_message_is_reported_without_the_servers_words(
    invoke: Invoke, database: sessionmaker[Session], inbox: Inbox
) -> None:
    busy_unit(database)
    inbox.refuse_data = True
    output = assert_refused(digest(invoke), "2 digest(s) could not be sent")
    assert "not sent to lan.tran: SMTPDataError: SMTP 554" in output
    assert "lan@example.vn" not in output
    with database() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "digest_failed"))
        assert "@example.vn" not in str([entry.details for entry in entries])


def test_an_unreachable_server_is_reported_clearly(
    invoke: Invoke,
    database: sessionmaker[Session],
    inbox: Inbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    busy_unit(database)
    monkeypatch.setenv("MINHBACH_SMTP_PORT", str(free_port()))  # nothing listens there
    output = assert_refused(digest(invoke), "2 digest(s) could not be sent")
    assert "not sent to lan.tran: ConnectionRefusedError" in output


def test_a_certificate_that_does_not_verify_is_refused_before_anything_is_sent(
    invoke: Invoke,
    database: sessionmaker[Session],
    inbox: Inbox,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """STARTTLS (the default) against a server with a self-signed certificate: refused,
    so neither a password nor a message goes to a server that is not who it says."""
    certificate = self_signed(tmp_path / "tls")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, certificate.parent / "privkey.pem")
    handler, port = Inbox(), free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
    )
    controller.start()
    try:
        busy_unit(database)
        monkeypatch.setenv("MINHBACH_SMTP_PORT", str(port))
        monkeypatch.setenv("MINHBACH_SMTP_SECURITY", "starttls")
        output = assert_refused(digest(invoke), "2 digest(s) could not be sent")
    finally:
        controller.stop()
    assert "not sent to lan.tran: SSLCertVerificationError" in output
    assert handler.messages == []


def test_missing_mail_settings_are_named(
    invoke: Invoke, database: sessionmaker[Session], inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MINHBACH_SMTP_HOST")
    assert_refused(digest(invoke), "MINHBACH_SMTP_HOST is not set")


MAIL = {
    "MINHBACH_SMTP_HOST": "mail.example.vn",
    "MINHBACH_MAIL_FROM": "minhbach@example.vn",
    "MINHBACH_REVIEW_URL": REVIEW_URL,
}


def test_mail_settings_defaults_and_password_file(tmp_path: Path) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret\n", encoding="utf-8")
    env = {**MAIL, "MINHBACH_SMTP_USER": "minhbach", "MINHBACH_SMTP_PASSWORD_FILE": str(secret)}
    mail = MailSettings.from_env(env)
    assert (mail.security, mail.port, mail.password) == ("starttls", 587, "s3cret")
    assert "s3cret" not in repr(mail)
    assert MailSettings.from_env({**MAIL, "MINHBACH_SMTP_SECURITY": "tls"}).port == 465


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"MINHBACH_SMTP_SECURITY": "ssl"}, "MINHBACH_SMTP_SECURITY must be one of"),
        ({"MINHBACH_SMTP_PORT": "0"}, "MINHBACH_SMTP_PORT must be between 1 and 65535"),
        ({"MINHBACH_MAIL_FROM": "a@b.vn, c@d.vn"}, "MINHBACH_MAIL_FROM must be one e-mail"),
        ({"MINHBACH_REVIEW_URL": "review.local"}, "MINHBACH_REVIEW_URL must be an http"),
        ({"MINHBACH_SMTP_USER": "minhbach"}, "go together"),
        ({"MINHBACH_SMTP_PASSWORD_FILE": "/nonexistent/file"}, "cannot read /nonexistent/file"),
        (
            {
                "MINHBACH_SMTP_SECURITY": "none",
                "MINHBACH_SMTP_USER": "minhbach",
                "MINHBACH_SMTP_PASSWORD": "s3cret",
            },
            "would send the SMTP password in clear",
        ),
    ],
)
def test_bad_mail_settings_are_refused_clearly(change: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        MailSettings.from_env({**MAIL, **change})

"""``minhbach notify digest``: the daily e-mail of counts to staff who chose it.

Started once a day by minhbach-notify-digest.timer (deploy/systemd). What is sent, to
whom and what is never in it: casework.notify. The SMTP server and the review app's
address come from MINHBACH_SMTP_* , MINHBACH_MAIL_FROM and MINHBACH_REVIEW_URL
(casework.settings.MailSettings; docs/operations.md). The message is in the instance's
MINHBACH_DEFAULT_LANGUAGE, from the catalogues the apps use (web/translations, shipped as
package data and read here as files: the CLI imports no web code).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import click
from babel.support import Translations

from casework.dates import UNIT_TIME_ZONE
from casework.notify import DEFAULT_DUE_SOON_DAYS, Outcome, send_digests
from casework.settings import MailSettings
from cli.runtime import Runtime, pass_runtime

DIGEST_TIME = time(7, 0, tzinfo=UNIT_TIME_ZONE)
TRANSLATIONS = Path(__file__).resolve().parents[1] / "web" / "translations"


@click.group()
def notify() -> None:
    """E-mail to staff."""


@notify.command("digest")
@click.option(
    "--due-soon-days",
    type=click.IntRange(0, 366),
    default=DEFAULT_DUE_SOON_DAYS,
    show_default=True,
    help="Count deadlines due within this many days.",
)
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    hidden=True,  # tests only: the unit's date the counts are taken on
)
@pass_runtime
def digest(runtime: Runtime, due_soon_days: int, today: datetime | None) -> None:
    """Send each member of staff who chose it one e-mail with their unit's counts."""
    mail = MailSettings.from_env()
    translations = Translations.load(str(TRANSLATIONS), [runtime.settings.default_language])
    # Tests name a day; the digest then runs at 07:00 of it, the timer's hour.
    now = datetime.now(UTC) if today is None else datetime.combine(today.date(), DIGEST_TIME)
    with runtime.session() as session:
        outcome = send_digests(
            session, mail, now, translations.gettext, translations.ngettext, due_soon_days
        )
    report(outcome)


def report(outcome: Outcome) -> None:
    click.echo(
        f"digests sent: {len(outcome.sent)}; nothing to say: {len(outcome.skipped)}; "
        f"failed: {len(outcome.failed)}"
    )
    for username, reason in outcome.failed:
        click.echo(f"not sent to {username}: {reason}", err=True)
    if outcome.failed:
        raise click.ClickException(f"{len(outcome.failed)} digest(s) could not be sent")

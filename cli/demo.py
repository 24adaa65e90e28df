"""``minhbach demo``: a demo unit with accounts whose credentials are written to a file;
``minhbach demo totp USERNAME``: a demo account's current sign-in code.

Refused unless ``MINHBACH_DEMO=1``: it creates accounts whose passphrases and TOTP secrets
sit in plain text in ``instance/demo.json``, which must never happen on a real instance.
Everything is created in one transaction, and the two files are removed again if it
fails, so a failed run leaves nothing half set up.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pyotp
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.categories import DEFAULT_CATEGORIES
from casework.dates import unit_today
from casework.keyrings import keyring_of
from casework.profiles import VN_DENUNCIATION_2026
from cli import params
from cli.database import migrate
from cli.demo_cases import DemoPeople, add_demo_cases
from cli.errors import FileProblem
from cli.escrow import EscrowKey, new_escrow_key
from cli.inspectors import enrol_inspector
from cli.output import json_bytes, print_table, private_file, refuse_existing
from cli.passphrases import generate_passphrase
from cli.runtime import Runtime, pass_runtime
from cli.units import create_unit
from crypto import Argon2Params, RecoveryCode
from store.fs import process_lock
from store.models import Inspector, InspectorRole, Unit

SLUG = "demo"
NAME = "Thanh tra tỉnh (bản thử)"
RECEPTION_SCHEDULE = (
    "Tiếp công dân vào sáng thứ Năm đầu tiên hằng tháng, từ 8 giờ đến 11 giờ 30, tại trụ sở "
    "Thanh tra tỉnh (bản thử: không phải lịch thật)."
)
USERS = (
    ("lan", "Nguyễn Thị Lan", InspectorRole.INSPECTOR),
    ("minh", "Trần Văn Minh", InspectorRole.INSPECTOR),
    ("hoa", "Lê Thị Hoa", InspectorRole.CUSTODIAN),
    ("son", "Phạm Văn Sơn", InspectorRole.SUPERVISOR),
    # Accounts and unit settings (the admin pages); reads no case.
    ("an", "Vũ Văn An", InspectorRole.ADMIN),
)
# A second unit, so that forwarding a case to the competent body can be tried. Since 1 July
# 2025 local government has two levels, province and commune, and no district: a report
# about a commune official goes to the chair of the commune People's Committee, and the
# body directly superior to the commune is the province's (no district in between).
OTHER_SLUG = "demo-xa"
OTHER_NAME = "Ủy ban nhân dân xã (bản thử)"
OTHER_USERS = (("tuan", "Đỗ Minh Tuấn", InspectorRole.INSPECTOR),)
OTHER_RECEPTION_SCHEDULE = (
    "Tiếp công dân vào sáng thứ Ba hằng tuần, từ 7 giờ 30 đến 11 giờ, tại trụ sở Ủy ban nhân "
    "dân xã (bản thử: không phải lịch thật)."
)
DEFAULT_SUBMIT_URL = "http://127.0.0.1:5000"
DEFAULT_REVIEW_URL = "http://127.0.0.1:5001"


@dataclass(frozen=True)
class DemoFiles:
    credentials: Path
    escrow: Path

    @classmethod
    def under(cls, instance: Path) -> DemoFiles:
        return cls(credentials=instance / "demo.json", escrow=instance / "demo-escrow.json")


@click.group(invoke_without_command=True)
@click.option(
    "--submit-url", default=DEFAULT_SUBMIT_URL, show_default=True, callback=params.http_url
)
@click.option(
    "--review-url", default=DEFAULT_REVIEW_URL, show_default=True, callback=params.http_url
)
@click.option("--reuse", is_flag=True, help="If the demo is already set up, show it again.")
@click.pass_context
def demo(ctx: click.Context, submit_url: str, review_url: str, reuse: bool) -> None:
    """Set up a demo unit and accounts (only with MINHBACH_DEMO=1)."""
    if ctx.invoked_subcommand is not None:
        return  # `demo totp`: its own command, which checks demo mode itself
    runtime = ctx.find_object(Runtime)
    assert runtime is not None, "the root group puts it in the context"
    set_up(runtime, submit_url, review_url, reuse)


def set_up(runtime: Runtime, submit_url: str, review_url: str, reuse: bool) -> None:
    settings = runtime.settings
    refuse_unless_demo_mode(runtime)
    files = DemoFiles.under(settings.instance_path)
    migrate(runtime)
    # Two demos started at once: the second waits for the first, then finds it set up.
    with process_lock(settings.instance_path / ".demo.lock"), runtime.session() as session:
        if session.scalar(select(Unit.id).where(Unit.slug == SLUG)) is not None:
            if reuse and files.credentials.exists():
                print_summary(read_credentials(files.credentials), files)
                return
            raise click.ClickException(already_set_up(files))
        refuse_existing(files.credentials)
        refuse_existing(files.escrow)
        refuse_taken_usernames(session)
        credentials, escrow = build_demo(
            session,
            settings.passphrase_kdf,
            files,
            submit_url=submit_url,
            review_url=review_url,
            code_kdf=settings.code_kdf,
        )
        with (
            private_file(files.escrow, json_bytes(escrow.document())),
            private_file(files.credentials, json_bytes(credentials)),
        ):
            session.commit()
    print_summary(credentials, files)


@demo.command()
@click.argument("username")
@pass_runtime
def totp(runtime: Runtime, username: str) -> None:
    """Print a demo user's current TOTP code, to sign in to the review app."""
    refuse_unless_demo_mode(runtime)
    files = DemoFiles.under(runtime.settings.instance_path)
    if not files.credentials.exists():
        raise click.ClickException(f"{files.credentials} is missing: set the demo up first")
    demo_users = {
        str(user.get("username"))
        for user in read_credentials(files.credentials)["users"]
        if isinstance(user, dict)
    }
    if username not in demo_users:
        raise click.ClickException(
            f"refused: {username} is not a demo user "
            f"(the demo's are {', '.join(sorted(demo_users))})"
        )
    with runtime.session() as session:
        # The account's secret as it is now: an administrator may have reset it since.
        secret = session.scalar(select(Inspector.totp_secret).where(Inspector.username == username))
    if secret is None:
        raise click.ClickException(f"{username} is in {files.credentials} but not in this database")
    code = pyotp.TOTP(secret)  # as the enrolment QR code gives it (casework.keyrings)
    left = code.interval - int(time.time()) % code.interval
    click.echo(f"{code.now()}  (valid for {left} more seconds)")


def refuse_unless_demo_mode(runtime: Runtime) -> None:
    if not runtime.settings.demo:
        raise click.ClickException(
            "refused: the demo writes passphrases in plain text and is for trying minhbach "
            "out only; set MINHBACH_DEMO=1 to allow it in this instance"
        )


def already_set_up(files: DemoFiles) -> str:
    if not files.credentials.exists():
        return (
            f"the demo is already set up, but {files.credentials} is gone; "
            "remove the instance folder to start over"
        )
    return (
        "the demo is already set up; remove the instance folder to start over, "
        "or pass --reuse to show it again"
    )


def build_demo(
    session: Session,
    kdf: Argon2Params,
    files: DemoFiles,
    *,
    submit_url: str,
    review_url: str,
    code_kdf: Argon2Params,
) -> tuple[dict[str, Any], EscrowKey]:
    """The demo units, escrow key, accounts and cases (in the session, not committed), and
    the credentials document that opens the accounts."""
    escrow_passphrase = generate_passphrase()
    escrow = new_escrow_key(SLUG, escrow_passphrase, kdf)
    unit = create_unit(
        session,
        slug=SLUG,
        name=NAME,
        profile=VN_DENUNCIATION_2026,
        categories=DEFAULT_CATEGORIES,
        reception_schedule=RECEPTION_SCHEDULE,
        escrow_public_key=escrow.public_key,
    )
    users = [enrol_demo_user(session, unit, *user, kdf=kdf) for user in USERS]
    other = create_unit(
        session,
        slug=OTHER_SLUG,
        name=OTHER_NAME,
        profile=VN_DENUNCIATION_2026,
        categories=DEFAULT_CATEGORIES,
        reception_schedule=OTHER_RECEPTION_SCHEDULE,
        escrow_public_key=None,
        superior=unit,  # the commune's directly superior body is the province's
    )
    users += [enrol_demo_user(session, other, *user, kdf=kdf) for user in OTHER_USERS]
    session.flush()
    handler, head = _person(session, "lan"), _person(session, "hoa")
    people = DemoPeople(
        unit, handler, head, other, _key(handler, users, "lan"), _key(head, users, "hoa")
    )
    codes = add_demo_cases(session, people, code_kdf, unit_today())
    credentials = {
        "submit_url": submit_url,
        "review_url": review_url,
        "unit": SLUG,
        "users": users,
        "escrow": {"file": str(files.escrow), "passphrase": escrow_passphrase},
        "sample_codes": codes,
    }
    return credentials, escrow


def _person(session: Session, username: str) -> Inspector:
    person = session.scalar(select(Inspector).where(Inspector.username == username))
    assert person is not None, "enrolled just above"
    return person


def _key(person: Inspector, users: list[dict[str, str]], username: str) -> X25519PrivateKey:
    """A demo account's private key, from its recovery code (the demo keeps them all)."""
    user = next(user for user in users if user["username"] == username)
    return keyring_of(person).recover(RecoveryCode.parse(user["recovery_code"]))


def enrol_demo_user(
    session: Session,
    unit: Unit,
    username: str,
    display_name: str,
    role: InspectorRole,
    *,
    kdf: Argon2Params,
) -> dict[str, str]:
    passphrase = generate_passphrase()
    enrolment = enrol_inspector(
        session,
        unit,
        username=username,
        display_name=display_name,
        role=role,
        passphrase=passphrase,
        params=kdf,
    )
    return {
        "username": username,
        "display_name": display_name,
        "role": role.value,
        "passphrase": passphrase,
        "totp_secret": enrolment.inspector.totp_secret,
        # Real accounts never store their recovery code; demo data is public anyway, and
        # trying out passphrase recovery needs one.
        "recovery_code": enrolment.recovery.display(),
    }


def refuse_taken_usernames(session: Session) -> None:
    """User names are unique across units, so the demo's may clash with real accounts."""
    names = [username for username, _, _ in USERS + OTHER_USERS]
    taken = session.scalars(select(Inspector.username).where(Inspector.username.in_(names))).all()
    if taken:
        raise click.ClickException(
            f"this instance already has accounts named {', '.join(sorted(taken))}; "
            "the demo needs a fresh instance folder (MINHBACH_INSTANCE)"
        )


def read_credentials(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise FileProblem(
            f"{path} cannot be read as demo credentials; remove the instance folder to start over"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("users"), list):
        raise FileProblem(f"{path} does not hold demo credentials")
    return document


def print_summary(credentials: dict[str, Any], files: DemoFiles) -> None:
    """Demo credentials are meant to be seen: that is what the demo is for."""
    click.echo(f"Demo unit: {credentials.get('unit', SLUG)}")
    click.echo(f"Submit app (public):     {credentials.get('submit_url')}")
    click.echo(f"Review app (inspectors): {credentials.get('review_url')}")
    click.echo()
    rows = [
        (
            str(user.get("username")),
            str(user.get("display_name", "")),
            str(user.get("role")),
            str(user.get("passphrase")),
            str(user.get("totp_secret")),
        )
        for user in credentials["users"]
        if isinstance(user, dict)
    ]
    print_table(("username", "name", "role", "passphrase", "TOTP secret"), rows)
    instance = files.credentials.parent
    click.echo(
        "A demo user's sign-in code (TOTP), now: "
        f"MINHBACH_DEMO=1 MINHBACH_INSTANCE={instance} .venv/bin/minhbach demo totp USERNAME"
    )
    click.echo()
    escrow = credentials.get("escrow")
    if isinstance(escrow, dict):
        click.echo(f"Escrow key file: {escrow.get('file')} (passphrase {escrow.get('passphrase')})")
    codes = credentials.get("sample_codes")
    if isinstance(codes, list) and codes:
        click.echo(f"Follow-up codes of demo reports: {', '.join(map(str, codes))}")
    click.echo(f"All of this is in {files.credentials}. Demo data only: never use it for real.")

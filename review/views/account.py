"""One's own account: change the passphrase (``account.passphrase``), choose the daily
e-mail summary (``account.notifications``), or recover a lost passphrase with the recovery
code (``account.recover``, reachable without signing in).

A change needs the current passphrase, and ends the account's other sessions (whoever
knew the old passphrase is out; the session that made the change stays). A recovery needs
the recovery code and a fresh TOTP code (the one-time rule of login applies), and hands
out a new recovery code once: the old one has been typed into a browser, so it is spent.

A recovery is a sign-in by other means, and is held to the login's rules
(``review.login``): each attempt is admitted and counted like a login, so failed
recoveries lock the account as failed logins do, a locked account cannot recover until
the lock has run out, and only a successful recovery clears the count; the global cap on
failed sign-ins (``review.limits``) counts both forms together. Whatever failed, the
message is the same, so the page cannot tell which accounts exist or which factor was
wrong; the audit log records every attempt and its reason. Secrets are never written back
into a page.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

import crypto
from casework import audit as audit_log
from casework import keyrings
from casework.keyrings import KeyringAction
from casework.settings import is_email_address
from crypto.keyring import MIN_PASSPHRASE_LENGTH
from review import auth, login, notices, session_store
from review.auth import current_inspector, login_required
from review.settings import settings
from review.views.auth import MAX_CODE_INPUT, MAX_PASSPHRASE, MAX_USERNAME
from store.models import Inspector, InspectorRole
from web.database import db

blueprint = Blueprint("account", __name__, url_prefix="/account")

MAX_RECOVERY_INPUT = 64  # 32 characters, with spaces or dashes between groups
# As on the login form: people and authenticator apps put spaces or dashes in a code.
_CODE_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]+")
_CODE = re.compile(rf"[0-9]{{{login.TOTP_DIGITS}}}")

MESSAGES: Mapping[str, LazyString] = {
    "current": _l("Enter your current passphrase."),
    "current_wrong": _l("This is not your current passphrase."),
    "new": _l("Enter a new passphrase of at least %(num)d characters.", num=MIN_PASSPHRASE_LENGTH),
    "new_long": _l("This passphrase is too long."),
    "confirm": _l("The two new passphrases are not the same. Type the new one twice."),
    "username": _l("Enter your user name."),
    "recovery": _l(
        "Enter the recovery code you were given at enrolment: 32 letters and digits, "
        "in groups of four."
    ),
    "code": _l("Enter the 6-digit code from your authenticator app."),
    "email": _l("Enter one e-mail address, like name@example.vn."),
    "email_needed": _l("Enter the e-mail address the daily summary should go to."),
}
MAX_EMAIL = 254
NOTIFICATIONS_CHANGED = "notifications_changed"  # audit action
RECOVERY_FAILED = _l(
    "The user name, recovery code or code from the authenticator app is not right, or the "
    "account is not active. Check them and try again. If it keeps failing, ask your "
    "administrator: the unit's escrow key can restore your key."
)


@dataclass
class Form:
    """Typed values (``values``, shown again) and secrets (never shown again)."""

    values: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    errors: dict[str, LazyString] = field(default_factory=dict)

    @property
    def has_secrets(self) -> bool:
        return bool(self.secrets)


def read_new_passphrase(data: MultiDict[str, str], form: Form) -> None:
    """Check the fields ``new`` and ``confirm``; the passphrase goes to ``form.secrets``."""
    new, confirm = data.get("new", ""), data.get("confirm", "")
    form.secrets["new"] = new
    if len(new) > MAX_PASSPHRASE:
        form.errors["new"] = MESSAGES["new_long"]
    elif len(unicodedata.normalize("NFC", new)) < MIN_PASSPHRASE_LENGTH:
        form.errors["new"] = MESSAGES["new"]
    elif unicodedata.normalize("NFC", confirm) != unicodedata.normalize("NFC", new):
        form.errors["confirm"] = MESSAGES["confirm"]


def read_current_passphrase(data: MultiDict[str, str], form: Form, name: str = "current") -> None:
    current = data.get(name, "")
    form.secrets[name] = current
    if not current or len(current) > MAX_PASSPHRASE:
        form.errors[name] = MESSAGES["current"]


# --- changing the passphrase ---------------------------------------------------------------


@blueprint.get("/passphrase")
@login_required()
def passphrase() -> ResponseReturnValue:
    return render_template("account_passphrase.html", form=Form())


@blueprint.post("/passphrase")
@login_required()
def passphrase_submit() -> ResponseReturnValue:
    form = Form()
    read_current_passphrase(request.form, form)
    read_new_passphrase(request.form, form)
    if form.errors:
        return render_template("account_passphrase.html", form=form), 400
    inspector = current_inspector()
    keyring = keyrings.keyring_of(inspector)
    db().commit()  # no transaction stays open during the slow Argon2id runs
    try:
        resealed = keyring.change_passphrase(
            form.secrets["current"], form.secrets["new"], settings().passphrase_kdf
        )
    except crypto.WrongPassphrase:
        form.errors["current"] = MESSAGES["current_wrong"]
        auth.audit(KeyringAction.PASSPHRASE_CHANGE_FAILED, target=inspector.username)
        db().commit()
        return render_template("account_passphrase.html", form=form), 400
    keyrings.store_keyring(inspector, resealed)
    inspector.passphrase_changed_at = auth.now()
    # Whoever signed in with the old passphrase elsewhere is out; this session, which
    # just proved the passphrase, stays (docs/review-sessions.md).
    ended = auth.end_sessions_of(inspector, session_store.PASSPHRASE_CHANGED, keep_current=True)
    auth.audit(
        KeyringAction.PASSPHRASE_CHANGED,
        target=inspector.username,
        details={"sessions_ended": ended},
    )
    db().commit()
    return render_template("account_passphrase_changed.html")


# --- e-mail notifications -----------------------------------------------------------------
# The daily digest (casework.notify, sent by ``minhbach notify digest``): counts of the
# unit only. The address is the person's own choice and may be kept while the digest is
# off; the audit log records the choice and whether the address changed, never the address.
# Administrators read no cases, so there is nothing to count for them.
SUMMARY_ROLES = (InspectorRole.INSPECTOR, InspectorRole.CUSTODIAN, InspectorRole.SUPERVISOR)


@blueprint.get("/notifications")
@login_required(*SUMMARY_ROLES)
def notifications() -> ResponseReturnValue:
    inspector = current_inspector()
    form = Form(values={"email": inspector.notify_email or ""})
    return _notifications_page(form, digest=inspector.notify_digest)


@blueprint.post("/notifications")
@login_required(*SUMMARY_ROLES)
def notifications_submit() -> ResponseReturnValue:
    email = request.form.get("email", "").strip()
    digest = request.form.get("digest") == "yes"
    form = Form(values={"email": email})
    if email and (len(email) > MAX_EMAIL or not is_email_address(email)):
        form.errors["email"] = MESSAGES["email"]
    elif digest and not email:
        form.errors["email"] = MESSAGES["email_needed"]
    if form.errors:
        return _notifications_page(form, digest=digest), 400
    inspector = current_inspector()
    email_changed = (inspector.notify_email or "") != email
    inspector.notify_email = email or None
    inspector.notify_digest = digest
    auth.audit(
        NOTIFICATIONS_CHANGED,
        target=inspector.username,
        details={"digest": digest, "email_changed": email_changed},
    )
    db().commit()
    notices.done(
        _("You will receive the daily summary by e-mail.")
        if digest
        else _("You will not receive the daily summary by e-mail.")
    )
    return redirect(url_for("account.notifications"), code=303)


def _notifications_page(form: Form, digest: bool) -> str:
    return render_template("account_notifications.html", form=form, digest=digest)


# --- recovering with the recovery code -----------------------------------------------------


@dataclass(frozen=True)
class Recovery:
    username: str
    code: crypto.RecoveryCode = field(repr=False)
    totp: str = field(repr=False)
    passphrase: str = field(repr=False)


def read_recovery(data: MultiDict[str, str]) -> tuple[Form, Recovery | None]:
    form = Form(values={"username": data.get("username", "").strip()})
    if not form.values["username"] or len(form.values["username"]) > MAX_USERNAME:
        form.errors["username"] = MESSAGES["username"]
    code = _recovery_code(data.get("recovery", ""))
    form.secrets["recovery"] = data.get("recovery", "")
    if code is None:
        form.errors["recovery"] = MESSAGES["recovery"]
    totp = normalize_code(data.get("code", ""))
    form.secrets["code"] = data.get("code", "")
    if totp is None:
        form.errors["code"] = MESSAGES["code"]
    read_new_passphrase(data, form)
    if form.errors or code is None or totp is None:
        return form, None
    return form, Recovery(form.values["username"], code, totp, form.secrets["new"])


def normalize_code(text: str) -> str | None:
    """The TOTP code without separators; None unless it is 6 digits."""
    if len(text) > MAX_CODE_INPUT:
        return None
    code = _CODE_SEPARATORS.sub("", text)
    return code if _CODE.fullmatch(code) else None


def _recovery_code(text: str) -> crypto.RecoveryCode | None:
    if len(text) > MAX_RECOVERY_INPUT:
        return None
    try:
        return crypto.RecoveryCode.parse(text)
    except ValueError:
        return None


@blueprint.get("/recover")
def recover() -> ResponseReturnValue:
    return render_template("account_recover.html", form=Form())


@blueprint.post("/recover")
def recover_submit() -> ResponseReturnValue:
    form, recovery = read_recovery(request.form)
    if recovery is None:
        return render_template("account_recover.html", form=form), 400
    now = auth.now()
    inspector = login.find_account(db(), recovery.username)
    # Counted and, if that many call for it, locked before anything is checked, exactly
    # as a login is: the recovery form is no way around the lock.
    admitted = inspector is not None and login.admit(db(), inspector, now)
    db().commit()  # nothing pending, no snapshot held during the slow part
    outcome = _unseal(inspector, admitted, recovery, now)
    if inspector is None or isinstance(outcome, str):
        _refuse(inspector, outcome if isinstance(outcome, str) else "unknown_user")
        return _failed(form)
    private_key, counter = outcome
    if not keyrings.claim_totp_counter(db(), inspector, counter):
        _refuse(inspector, login.Failure.TOTP_REUSED.value)
        return _failed(form)
    # Also clears the failure count and any lock: the full recovery is the success.
    new_code = keyrings.reseal_recovered(
        inspector, private_key, recovery.passphrase, settings().passphrase_kdf, now=now
    )
    # Whoever found the lost passphrase loses any session they opened with it.
    ended = auth.end_sessions_of(inspector, session_store.RECOVERED)
    audit_log.append(
        db(),
        actor=inspector,
        action=KeyringAction.RECOVERED_WITH_CODE,
        target=inspector.username,
        details={"sessions_ended": ended},
    )
    db().commit()  # before the code is shown: a code for a seal never stored is worse
    return render_template(
        "account_recovered.html", recovery_code=new_code.display(), username=inspector.username
    )


def _failed(form: Form) -> tuple[str, int]:
    return render_template("account_recover.html", form=form, failed=RECOVERY_FAILED), 401


def _unseal(
    inspector: Inspector | None, admitted: bool, recovery: Recovery, now: datetime
) -> tuple[X25519PrivateKey, int] | str:
    """The key and the TOTP step, or the reason for refusing (for the audit log only)."""
    if inspector is None:
        return "unknown_user"
    if not inspector.active:
        return login.Failure.INACTIVE.value
    if not admitted:  # locked: nothing is checked, as at login
        return login.Failure.LOCKED.value
    # Both factors are checked whatever the first gives, so timing tells nothing more.
    try:
        private_key: X25519PrivateKey | None = keyrings.keyring_of(inspector).recover(recovery.code)
    except (crypto.CryptoError, ValueError):
        private_key = None
    try:
        counter = login.matching_totp_counter(inspector.totp_secret, recovery.totp, now)
    except ValueError:
        counter = None
    if private_key is None:
        return "recovery_code"
    if counter is None:
        return login.Failure.TOTP.value
    if inspector.totp_last_counter is not None and counter <= inspector.totp_last_counter:
        return login.Failure.TOTP_REUSED.value
    return private_key, counter


def _refuse(inspector: Inspector | None, reason: str) -> None:
    # As at login, an unknown user name is not recorded: it may be a mistyped secret.
    actor: Inspector | str = audit_log.UNKNOWN if inspector is None else inspector
    audit_log.append(
        db(), actor=actor, action=KeyringAction.RECOVERY_FAILED, details={"reason": reason}
    )
    db().commit()

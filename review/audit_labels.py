"""The audit pages in people's words: each entry's action translated, people by their
names, units by theirs, and the details under translated labels with their values read
(a status, a deadline, a role), instead of the codes the chain stores.

The stored entry is never changed: the codes stay in the chain, which is what its hashes
cover. An action no label knows yet is shown as its code, so nothing is hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from casework.intake import public_reference
from review.labels import ROLE_LABELS, status_label
from store.models import AuditEntry, Inspector, InspectorRole, Unit
from web.labels import deadline_label, legal_ground_label

ACTIONS: Mapping[str, LazyString] = {
    # Signing in and sessions (casework.audit.Action).
    "login": _l("Signed in"),
    "login_failed": _l("Failed to sign in"),
    "logout": _l("Signed out"),
    "session_timeout": _l("Session timed out"),
    "session_invalid": _l("Session ended"),
    # Accounts (casework.keyrings.KeyringAction).
    "account_enrolled": _l("Enrolled an account"),
    "account_deactivated": _l("Deactivated an account"),
    "totp_reset": _l("Reset two-factor sign-in"),
    "passphrase_changed": _l("Changed their passphrase"),
    "passphrase_change_failed": _l("Failed to change their passphrase"),
    "admin_confirmation_failed": _l("Mistyped their passphrase to confirm"),
    "recovered_with_code": _l("Recovered the account with the recovery code"),
    "recovery_failed": _l("Failed to recover the account"),
    "recovered_with_escrow": _l("Recovered the account with the escrow key"),
    # The daily e-mail summary (review.views.account, casework.notify).
    "notifications_changed": _l("Changed their daily e-mail summary"),
    "digest_sent": _l("Sent the daily e-mail summary"),
    "digest_failed": _l("Could not send the daily e-mail summary"),
    # Cases (review.views.cases, custody, registration, archive).
    "case_open": _l("Opened the case"),
    "case_upgraded": _l("Upgraded the case's encryption"),
    "case_registered": _l("Registered a report received on paper or in person"),
    "file_download": _l("Downloaded a file"),
    "reply": _l("Replied to the reporter"),
    "grant": _l("Gave access to the case"),
    "revoke": _l("Revoked access to the case"),
    "identity_open": _l("Opened the reporter's identity"),
    "verifier_export": _l("Downloaded the export for verifiers"),
    "archive_export": _l("Downloaded the export for the archives"),
    "case_purge": _l("Deleted the case at the end of its retention period"),
    # Decisions and deadlines (review.views.workflow).
    "status_change": _l("Changed the status"),
    "deadline_extension": _l("Extended a deadline"),
    "event_record": _l("Recorded a step"),
    "case_forward": _l("Forwarded the case"),
    # Escalations (review.views.escalations).
    "escalation_demand": _l("Demanded a report on an escalation"),
    "escalation_report": _l("Reported on an escalation"),
    "escalation_answer": _l("Answered the reporter's escalation"),
    # Protection (review.views.protection).
    "protection_view": _l("Opened the protection record"),
    "protection_open": _l("Opened a protection request"),
    "protection_change": _l("Changed the state of a protection request"),
    "protection_answer": _l("Answered a protection request"),
    "incident_log": _l("Logged a retaliation report"),
    "incident_note": _l("Added a note to a retaliation report"),
    "incident_link": _l("Linked a retaliation report to a protection request"),
    # Published conclusions (review.views.publication).
    "conclusion_publish": _l("Published the conclusion"),
    "conclusion_correct": _l("Corrected the published conclusion"),
    "conclusion_take_down": _l("Took the published conclusion down"),
    # The unit's settings (review.views.reception, the command line, the dashboard).
    "unit_reception_set": _l("Set the citizen reception schedule"),
    "unit_profile_set": _l("Set the unit's rules"),
    "unit_superior_set": _l("Set the directly superior unit"),
    "unit_retention_set": _l("Set how long cases are kept"),
    "dashboard_export": _l("Downloaded the dashboard's figures"),
}

# Who acted, when no person did (casework.audit.SYSTEM, CLI, UNKNOWN).
NON_PERSONS: Mapping[str, LazyString] = {
    "system": _l("The system"),
    "cli": _l("A command on the server"),
    "unknown": _l("An unknown user name"),
}

DETAILS: Mapping[str, LazyString] = {
    "session": _l("Session"),
    "status": _l("Status"),
    "deadline": _l("Deadline"),
    "legal_grounds": _l("Legal grounds"),
    "reason": _l("Reason"),
    "page": _l("Page"),
    "kind": _l("Kind"),
    "from": _l("From"),
    "to": _l("To"),
    "from_unit": _l("From unit"),
    "to_unit": _l("To unit"),
    "attachment": _l("File number"),
    "sessions_ended": _l("Sessions ended"),
    "role": _l("Role"),
    "for": _l("For"),
    "inspector_id": _l("Person"),
    "protection_id": _l("Protection request number"),
    "incident_id": _l("Retaliation report number"),
    "publication_id": _l("Posting number"),
    "changed": _l("Changed"),
    "removed_on": _l("Taken down on"),
    "format": _l("Format"),
    "protocol": _l("Protocol version"),
    "digest": _l("Daily summary by e-mail"),
    "email_changed": _l("E-mail address changed"),
    "new_reports": _l("New reports"),
    "urgent_protection": _l("Urgent protection requests waiting"),
    "retaliation_waiting": _l("Retaliation reports waiting"),
    "due_soon": _l("Deadlines due soon"),
    "overdue": _l("Overdue deadlines"),
}
# Yes/no details (stored as JSON true/false).
YES_NO: Mapping[str, LazyString] = {"True": _l("yes"), "False": _l("no")}


@dataclass(frozen=True)
class Detail:
    label: str
    value: str


@dataclass(frozen=True)
class Reading:
    """An entry as the audit pages show it."""

    entry: AuditEntry
    actor: str
    action: str
    known_action: bool  # False: ``action`` is the stored code, shown as code
    target: str
    reference: str  # the case's short reference (MB-...), "" for no case
    details: list[Detail]


class Reader:
    """Reads entries for a unit: its people's and all units' names are looked up once."""

    def __init__(self, people: Iterable[Inspector], units: Iterable[Unit]) -> None:
        self.people = {person.id: person for person in people}
        self.by_username = {person.username: person for person in self.people.values()}
        self.units = {unit.slug: unit.name for unit in units}
        self.values: Mapping[str, Callable[[str], str]] = {
            "status": status_label,
            "from": status_label,
            "to": status_label,
            "deadline": deadline_label,
            "legal_grounds": legal_ground_label,
            "role": self._role,
            "for": self.action,
            "from_unit": self.unit,
            "to_unit": self.unit,
            "inspector_id": self._person_by_id,
            "digest": _yes_no,
            "email_changed": _yes_no,
        }

    def read(self, entry: AuditEntry) -> Reading:
        known = entry.action in ACTIONS
        return Reading(
            entry=entry,
            actor=self._actor(entry),
            action=self.action(entry.action),
            known_action=known,
            target=self._target(entry.target),
            reference=public_reference(entry.case_public_id) if entry.case_public_id else "",
            details=[self._detail(key, value) for key, value in sorted(entry.details.items())],
        )

    def action(self, code: str) -> str:
        label = ACTIONS.get(code)
        return code if label is None else str(label)

    def unit(self, slug: str) -> str:
        return self.units.get(slug, slug)

    def _actor(self, entry: AuditEntry) -> str:
        person = self.people.get(entry.actor_id) if entry.actor_id is not None else None
        if person is not None:
            return person.display_name
        label = NON_PERSONS.get(entry.actor)
        return entry.actor if label is None else str(label)

    def _target(self, target: str | None) -> str:
        """A person's name for a user name of the unit, a unit's for its slug."""
        if not target:
            return ""
        person = self.by_username.get(target)
        return person.display_name if person is not None else self.unit(target)

    def _detail(self, key: str, value: object) -> Detail:
        label = DETAILS.get(key)
        return Detail(key if label is None else str(label), self._value(key, value))

    def _value(self, key: str, value: object) -> str:
        if isinstance(value, list):
            return ", ".join(self._value(key, item) for item in value)
        read = self.values.get(key)
        return read(str(value)) if read is not None else str(value)

    def _role(self, value: str) -> str:
        try:
            return str(ROLE_LABELS[InspectorRole(value)])
        except ValueError:
            return value

    def _person_by_id(self, value: str) -> str:
        person = self.people.get(int(value)) if value.isdigit() else None
        return person.display_name if person is not None else value


def _yes_no(value: str) -> str:
    label = YES_NO.get(value)
    return value if label is None else str(label)

"""Translated names of the values the review app shows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from casework.profiles import profile_label
from store.models import InspectorRole, ProtectionState, Track
from web import labels as shared

ROLE_LABELS: Mapping[InspectorRole, LazyString] = {
    InspectorRole.INSPECTOR: _l("Inspector"),
    InspectorRole.CUSTODIAN: _l("Head of the unit (identity custodian)"),
    InspectorRole.SUPERVISOR: _l("Supervisor"),
    InspectorRole.ADMIN: _l("Administrator"),
}

ROLE_DESCRIPTIONS: Mapping[InspectorRole, LazyString] = {
    InspectorRole.INSPECTOR: _l("Handles the unit's cases: reads reports, replies to reporters."),
    InspectorRole.CUSTODIAN: _l(
        "Handles cases and alone may open a reporter's identity, when the law requires it."
    ),
    InspectorRole.SUPERVISOR: _l(
        "Follows progress and deadlines, and audits who opened what; reads no reports."
    ),
    InspectorRole.ADMIN: _l("Manages accounts and the unit's settings; reads no reports."),
}

# Statuses of the profile vn-denunciation-2018 (DOMAIN.md), in the unit's own words.
STATUS_LABELS: Mapping[str, LazyString] = {
    "received": _l("Received, not yet read"),
    "triage": _l("Triage"),
    "forwarded": _l("Forwarded"),
    "not_accepted": _l("Not accepted"),
    "accepted": _l("Accepted"),
    "verifying": _l("Verifying"),
    "suspended": _l("Suspended"),
    "terminated": _l("Terminated"),
    "withdrawn": _l("Withdrawn"),
    "concluded": _l("Concluded"),
    "handling": _l("Acting on the conclusion"),
    "archived": _l("Archived"),
    "acknowledged": _l("Acknowledged"),
    "investigating": _l("Investigating"),
    "closed": _l("Closed"),
}
# The default categories (casework.categories); a unit's own category shows as its slug.

TRACK_LABELS: Mapping[Track, LazyString] = {
    Track.ANONYMOUS: _l("Anonymous"),
    Track.NAMED: _l("Named, confidential"),
}

PROTECTION_STATES: Mapping[ProtectionState, LazyString] = {
    ProtectionState.REQUESTED: _l("requested"),
    ProtectionState.UNDER_REVIEW: _l("under review"),
    ProtectionState.REJECTED: _l("rejected"),
    ProtectionState.ACTIVE: _l("active"),
    ProtectionState.MODIFIED: _l("modified"),
    ProtectionState.ENDED: _l("ended"),
}


def _lookup(table: Mapping[Any, LazyString], value: Any) -> str:
    """The translated label, or the stored value itself for one no table knows yet."""
    label = table.get(value)
    return str(label) if label is not None else str(getattr(value, "value", value))


def status_label(status: str) -> str:
    """The unit's word for a status; a status only a profile file knows has its label."""
    label = STATUS_LABELS.get(status)
    return str(label) if label is not None else shared.status_label(status)


def init_labels(app: Flask) -> None:
    """Label helpers for templates, so no page shows a raw stored code."""
    shared.add_label_source(profile_label)
    app.jinja_env.globals.update(
        status_label=status_label,
        category_label=lambda value: _lookup(shared.CATEGORIES, value),
        track_label=lambda value: _lookup(TRACK_LABELS, value),
        person_label=lambda value: _lookup(shared.PROTECTED_PEOPLE, value),
        protection_label=lambda value: _lookup(shared.PROTECTION_KINDS, value),
        protection_state_label=lambda value: _lookup(PROTECTION_STATES, value),
        retaliation_label=lambda value: _lookup(shared.RETALIATION_KINDS, value),
        deadline_label=shared.deadline_label,
        event_label=shared.event_label,
        legal_ground_label=shared.legal_ground_label,
        means_label=lambda value: _lookup(shared.VERIFICATION_MEANS, value),
        entry_label=shared.entry_label,
        file_size=shared.file_size,
    )

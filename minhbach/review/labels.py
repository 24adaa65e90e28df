"""Translated names of the values the review app shows."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from minhbach.store.models import InspectorRole

ROLE_LABELS: Mapping[InspectorRole, LazyString] = {
    InspectorRole.INSPECTOR: _l("Inspector"),
    InspectorRole.CUSTODIAN: _l("Custodian"),
    InspectorRole.SUPERVISOR: _l("Supervisor"),
    InspectorRole.ADMIN: _l("Administrator"),
}

ROLE_DESCRIPTIONS: Mapping[InspectorRole, LazyString] = {
    InspectorRole.INSPECTOR: _l("Handles the unit's cases: reads reports, replies to reporters."),
    InspectorRole.CUSTODIAN: _l(
        "Handles cases and may also open a reporter's identity when the law requires it."
    ),
    InspectorRole.SUPERVISOR: _l(
        "Head of the unit: follows progress and deadlines, and audits who opened what."
    ),
    InspectorRole.ADMIN: _l("Manages accounts and the unit's settings; reads no reports."),
}

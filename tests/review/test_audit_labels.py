"""Every action the apps and the command line write to the audit log has a label on the
audit pages, under the code the constant holds (a renamed code fails here)."""

from __future__ import annotations

import pytest

from casework import archive_export, reception, retention
from casework.audit import Action
from casework.keyrings import KeyringAction
from cli import cases as cli_cases
from cli import units as cli_units
from review.audit_labels import ACTIONS
from review.views import (
    cases,
    custody,
    dashboard,
    escalations,
    protection,
    publication,
    registration,
    workflow,
)

WRITTEN = sorted(
    {
        *Action,
        *KeyringAction,
        cases.OPENED,
        cases.DOWNLOADED,
        cases.REPLIED,
        cases.GRANTED,
        cases.REVOKED,
        cases.UPGRADED,
        cli_cases.UPGRADED,
        custody.IDENTITY_OPENED,
        custody.EXPORTED,
        archive_export.ARCHIVE_EXPORTED,
        retention.PURGE_ACTION,
        registration.REGISTERED,
        workflow.STATUS_CHANGED,
        workflow.EXTENDED,
        workflow.RECORDED,
        workflow.FORWARDED,
        escalations.DEMANDED,
        escalations.REPORTED,
        escalations.ANSWERED,
        protection.VIEWED,
        protection.OPENED,
        protection.CHANGED,
        protection.ANSWERED,
        protection.LOGGED,
        protection.NOTED,
        protection.LINKED,
        publication.PUBLISHED,
        publication.CORRECTED,
        publication.TAKEN_DOWN,
        reception.RECEPTION_SET,
        cli_units.PROFILE_SET,
        cli_units.SUPERIOR_SET,
        cli_units.RETENTION_SET,
        dashboard.EXPORTED,
    }
)


@pytest.mark.parametrize("code", WRITTEN)
def test_every_written_action_has_a_label(code: str) -> None:
    assert code in ACTIONS

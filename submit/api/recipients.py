"""The public keys a browser encrypts a new report to (``api.recipients``)."""

from __future__ import annotations

from flask import Response, jsonify

import crypto
from casework.recipients import unit_recipients
from crypto.encoding import b64u_encode
from submit.api import blueprint
from submit.unit import current_unit
from web.database import db


@blueprint.get("/recipients")
def recipients() -> Response:
    """The unit's readers and escrow key, exactly as intake will expect the wraps.

    Fingerprints let a careful reporter compare keys with those the unit publishes
    elsewhere (on paper, at its reception desk).
    """
    unit = current_unit()
    found = unit_recipients(db(), unit)
    escrow = found.escrow_public_key
    return jsonify(
        unit=unit.slug,
        readers=[
            {
                "id": person.id,
                "display_name": person.display_name,
                "role": person.role.value,
                "public_key": b64u_encode(person.public_key),
                "fingerprint": crypto.fingerprint(person.public_key),
            }
            for person in found.readers
        ],
        escrow=None
        if escrow is None
        else {"public_key": b64u_encode(escrow), "fingerprint": crypto.fingerprint(escrow)},
    )

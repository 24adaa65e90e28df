"""The JSON API the submission page's JavaScript talks to (documented in openapi.json).

Requests and responses are JSON except upload bodies; binary fields are b64u strings.
Every state-changing request carries the CSRF token in an ``X-CSRFToken`` header.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from flask import Blueprint, current_app, request
from flask_babel import gettext as _

import crypto
from casework.blobs import blob_store as configured_blob_store
from crypto.encoding import b64u_decode
from store.blobs import BlobStore
from submit.unit import settings
from web.errors import PublicError

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what is wrong."""
    try:
        document = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser goes: not the object either
        document = None
    if not isinstance(document, dict):
        raise PublicError(400, "malformed_json", "The request body must be a JSON object.")
    return document


def field(document: dict[str, Any], name: str, kind: type, *, optional: bool = False) -> Any:
    value = document.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PublicError(
            400, "malformed_field", f"Field '{name}' is missing or of the wrong type."
        )
    return value


def binary_field(
    document: dict[str, Any], name: str, *, size: int | None = None, optional: bool = False
) -> bytes | None:
    """A b64u field decoded; ``size`` requires an exact length."""
    text = field(document, name, str, optional=optional)
    if text is None:
        return None
    try:
        value = b64u_decode(text)
    except crypto.MalformedEnvelope:
        raise PublicError(400, "malformed_field", f"Field '{name}' is not b64u.") from None
    if size is not None and len(value) != size:
        raise PublicError(400, "malformed_field", f"Field '{name}' must be {size} bytes.")
    return value


# --- shared by the route modules below --------------------------------------------------

SMALL_JSON_BYTES = 16 * 1024  # every body but a report's


def json_object(max_bytes: int = SMALL_JSON_BYTES, *, allowed: Collection[str]) -> dict[str, Any]:
    """The request's JSON object, refused unread if larger than ``max_bytes``.

    Bodies are read whole into memory, so their size is checked first; a body without a
    length (chunked) is refused rather than read without bound. Unknown fields are
    refused, so a client that sends a misspelt field hears about it.
    """
    length = request.content_length
    if length is None:
        raise PublicError(411, "length_required", _("The request must state its length."))
    if length > max_bytes:
        raise PublicError(413, "too_large", _("The request is too large."))
    document = json_body()
    unknown = sorted(set(document) - set(allowed))
    if unknown:
        raise PublicError(
            400, "unknown_field", _("Unknown field '%(name)s'.", name=unknown[0][:64])
        )
    return document


BLOBS = "minhbach.blobs"


def blob_store() -> BlobStore:
    """The app's blob store, made on first use (it creates its directories)."""
    store: BlobStore | None = current_app.extensions.get(BLOBS)
    if store is None:
        store = configured_blob_store(settings())
        current_app.extensions[BLOBS] = store
    return store


# Route modules attach their views to ``blueprint``; importing them registers the routes.
from submit.api import challenges as challenges  # noqa: E402
from submit.api import followup as followup  # noqa: E402
from submit.api import openapi as openapi  # noqa: E402
from submit.api import recipients as recipients  # noqa: E402
from submit.api import reports as reports  # noqa: E402
from submit.api import uploads as uploads  # noqa: E402

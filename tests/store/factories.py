"""Rows with valid defaults, so each test spells out only what it is about; database URLs.

Ciphertext columns get random bytes: the store treats them as opaque, and random bytes
make any accidental interpretation or mix-up between columns visible.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from store.models import (
    Case,
    Inspector,
    InspectorRole,
    KeyWrap,
    RecipientKind,
    Track,
    Unit,
    WrapPurpose,
)

TODAY = date(2026, 3, 2)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def ciphertext(size: int = 48) -> bytes:
    return secrets.token_bytes(size)


def add_unit(session: Session, slug: str = "thanh-tra-tinh") -> Unit:
    unit = Unit(
        slug=slug,
        name="Thanh tra tỉnh",
        profile="vn-denunciation-2018",
        categories=["land", "procurement"],
        reception_schedule="Thứ Năm đầu tiên hằng tháng",
        escrow_public_key=secrets.token_bytes(32),
    )
    session.add(unit)
    session.flush()
    return unit


def add_inspector(
    session: Session,
    unit: Unit,
    username: str = "an.nguyen",
    role: InspectorRole = InspectorRole.INSPECTOR,
) -> Inspector:
    inspector = Inspector(
        unit=unit,
        username=username,
        display_name="Nguyễn Văn An",
        role=role,
        public_key=secrets.token_bytes(32),
        sealed_key_passphrase=ciphertext(),
        sealed_key_recovery=ciphertext(),
        totp_secret="JBSWY3DPEHPK3PXP",
    )
    session.add(inspector)
    session.flush()
    return inspector


def add_case(session: Session, unit: Unit, **overrides: Any) -> Case:
    values: dict[str, Any] = {
        "public_id": str(uuid.uuid4()),
        "unit": unit,
        "track": Track.ANONYMOUS,
        "status": "received",
        "category": "land",
        "received_on": TODAY,
        "status_changed_on": TODAY,
        "lookup_index": secrets.token_bytes(5),
        "lookup_hash": b"$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
        "reporter_public_key": secrets.token_bytes(32),
        "body": ciphertext(),
        "submitted_with_js": True,
    }
    values.update(overrides)
    case = Case(**values)
    session.add(case)
    session.flush()
    return case


def add_wrap(
    session: Session,
    case: Case,
    kind: RecipientKind,
    inspector: Inspector | None = None,
    purpose: WrapPurpose = WrapPurpose.CASE_KEY,
) -> KeyWrap:
    wrap = KeyWrap(
        case=case,
        purpose=purpose,
        recipient_kind=kind,
        inspector=inspector,
        wrapped=ciphertext(82),
        created_on=TODAY,
    )
    session.add(wrap)
    session.flush()
    return wrap

"""Receiving units and the inspectors who work in them."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from store.models.base import Base, byte_length
from store.models.enums import InspectorRole
from store.types import UTCDateTime, str_enum, utc_now

# X25519 public keys are 32 bytes; anything else is a bug upstream, refused by the database.
PUBLIC_KEY_SIZE = 32

_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?")
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def normalize_username(username: str) -> str:
    """The stored form of a user name: lower case, so that uniqueness ignores case.

    Log-in lookups must compare against this form too.
    """
    return username.strip().lower()


class Unit(Base):
    """A receiving unit: the body whose inspectors handle the cases sent to it."""

    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint(byte_length("escrow_public_key", PUBLIC_KEY_SIZE), name="escrow_key_size"),
        CheckConstraint(
            byte_length("escrow_signing_key", PUBLIC_KEY_SIZE), name="escrow_signing_key_size"
        ),
        CheckConstraint("retention_days IS NULL OR retention_days > 0", name="retention_positive"),
        CheckConstraint("superior_id IS NULL OR superior_id <> id", name="not_its_own_superior"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(32), unique=True)  # appears in public URLs
    name: Mapped[str] = mapped_column(String(200))
    profile: Mapped[str] = mapped_column(String(64))  # policy profile, e.g. vn-denunciation-2018
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    reception_schedule: Mapped[str] = mapped_column(Text, default="")  # public text
    escrow_public_key: Mapped[bytes | None] = mapped_column(LargeBinary(PUBLIC_KEY_SIZE))
    # Ed25519 verifying key of the escrow key (docs/crypto.md §13.2), once a command used it.
    escrow_signing_key: Mapped[bytes | None] = mapped_column(LargeBinary(PUBLIC_KEY_SIZE))
    # Days a closed case is kept before its contents are purged; None: the profile's default.
    retention_days: Mapped[int | None]
    # The directly superior body (cơ quan cấp trên trực tiếp): its head answers the
    # reporter's escalation (LTC Art. 38) and re-denunciation (Art. 37). None: the unit's
    # own head answers. casework.hierarchy refuses a cycle; the database, the shortest one.
    superior_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    superior: Mapped[Unit | None] = relationship(remote_side=[id])

    @validates("slug")
    def _check_slug(self, _key: str, value: str) -> str:
        if not _SLUG.fullmatch(value):
            raise ValueError("a unit slug is 1-32 of a-z, 0-9 and inner '-'")
        return value


class Inspector(Base):
    """A user of the review app. Private keys are stored only sealed (opaque envelopes)."""

    __tablename__ = "inspectors"
    __table_args__ = (
        CheckConstraint("username = lower(username)", name="username_lower_case"),
        CheckConstraint(byte_length("public_key", PUBLIC_KEY_SIZE), name="public_key_size"),
        CheckConstraint(byte_length("signing_key", PUBLIC_KEY_SIZE), name="signing_key_size"),
        CheckConstraint("failed_logins >= 0", name="failed_logins_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[InspectorRole] = mapped_column(str_enum(InspectorRole, "role"))
    # Accounts are deactivated, never deleted: audit entries and key wraps refer to them.
    active: Mapped[bool] = mapped_column(default=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(PUBLIC_KEY_SIZE), unique=True)
    # Ed25519 verifying key derived from the private key (docs/crypto.md §13.2): set when
    # the keyring is made, or at the first unlock of a keyring made before protocol 2.
    signing_key: Mapped[bytes | None] = mapped_column(LargeBinary(PUBLIC_KEY_SIZE))
    sealed_key_passphrase: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_key_recovery: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_key_escrow: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_secret: Mapped[str] = mapped_column(String(64))
    # The last accepted TOTP time step: a code of that step or earlier is refused as reused.
    totp_last_counter: Mapped[int | None]
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    passphrase_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    # The daily digest (casework.notify): counts of the unit only, to this address, if the
    # person chose to receive it. Staff contact data, kept in clear: the unattended job
    # that sends it holds no key (docs/threat-model.md).
    notify_email: Mapped[str | None] = mapped_column(String(254))
    notify_digest: Mapped[bool] = mapped_column(default=False, server_default=false())
    digest_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[Unit] = relationship()

    @validates("username")
    def _check_username(self, _key: str, value: str) -> str:
        username = normalize_username(value)
        if not _USERNAME.fullmatch(username):
            raise ValueError("a user name is 1-64 of a-z, 0-9, '.', '_' and '-'")
        return username

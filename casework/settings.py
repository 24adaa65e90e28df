"""Settings shared by both apps and the CLI, read from the environment.

It lives in casework, the lowest package that both apps and the CLI import and that may
use crypto's types; nothing here imports Flask. Where the data lives (instance folder,
database) is ``store.instance``'s rule, which Alembic's own command line reads too.
Production defaults never change for a test; tests lower costs through these variables.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from crypto.kdf import Argon2Params
from store.instance import database_url, instance_path

PREFIX = "MINHBACH_"
# The embedded default's rate-limit storage (web.limit_storage): a file of the instance.
LIMITS_SCHEME = "minhbach-sqlite"
LIMITS_FILE = "limits.sqlite3"
MIB = 1024 * 1024
GIB = 1024 * MIB


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# Loopback only: the review app is reached on the same host (directly, through a reverse
# proxy there, or through a client-authorised onion service whose Tor daemon runs there).
DEFAULT_REVIEW_NETWORKS = "127.0.0.0/8,::1/128"
# Where the export for verifiers writes decrypted files for mat2: must be tmpfs (checked).
# A private 0700 directory is made inside.
DEFAULT_SCRATCH_DIR = "/dev/shm"  # noqa: S108  # nosec B108
# Where encrypted attachments live (casework.blobs): files under MINHBACH_BLOB_DIR, or rows
# of the PostgreSQL database, so that hosts need share nothing but the database.
BLOB_STORE_FILES = "files"
BLOB_STORE_DATABASE = "database"


class ConfigError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    instance_path: Path
    database_url: str
    blob_path: Path
    passphrase_kdf: Argon2Params
    code_kdf: Argon2Params
    demo: bool
    # The public side.
    unit: str | None  # slug of the unit the submit app serves; None: the only unit
    public_https: bool  # Secure cookies and HSTS; off for loopback and onion services
    onion_location: str | None  # advertised to Tor Browser users of the clearnet site
    # Shared by every process: a SQLite file in the instance folder by default
    # (web.limit_storage), redis://... in production.
    ratelimit_storage_uri: str
    pow_difficulty: int  # leading zero bits of SHA-256 a JavaScript client must find
    max_file_size: int
    max_report_size: int  # all attachments of one submission together
    upload_ttl_seconds: int  # abandoned resumable uploads are collected after this
    max_scratch_size: int  # all uploads in progress together (casework.uploads.create)
    default_language: str
    # The restricted side (review app).
    review_idle_minutes: int  # a session ends after this long without a request
    review_absolute_hours: int  # ...and this long after login, however busy
    review_allowed_networks: tuple[IPNetwork, ...]  # REMOTE_ADDR must be in one of these
    review_https: bool  # Secure cookies and HSTS for the review app
    scratch_dir: Path = Path(DEFAULT_SCRATCH_DIR)  # RAM-backed, for cleaning files
    blob_store: str = BLOB_STORE_FILES  # or BLOB_STORE_DATABASE (PostgreSQL only)
    # Rate limits: a factor for every amount, and limits replaced by endpoint and subject
    # ({"report.submit": {"global": "12 per minute"}}); the apps check the names.
    rate_limit_scale: float = 1.0
    rate_limits: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        instance = instance_path(env)
        settings = cls(
            instance_path=instance,
            database_url=database_url(env),
            blob_path=Path(env.get(PREFIX + "BLOB_DIR", str(instance / "blobs"))).resolve(),
            passphrase_kdf=_argon2(env, "PASSPHRASE_ARGON2", Argon2Params.PASSPHRASE),
            code_kdf=_argon2(env, "CODE_ARGON2", Argon2Params.LOOKUP_TOKEN),
            demo=_flag(env, "DEMO"),
            unit=env.get(PREFIX + "UNIT") or None,
            public_https=_flag(env, "PUBLIC_HTTPS"),
            onion_location=env.get(PREFIX + "ONION_LOCATION") or None,
            ratelimit_storage_uri=env.get(
                PREFIX + "RATELIMIT_STORAGE_URI", f"{LIMITS_SCHEME}://{instance / LIMITS_FILE}"
            ),
            pow_difficulty=_int(env, "POW_DIFFICULTY", 16, 0, 32),
            max_file_size=_int(env, "MAX_FILE_SIZE", GIB, 1, 64 * GIB),
            max_report_size=_int(env, "MAX_REPORT_SIZE", GIB, 1, 64 * GIB),
            upload_ttl_seconds=_int(env, "UPLOAD_TTL_SECONDS", 24 * 3600, 60, 30 * 24 * 3600),
            max_scratch_size=_int(env, "MAX_SCRATCH_SIZE", 4 * GIB, 1, 1024 * GIB),
            default_language=_choice(env, "DEFAULT_LANGUAGE", "vi", ("vi", "en")),
            review_idle_minutes=_int(env, "REVIEW_IDLE_MINUTES", 30, 1, 24 * 60),
            review_absolute_hours=_int(env, "REVIEW_ABSOLUTE_HOURS", 12, 1, 7 * 24),
            review_allowed_networks=_networks(
                env, "REVIEW_ALLOWED_NETWORKS", DEFAULT_REVIEW_NETWORKS
            ),
            review_https=_flag(env, "REVIEW_HTTPS"),
            scratch_dir=Path(env.get(PREFIX + "SCRATCH_DIR", DEFAULT_SCRATCH_DIR)),
            rate_limit_scale=_scale(env, "RATE_LIMIT_SCALE"),
            rate_limits=_limit_overrides(env, "RATE_LIMITS"),
            blob_store=_choice(
                env, "BLOB_STORE", BLOB_STORE_FILES, (BLOB_STORE_FILES, BLOB_STORE_DATABASE)
            ),
        )
        if settings.blob_store == BLOB_STORE_DATABASE and not _is_postgresql(settings.database_url):
            raise ConfigError(
                f"{PREFIX}BLOB_STORE={BLOB_STORE_DATABASE} needs PostgreSQL through psycopg: "
                f"set {PREFIX}DATABASE_URL to a postgresql+psycopg:// URL, or "
                f"{PREFIX}BLOB_STORE to {BLOB_STORE_FILES}"
            )
        if settings.max_scratch_size < settings.max_file_size:
            raise ConfigError(f"{PREFIX}MAX_SCRATCH_SIZE must be at least {PREFIX}MAX_FILE_SIZE")
        return settings


SMTP_STARTTLS = "starttls"  # plain connection upgraded before anything is sent (port 587)
SMTP_TLS = "tls"  # TLS from the first byte (port 465)
SMTP_PLAIN = "none"  # no encryption: a relay on this host only, and never with a password
SMTP_SECURITY = (SMTP_STARTTLS, SMTP_TLS, SMTP_PLAIN)


@dataclass(frozen=True)
class MailSettings:
    """How the daily digest (``minhbach notify digest``) reaches staff; read only by it, so
    an instance that sends no e-mail needs none of these variables."""

    host: str
    port: int
    security: str  # one of SMTP_SECURITY
    from_address: str
    review_url: str  # the review app's address, the one link in a digest
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MailSettings:
        env = os.environ if environ is None else environ
        security = _choice(env, "SMTP_SECURITY", SMTP_STARTTLS, SMTP_SECURITY)
        default_port = {SMTP_STARTTLS: 587, SMTP_TLS: 465, SMTP_PLAIN: 25}[security]
        user = env.get(PREFIX + "SMTP_USER") or None
        password = _secret(env, "SMTP_PASSWORD")
        if (user is None) != (password is None):
            raise ConfigError(
                f"{PREFIX}SMTP_USER and {PREFIX}SMTP_PASSWORD (or {PREFIX}SMTP_PASSWORD_FILE) "
                "go together: set both, or neither for a relay that needs no login"
            )
        if password is not None and security == SMTP_PLAIN:
            raise ConfigError(
                f"{PREFIX}SMTP_SECURITY={SMTP_PLAIN} would send the SMTP password in clear: "
                f"use {SMTP_STARTTLS} or {SMTP_TLS}"
            )
        return cls(
            host=_required(env, "SMTP_HOST", "the SMTP server's host name, e.g. mail.example.vn"),
            port=_int(env, "SMTP_PORT", default_port, 1, 65535),
            security=security,
            from_address=_address(env, "MAIL_FROM"),
            review_url=_review_url(env),
            user=user,
            password=password,
        )


def _required(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(PREFIX + name, "").strip()
    if not value:
        raise ConfigError(f"{PREFIX}{name} is not set: it must be {what}")
    return value


def _secret(env: Mapping[str, str], name: str) -> str | None:
    """A secret from ``NAME_FILE`` (a file only its service reads) or from ``NAME``."""
    path = env.get(PREFIX + name + "_FILE")
    if path and env.get(PREFIX + name):
        raise ConfigError(f"set {PREFIX}{name} or {PREFIX}{name}_FILE, not both")
    if not path:
        return env.get(PREFIX + name) or None
    try:
        value = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeError) as error:
        raise ConfigError(f"{PREFIX}{name}_FILE: cannot read {path}: {error}") from None
    if not value:
        raise ConfigError(f"{PREFIX}{name}_FILE: {path} is empty")
    return value


def _address(env: Mapping[str, str], name: str) -> str:
    value = _required(env, name, "an e-mail address, e.g. minhbach@example.vn")
    if not is_email_address(value):
        raise ConfigError(f"{PREFIX}{name} must be one e-mail address, e.g. minhbach@example.vn")
    return value


def is_email_address(value: str) -> bool:
    """One plain address (local@domain), nothing that could add a header or a recipient."""
    local, at, domain = value.partition("@")
    return bool(
        at
        and local
        and "." in domain.strip(".")
        and len(value) <= 254
        and not any(char.isspace() or char in '<>,;:"()[]\\@' for char in local + domain)
    )


def _review_url(env: Mapping[str, str]) -> str:
    value = _required(
        env, "REVIEW_URL", "the review app's address, e.g. https://review.example.vn/"
    )
    if not value.startswith(("https://", "http://")) or any(char.isspace() for char in value):
        raise ConfigError(f"{PREFIX}REVIEW_URL must be an http:// or https:// address")
    return value


def _is_postgresql(url: str) -> bool:
    # The URL's scheme alone, never the URL itself: it may carry a password. The database
    # blob store writes its rows with psycopg's COPY (store.blobs.postgres).
    return url.partition(":")[0] == "postgresql+psycopg"


def _scale(env: Mapping[str, str], name: str) -> float:
    raw = env.get(PREFIX + name)
    if raw is None:
        return 1.0
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name} must be a number, e.g. 2 or 0.5") from None
    if not 0.001 <= value <= 1_000_000:  # also refuses nan and inf
        raise ConfigError(f"{PREFIX}{name} must be between 0.001 and 1000000")
    return value


def _limit_overrides(env: Mapping[str, str], name: str) -> dict[str, dict[str, str]]:
    """A JSON object of endpoint -> {subject: limit string}."""
    raw = env.get(PREFIX + name)
    if raw is None:
        return {}
    shape = f'{PREFIX}{name} must be JSON like {{"report.submit": {{"global": "12 per minute"}}}}'
    try:
        document = json.loads(raw)
    except ValueError:
        raise ConfigError(shape) from None
    if not isinstance(document, dict) or not all(
        isinstance(rules, dict) and all(isinstance(v, str) for v in rules.values())
        for rules in document.values()
    ):
        raise ConfigError(shape)
    return {str(endpoint): dict(rules) for endpoint, rules in document.items()}


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(PREFIX + name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{PREFIX}{name} must be 1/0, true/false, yes/no or on/off")


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(PREFIX + name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name} must be a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{PREFIX}{name} must be between {low} and {high}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = env.get(PREFIX + name, default)
    if value not in allowed:
        raise ConfigError(f"{PREFIX}{name} must be one of: {', '.join(allowed)}")
    return value


def _networks(env: Mapping[str, str], name: str, default: str) -> tuple[IPNetwork, ...]:
    """Comma-separated CIDRs, e.g. "127.0.0.0/8,10.20.0.0/16". Host bits must be zero, so
    that a typo such as 10.20.0.1/16 is refused instead of silently meaning 10.20.0.0/16."""
    raw = env.get(PREFIX + name, default)
    networks: list[IPNetwork] = []
    for item in raw.split(","):
        text = item.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=True))
        except ValueError as exc:
            raise ConfigError(
                f"{PREFIX}{name}: {text!r} is not a network in CIDR form: {exc}"
            ) from None
    if not networks:
        raise ConfigError(f"{PREFIX}{name} must name at least one network, e.g. 127.0.0.0/8")
    return tuple(networks)


def _argon2(env: Mapping[str, str], name: str, default: Argon2Params) -> Argon2Params:
    """Parse "OPS,MEMORY_KIB", e.g. "3,65536"."""
    raw = env.get(PREFIX + name)
    if raw is None:
        return default
    try:
        ops_text, mem_text = raw.split(",")
        return Argon2Params(ops=int(ops_text), memory_kib=int(mem_text))
    except ValueError as exc:
        raise ConfigError(
            f"{PREFIX}{name} must be 'OPS,MEMORY_KIB' within Argon2id's limits: {exc}"
        ) from None
